"""A guided conversation that fills in a request by chat (WhatsApp, SMS): the rules, free of I/O.

Per phone number: a menu of the online services and the other actions, then the chosen
service's form one question at a time (NIK, name, each field of the catalogue), its documents
as photos or PDFs one message each, a summary, and a confirmation. Every answer is checked as it
comes (`steps`), with the same rules as every other channel, and a wrong one is asked again with
the reason. `BATAL`, `STATUS <nomor>`, `BANTUAN` and `MENU` work at any step, in any case and
spacing. A conversation left alone for `IDLE_LIMIT` starts again from the menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from services.intake.conversations import replies, steps
from services.intake.conversations.domain import (
    INTAKE_CHANNELS,
    Content,
    Conversation,
    LookedUp,
    Step,
    Text,
    Turn,
    Unsupported,
    in_form,
    service_of,
    touched,
    tracking_number_asked,
    unexpired,
)
from services.intake.conversations.flow import Flow
from services.intake.domain.catalogue import (
    DocumentRequirement,
    ServiceCatalogue,
    ServiceDefinition,
)
from services.intake.domain.citizen_request import RequestStatus
from services.intake.domain.identity import InvalidIdentity, normalize_phone
from shared.events.models.values import NotificationChannel
from shared.wib import moment_label

_OPEN = frozenset({RequestStatus.SUBMITTED, RequestStatus.IN_VERIFICATION, RequestStatus.APPROVED})


def answered(conversation: Conversation | None, reply: str, *, now: datetime) -> Turn:
    """A keyword command's answer; the conversation stays where it was."""
    state = unexpired(conversation, now) or Conversation(step=Step.IDLE, last_active=now)
    return Turn(touched(state, now), reply)


def awaited_document(
    conversation: Conversation | None, catalogue: ServiceCatalogue, *, now: datetime
) -> DocumentRequirement | None:
    """The document the conversation waits for, so that a photo or file is fetched only then."""
    current = unexpired(conversation, now)
    if current is None or current.step is not Step.DOCUMENT:
        return None
    service = service_of(current, catalogue)
    return None if service is None else service.documents[current.position]


def receive(
    conversation: Conversation | None,
    content: Content,
    *,
    phone: str,
    channel: NotificationChannel,
    catalogue: ServiceCatalogue,
    now: datetime,
    looked_up: LookedUp | None = None,
) -> Turn:
    """Answers one message from `phone` (E.164). For `STATUS <nomor>`, `looked_up` is the
    request found, or None when there is none this phone may see."""
    flow = Flow(catalogue, INTAKE_CHANNELS[channel], channel, phone, now)
    current = unexpired(conversation, now)
    expired = conversation is not None and current is None and in_form(conversation)
    state = current or Conversation(step=Step.IDLE, last_active=now)
    dropped = tuple(conversation.documents) if conversation and current is None else ()
    try:
        normalize_phone(phone)
    except InvalidIdentity:
        return Turn(touched(state, now), replies.FOREIGN_NUMBER, drop=dropped)
    turn = _answer(flow, touched(state, now), content, looked_up=looked_up, expired=expired)
    return replace(turn, drop=tuple(dict.fromkeys(dropped + turn.drop)))


def submitted(
    conversation: Conversation,
    catalogue: ServiceCatalogue,
    *,
    tracking_number: str,
    expected_at: datetime,
    missing_documents: Sequence[str],
    now: datetime,
) -> Turn:
    """The conversation ends with the tracking number, the expected date and a reminder that the
    service is free; documents that could not be attached are named."""
    service = service_of(conversation, catalogue)
    name = service.name if service else conversation.service_code
    lines = [
        f"Pengajuan {name} Anda sudah kami terima.",
        f"Nomor permohonan: {tracking_number}",
        f"Perkiraan selesai: {moment_label(expected_at)}.",
    ]
    if missing_documents:
        names = [_document_name(service, code) for code in missing_documents]
        lines.append(
            "Dokumen ini belum kami terima; kirimkan lewat aplikasi Adminduk: "
            + "; ".join(names)
            + "."
        )
    lines += [
        f"Untuk melihat statusnya, ketik STATUS {tracking_number}.",
        replies.FREE_OF_CHARGE,
    ]
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        "\n".join(lines),
        drop=tuple(conversation.documents),
    )


def refused(conversation: Conversation, *, reason: str, now: datetime) -> Turn:
    """The office's rules refused the form (e.g. the catalogue changed meanwhile): start over."""
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        f"Maaf, pengajuan tidak dapat kami terima: {reason}\nKetik MENU untuk memulai lagi.",
        drop=tuple(conversation.documents),
    )


def already_open(
    conversation: Conversation,
    catalogue: ServiceCatalogue,
    *,
    tracking_number: str,
    shown: bool,
    now: datetime,
) -> Turn:
    """The NIK has a request for the service still open: the conversation ends with its number
    (in full only to the phone that owns it) instead of a second request."""
    service = service_of(conversation, catalogue)
    name = service.name if service else conversation.service_code
    if shown:
        how = f"Untuk melihat statusnya, ketik STATUS {tracking_number}."
    else:
        how = "Nomor lengkapnya ada di pesan tanda terima ke nomor HP yang didaftarkan."
    lines = [
        f"Maaf, NIK ini masih memiliki permohonan {name} yang sedang diproses, nomor "
        f"permohonan {tracking_number}. Permohonan baru dapat diajukan setelah yang ini selesai.",
        how,
    ]
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        "\n".join(lines),
        drop=tuple(conversation.documents),
    )


def _answer(
    flow: Flow,
    state: Conversation,
    content: Content,
    *,
    looked_up: LookedUp | None,
    expired: bool,
) -> Turn:
    """The commands that work at any step first, then the answer to the step's question."""
    command = _command(content)
    if command == "STATUS":
        return _status(flow, state, content, looked_up)
    if command == "BANTUAN":
        return Turn(state, flow.with_prompt(state, replies.help_text(flow.catalogue)))
    if command == "BATAL":
        return _cancel(flow, state)
    if command == "MENU":
        note = "Pengajuan yang sedang diisi dibatalkan.\n\n" if in_form(state) else ""
        return flow.show_menu(state, note)
    if isinstance(content, Unsupported):
        return Turn(state, flow.with_prompt(state, replies.UNSUPPORTED))
    if expired:
        return flow.show_menu(state, replies.EXPIRED + "\n\n")
    if state.step is Step.IDLE:
        return _from_idle(flow, state, content)
    if state.step is Step.DOCUMENT:
        return steps.document(flow, state, content)
    if not isinstance(content, Text):
        return Turn(state, flow.with_prompt(state, "Saat ini kami tidak menunggu dokumen."))
    return steps.TEXT_STEPS[state.step](flow, state, content.text)


def _from_idle(flow: Flow, state: Conversation, content: Content) -> Turn:
    """A menu number (typed from an earlier menu, or sent by a list row or button) is taken as
    the choice; anything else gets the menu."""
    if isinstance(content, Text) and flow.choice(content.text) is not None:
        menu = Conversation(step=Step.MENU, last_active=flow.now)
        return replace(steps.choose(flow, menu, content.text), drop=tuple(state.documents))
    return flow.show_menu(state, "")


def _status(flow: Flow, state: Conversation, content: Content, looked_up: LookedUp | None) -> Turn:
    if tracking_number_asked(content) is None:
        reply = replies.STATUS_HOW
    elif looked_up is None:
        reply = replies.STATUS_UNKNOWN
    else:
        reply = f"Permohonan Anda {replies.STATUS_TEXT[looked_up.status]}."
        if looked_up.status in _OPEN:
            reply += f" Perkiraan selesai: {moment_label(looked_up.expected_at)}."
    return Turn(state, flow.with_prompt(state, reply))


def _cancel(flow: Flow, state: Conversation) -> Turn:
    if not in_form(state):
        return Turn(state, "Tidak ada pengajuan yang sedang diisi. Ketik MENU untuk memulai.")
    return Turn(
        Conversation(step=Step.IDLE, last_active=flow.now),
        "Pengajuan dibatalkan; isian Anda tidak disimpan. Ketik MENU untuk memulai lagi.",
        drop=tuple(state.documents),
    )


def _command(content: Content) -> str | None:
    if not isinstance(content, Text):
        return None
    words = content.text.upper().split()
    if words and words[0] == "STATUS":
        return "STATUS"
    if len(words) == 1 and words[0] in ("BATAL", "BANTUAN", "MENU"):
        return words[0]
    return None


def _document_name(service: ServiceDefinition | None, code: str) -> str:
    return code if service is None else service.document_name(code)
