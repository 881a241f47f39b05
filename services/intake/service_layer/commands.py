"""Keyword commands (`services/intake/domain/sms_commands.py`): one command per message,
answered with one short reply. They are the whole SMS channel, and on WhatsApp they book visits
(`JANJI`), file complaints (`ADUAN`) and prove the phone to end a sign-in lockout (`MASUK`)
beside the guided conversation.

The sender's number is the citizen's: it is the phone of a request applied for this way, the
owner whose requests `STATUS` and `BATAL` may act on, and where replies go. A provider may
deliver a message again after a crash midway: applying again finds the first request by an
idempotency key derived from the message id, and withdrawing or booking again is refused as
already done, so a redelivery never makes a second request or visit. A second application
for a service while the NIK's first is open is answered with the first's tracking number.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.intake.appointments import service_layer as appointments
from services.intake.appointments.agenda import Agenda
from services.intake.appointments.domain.places import FreeDay
from services.intake.appointments.domain.refusals import (
    BookingConflict,
    BookingRefused,
    NotInPerson,
)
from services.intake.appointments.service_layer import AppointmentForm
from services.intake.domain import sms_replies
from services.intake.domain.catalogue import ServiceCatalogue, UnknownService
from services.intake.domain.chats import ACTOR_CHANNELS
from services.intake.domain.citizen_request import (
    CitizenRequest,
    ConsentRequired,
    InPersonOnly,
    NotCancellable,
    NotOfferedOnChannel,
    SubmissionForm,
    Submitter,
)
from services.intake.domain.complaints import ComplaintForm
from services.intake.domain.forms import InvalidForm
from services.intake.domain.identity import InvalidIdentity
from services.intake.domain.open_applications import AlreadyOpen
from services.intake.domain.sign_in import CheckOutcome
from services.intake.domain.sms_commands import (
    Apply,
    AskStatus,
    Book,
    Command,
    Complain,
    Help,
    NotUnderstood,
    ProvePhone,
    Withdraw,
    parse,
)
from services.intake.domain.text import InvalidText
from services.intake.domain.tracking import TRACKING_PATTERN
from services.intake.service_layer import complaints, submission
from services.intake.service_layer.ports import (
    ComplaintRepository,
    IdempotencyKeyRepository,
    RequestRepository,
)
from services.intake.service_layer.sign_in import SignInContext, prove_phone
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind
from shared.events.models.values import NotificationChannel

REFUSALS = (
    NotUnderstood,
    ConsentRequired,
    InvalidForm,
    InvalidIdentity,
    InvalidText,
    BookingRefused,
    BookingConflict,
    NotInPerson,
    complaints.UnknownTrackingNumber,
)
"""Refusals whose message is the reply: each says in Indonesian what was wrong."""


@dataclass(frozen=True)
class Message:
    message_id: str
    sender: str
    """The citizen's number in E.164 form."""
    text: str
    channel: NotificationChannel
    """Where it came from, and so where answers and news about what it asked go."""


@dataclass(frozen=True)
class CommandContext:
    catalogue: ServiceCatalogue
    calendar: WorkingCalendar
    requests: RequestRepository
    idempotency_keys: IdempotencyKeyRepository
    agenda: Agenda
    complaints: ComplaintRepository
    subject_of: Callable[[str], str]
    """The citizen's pseudonymous id for a phone number, as their sign-in token has it."""
    sign_in: SignInContext


async def answer(sms: Message, context: CommandContext, *, now: datetime) -> str:
    """Carries out the message's command and says how it went."""
    codes = [service.code for service in context.catalogue.all()]
    citizen = Submitter(
        actor=Actor(
            kind=ActorKind.CITIZEN,
            id=context.subject_of(sms.sender),
            role="citizen",
            channel=ACTOR_CHANNELS[sms.channel],
        ),
        owner_phone=sms.sender,
    )
    try:
        return await _carry_out(parse(sms.text, codes), sms, citizen, context, now=now)
    except InPersonOnly as exc:
        return sms_replies.service_help(context.catalogue.get(exc.service_code))
    except UnknownService as exc:
        return sms_replies.refused(f"Layanan {exc.service_code} tidak dikenal. Ketik BANTUAN.")
    except NotOfferedOnChannel as exc:
        return sms_replies.refused(
            f"Layanan {exc.service_code} tidak dapat diajukan lewat SMS. "
            "Datang ke kantor atau desa."
        )
    except AlreadyOpen as exc:
        return sms_replies.already_open(exc.service_code, exc.tracking_number, shown=exc.shown)
    except REFUSALS as exc:
        return sms_replies.refused(str(exc))


async def _carry_out(
    command: Command, sms: Message, citizen: Submitter, context: CommandContext, *, now: datetime
) -> str:
    match command:
        case Apply():
            return await _apply(command, sms, citizen, context, now=now)
        case AskStatus():
            return await _status(command, sms, context)
        case Withdraw():
            return await _withdraw(command, sms, citizen, context, now=now)
        case Book():
            return await _book(command, sms, citizen, context, now=now)
        case Complain():
            complaint = await complaints.file_complaint(
                form=ComplaintForm(
                    category=command.category,
                    description=command.description,
                    anonymous=False,
                    phone=sms.sender,
                ),
                filer=citizen,
                complaints=context.complaints,
                requests=context.requests,
                now=now,
            )
            return sms_replies.complaint_filed(complaint.complaint_number)
        case Help(service_code=code):
            if code is None:
                return sms_replies.GENERAL_HELP
            return sms_replies.service_help(context.catalogue.get(code))
        case ProvePhone(code=code):
            proof = await prove_phone(phone=sms.sender, code=code, context=context.sign_in, now=now)
            if proof.outcome is CheckOutcome.ACCEPTED:
                return sms_replies.PHONE_PROVEN
            return sms_replies.PROOF_REFUSED


async def _apply(
    command: Apply, sms: Message, citizen: Submitter, context: CommandContext, *, now: datetime
) -> str:
    service = context.catalogue.get(command.service_code)
    if service.in_person_only:
        raise InPersonOnly(service.code)
    if len(command.answers) > len(service.fields):
        raise NotUnderstood(
            f"Isian terlalu banyak untuk {service.code}. Ketik BANTUAN {service.code}."
        )
    fields = {
        field.name: answer
        for field, answer in zip(service.fields, command.answers, strict=False)
        if answer
    }
    outcome = await submission.submit_request(
        form=SubmissionForm(
            service_code=service.code,
            nik=command.nik,
            name=command.name,
            phone=sms.sender,
            preferred_channel=sms.channel,
            fields=fields,
        ),
        submitter=citizen,
        idempotency_key=f"{sms.channel.value.lower()}:{sms.message_id}",
        repository=context.requests,
        idempotency_keys=context.idempotency_keys,
        catalogue=context.catalogue,
        calendar=context.calendar,
        now=now,
    )
    request = outcome.request
    return sms_replies.received(
        request.service_code,
        request.tracking_number,
        request.expected_at,
        [service.document_name(code) for code in request.missing_documents],
    )


async def _status(command: AskStatus, sms: Message, context: CommandContext) -> str:
    request = await _own_or_proven(command.tracking_number, command.nik_last4, sms, context)
    if request is None:
        return sms_replies.not_found(command.tracking_number)
    return sms_replies.status(request.tracking_number, request.service_code, request.status)


async def _withdraw(
    command: Withdraw, sms: Message, citizen: Submitter, context: CommandContext, *, now: datetime
) -> str:
    request = await _own_or_proven(command.tracking_number, None, sms, context)
    if request is None:
        return sms_replies.not_found(command.tracking_number)
    actor = citizen.actor
    try:
        await submission.act_on_request(
            request=request,
            step=lambda request: request.cancel(actor, now=now),
            refused=NotCancellable,
            repository=context.requests,
            now=now,
        )
    except NotCancellable:
        return sms_replies.not_withdrawable(request.tracking_number, request.status)
    return sms_replies.withdrawn(request.tracking_number)


async def _own_or_proven(
    tracking_number: str, nik_last4: str | None, sms: Message, context: CommandContext
) -> CitizenRequest | None:
    """The request, if the sender's phone owns it or the NIK digits match; None otherwise, the
    same as for an unknown number."""
    if re.fullmatch(TRACKING_PATTERN, tracking_number) is None:
        return None
    request = await context.requests.find_by_tracking_number(tracking_number)
    if request is None:
        return None
    owned = request.owner_phone is not None and hmac.compare_digest(request.owner_phone, sms.sender)
    proven = nik_last4 is not None and hmac.compare_digest(request.applicant.nik[-4:], nik_last4)
    return request if owned or proven else None


async def _book(
    command: Book, sms: Message, citizen: Submitter, context: CommandContext, *, now: datetime
) -> str:
    """Books the first free slot of the day asked for, at the first service point offering the
    service; a day without room is answered with the nearest days that have some."""
    service = context.catalogue.get(command.service_code)
    if not service.in_person_only:
        raise NotInPerson(service.code)
    points = context.agenda.rules.service_points.offering(service.code)
    if not points:
        raise NotInPerson(service.code)
    point = points[0]
    free: list[FreeDay] = await appointments.next_free_days(
        service_code=service.code,
        service_point=point.code,
        agenda=context.agenda,
        now=now,
        start=command.day,
        limit=3,
    )
    if not free or free[0].day != command.day:
        return sms_replies.refused(
            f"Tanggal {sms_replies.sms_date(command.day)} penuh atau kantor tutup. "
            + _nearest(free)
        )
    slot = free[0].slots[0].visit
    appointment = await appointments.book_appointment(
        form=AppointmentForm(
            service_code=service.code,
            service_point=point.code,
            day=command.day,
            slot=slot.key.slot,
            nik=command.nik,
            name=command.name,
            phone=sms.sender,
            preferred_channel=sms.channel,
        ),
        booker=citizen,
        catalogue=context.catalogue,
        agenda=context.agenda,
        now=now,
    )
    return sms_replies.booked(appointment.booking_number, slot.label(), point.name)


def _nearest(free: list[FreeDay]) -> str:
    if not free:
        return "Belum ada tempat kosong; coba tempat layanan lain."
    return "Ada tempat: " + ", ".join(sms_replies.sms_date(day.day) for day in free) + "."
