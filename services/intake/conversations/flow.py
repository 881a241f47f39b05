"""One message's context (catalogue, channel, phone, moment) and the moves every step makes:
ask the question open, ask it again with the reason, go on to the next, back to the menu."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from services.intake.conversations import replies
from services.intake.conversations.domain import Conversation, Step, Turn, service_of
from services.intake.domain.catalogue import IntakeChannel, ServiceCatalogue, ServiceDefinition
from shared.calendar import JAKARTA
from shared.events.models.values import NotificationChannel


@dataclass(frozen=True)
class Flow:
    """The questions and answers of one message, for one catalogue, channel and moment."""

    catalogue: ServiceCatalogue
    intake_channel: IntakeChannel
    channel: NotificationChannel
    phone: str
    now: datetime

    @property
    def services(self) -> list[ServiceDefinition]:
        return [
            service
            for service in self.catalogue.all()
            if service.online and self.intake_channel in service.channels
        ]

    @property
    def today(self) -> date:
        return self.now.astimezone(JAKARTA).date()

    def menu(self) -> str:
        return replies.menu(self.catalogue, self.services)

    def choice(self, text: str) -> int | None:
        """The number of a menu entry, as typed or as a list row or button sends it."""
        choice = text.strip().rstrip(".")
        number = int(choice) if choice.isdigit() and len(choice) <= 3 else 0
        return number if 1 <= number <= len(self.services) + 3 else None

    def prompt(self, state: Conversation) -> str:
        """The question the conversation waits an answer to, numbered among the form's."""
        service = service_of(state, self.catalogue)
        if service is None:
            return "Maaf, layanan itu tidak lagi tersedia. Ketik MENU untuk memulai lagi."
        steps = 2 + len(service.fields) + len(service.documents)
        match state.step:
            case Step.NIK:
                return f"(1/{steps}) Ketik NIK pemohon: 16 angka yang tertera di KTP-el atau KK."
            case Step.NAME:
                return f"(2/{steps}) Ketik nama lengkap pemohon sesuai KK."
            case Step.FIELD:
                number = 3 + state.position
                return f"({number}/{steps}) " + replies.field_prompt(service.fields[state.position])
            case Step.DOCUMENT:
                number = 3 + len(service.fields) + state.position
                return f"({number}/{steps}) " + replies.document_prompt(
                    service.documents[state.position]
                )
            case Step.CONFIRM:
                return replies.summary(state, service)
        raise AssertionError(f"no question at step {state.step}")

    def with_prompt(self, state: Conversation, reply: str) -> str:
        """The reply, then the question still open, so the citizen knows how to go on."""
        if state.step is Step.IDLE:
            return reply
        if state.step is Step.MENU:
            return reply + "\n\n" + self.menu()
        return reply + "\n\n" + self.prompt(state)

    def show_menu(self, state: Conversation, note: str) -> Turn:
        fresh = Conversation(step=Step.MENU, last_active=self.now)
        return Turn(fresh, note + self.menu(), drop=tuple(state.documents))

    def next(self, state: Conversation) -> Turn:
        return Turn(state, self.prompt(state))

    def again(self, state: Conversation, reason: str) -> Turn:
        return Turn(state, reason + "\n\n" + self.prompt(state))

    def lost(self, state: Conversation) -> Turn:
        """The service left the catalogue mid-conversation."""
        return self.show_menu(state, "Maaf, layanan itu tidak lagi tersedia.\n\n")

    def after_fields(self, state: Conversation, *, position: int) -> Turn:
        """The field after `position` (-1: the first), else the first document, else the
        summary."""
        service = service_of(state, self.catalogue)
        if service is None:
            return self.lost(state)
        if position + 1 < len(service.fields):
            return self.next(replace(state, step=Step.FIELD, position=position + 1))
        return self.after_documents(state, position=-1)

    def after_documents(self, state: Conversation, *, position: int) -> Turn:
        service = service_of(state, self.catalogue)
        if service is None:
            return self.lost(state)
        if position + 1 < len(service.documents):
            return self.next(replace(state, step=Step.DOCUMENT, position=position + 1))
        return self.next(replace(state, step=Step.CONFIRM, position=0))
