"""Chat messages (WhatsApp, SMS): each message a citizen sends is one step and one reply,
taken exactly once however often the provider delivers it; and the delivery statuses of the
office's WhatsApp messages, passed on to notify once each.

On WhatsApp a message is a step of the sender's guided conversation.

Providers deliver a message again when they are not sure it arrived, and no two documents can be
written at once, so the order of the writes carries the guarantee:

1. The delivery is recorded (`InboundMessages.arrived`). A message handled before stops here.
2. Whatever the step needs from outside is done first, each part safe to repeat: the file fetched
   from the provider is held under the conversation (a repeat replaces it with the same bytes),
   and a confirmed form is submitted with its held files, which the request holds from the
   start, and the message's id as its idempotency key (a repeat finds the request the first
   made).
3. The step is one write of the conversation: its new state, the message's id among those it
   took, and the reply in its outbox, if the conversation is still at the version it was read at.
   Another writer in between (a concurrent delivery, the relay clearing the outbox) makes it read
   and decide again; a message the conversation already took is not taken twice.
4. The delivery is marked handled, and held files no longer needed are dropped.

A crash before 3 leaves no step and no reply: the provider delivers again and it is taken then.
A crash after 3 leaves the step taken once: the redelivery finds the message among those the
conversation took, and only marks it handled. The reply goes to notify through the
conversation's outbox, never directly.

On SMS a message is one keyword command, its reply queued in the write that marks the delivery
handled. A WhatsApp delivery status of the office's messages is queued for notify as a
`DeliveryReported` event the same way; a status delivered again finds the mark.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from services.intake.conversations import turns
from services.intake.conversations.domain import (
    Content,
    Conversation,
    FetchedFile,
    FetchProblem,
    LookedUp,
    Media,
    Text,
    Turn,
    Unsupported,
    keyword_command,
    tracking_number_asked,
)
from services.intake.conversations.ports import (
    ConversationRepository,
    InboundMessages,
    MediaSource,
    MediaTooLarge,
    MediaUnavailable,
)
from services.intake.domain.callers import submitter
from services.intake.domain.catalogue import (
    DocumentRequirement,
    ServiceCatalogue,
    UnknownService,
)
from services.intake.domain.chats import ACTOR_CHANNELS
from services.intake.domain.citizen_request import (
    ConsentRequired,
    InPersonOnly,
    NotOfferedOnChannel,
    Submitter,
)
from services.intake.domain.forms import InvalidForm
from services.intake.domain.identity import InvalidIdentity
from services.intake.domain.open_applications import AlreadyOpen
from services.intake.domain.text import InvalidText
from services.intake.service_layer import submission
from services.intake.service_layer.commands import CommandContext, Message, answer
from services.intake.service_layer.ports import (
    DocumentStore,
    IdempotencyKeyRepository,
    RequestRepository,
)
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.conversations import ConversationReply, DeliveryReported
from shared.events.models.values import NotificationChannel
from shared.file_contents import Unreadable, check_contents
from shared.files import SNIFF_BYTES, sniff

log = logging.getLogger(__name__)

HANDLED_KEPT = 50
"""Message ids a conversation remembers: far more than a provider redelivers meanwhile."""
SMS_PROVIDER = "sms"
STATUS_PROVIDER = "whatsapp-status"
"""The inbound-messages provider the WhatsApp delivery statuses are recorded under, apart from
citizens' messages."""


@dataclass(frozen=True)
class MediaRef:
    """A photo or file as a message names it: the provider keeps the bytes."""

    media_id: str


@dataclass(frozen=True)
class InboundMessage:
    """One message from a citizen, as the channel's entry point read it."""

    provider: str
    message_id: str
    phone: str
    """The sender, in E.164 form."""
    channel: NotificationChannel
    content: Text | MediaRef | Unsupported


@dataclass(frozen=True)
class ConversationContext:
    """What taking a message needs, put together by bootstrap."""

    conversations: ConversationRepository
    inbound: InboundMessages
    media: MediaSource
    requests: RequestRepository
    idempotency_keys: IdempotencyKeyRepository
    documents: DocumentStore
    catalogue: ServiceCatalogue
    calendar: WorkingCalendar
    citizen_id: Callable[[str], str]
    """A citizen's pseudonym from their phone number."""
    commands: CommandContext
    """For `JANJI` and `ADUAN`, answered as on the SMS channel."""


@dataclass
class _Fetched:
    """Files fetched while taking one message, by requirement, so a retry fetches none again."""

    files: dict[str, tuple[FetchedFile | FetchProblem, bytes]] = field(default_factory=dict)


async def take_message(
    *, message: InboundMessage, context: ConversationContext, now: datetime
) -> None:
    """Takes one step of the sender's conversation and queues its reply, once per message."""
    provider, message_id = message.provider, message.message_id
    if not await context.inbound.arrived(provider=provider, message_id=message_id, now=now):
        return
    fetched = _Fetched()
    dropped: Sequence[str] = ()
    while True:
        stored = await context.conversations.load(message.phone)
        if message_id in stored.handled:
            break
        turn = await _turn(message, stored.conversation, context, fetched, now)
        if turn.hold is not None:
            await context.conversations.hold_document(
                message.phone, turn.hold, fetched.files[turn.hold][1]
            )
        reply = _reply(message, turn.reply)
        handled = (*stored.handled, message_id)[-HANDLED_KEPT:]
        if await context.conversations.outgoing.commit(
            context.conversations.document_id(message.phone),
            [reply],
            partial(
                context.conversations.save,
                message.phone,
                turn.conversation,
                version=stored.version,
                handled=handled,
            ),
            source=submission.SOURCE,
            time=now,
        ):
            dropped = turn.drop
            break
    await context.inbound.handled(provider=provider, message_id=message_id, now=now)
    await context.conversations.drop_documents(message.phone, dropped)


async def _turn(
    message: InboundMessage,
    conversation: Conversation | None,
    context: ConversationContext,
    fetched: _Fetched,
    now: datetime,
) -> Turn:
    content = await _content(message, conversation, context, fetched, now)
    if keyword_command(content):
        assert isinstance(content, Text)
        reply = await answer(
            Message(
                message_id=message.message_id,
                sender=message.phone,
                text=content.text,
                channel=message.channel,
            ),
            context.commands,
            now=now,
        )
        return turns.answered(conversation, reply, now=now)
    number = tracking_number_asked(content)
    looked_up = None if number is None else await _look_up(number, message.phone, context)
    turn = turns.receive(
        conversation,
        content,
        phone=message.phone,
        channel=message.channel,
        catalogue=context.catalogue,
        now=now,
        looked_up=looked_up,
    )
    if turn.submit is None:
        return turn
    return await _submit(message, turn, context, now)


async def _content(
    message: InboundMessage,
    conversation: Conversation | None,
    context: ConversationContext,
    fetched: _Fetched,
    now: datetime,
) -> Content:
    """The message as the conversation reads it: a photo or file is fetched only when the
    conversation waits for a document, within that document's size."""
    if not isinstance(message.content, MediaRef):
        return message.content
    requirement = turns.awaited_document(conversation, context.catalogue, now=now)
    if requirement is None:
        return Media()
    if requirement.code not in fetched.files:
        fetched.files[requirement.code] = await _fetch(
            message.content.media_id, requirement, context.media, provider=message.provider
        )
    return Media(fetched=fetched.files[requirement.code][0])


async def _fetch(
    media_id: str, requirement: DocumentRequirement, media: MediaSource, *, provider: str
) -> tuple[FetchedFile | FetchProblem, bytes]:
    """The file and what its bytes are: whether it opens as the type it begins as is checked
    here, so the citizen hears at once that a scan is broken, not after confirming the form
    (when attaching it checks it again, as for any document)."""
    try:
        content = await media.fetch(media_id, max_bytes=requirement.max_bytes)
    except MediaTooLarge:
        return FetchProblem.TOO_LARGE, b""
    except MediaUnavailable as exc:
        log.warning("a %s file was not fetched: %s", provider, exc)
        return FetchProblem.UNAVAILABLE, b""
    media_type = sniff(content[:SNIFF_BYTES])
    unreadable = None
    if media_type is not None:
        try:
            await check_contents(requirement, media_type, content)
        except Unreadable as exc:
            unreadable = str(exc)
    found = FetchedFile(
        requirement=requirement.code,
        media_type=media_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        unreadable=unreadable,
    )
    return found, content


async def _look_up(
    tracking_number: str, phone: str, context: ConversationContext
) -> LookedUp | None:
    """The request, only if this phone owns it: anyone else learns nothing, not even whether
    the number exists."""
    request = await context.requests.find_by_tracking_number(tracking_number)
    if request is None or request.owner_phone != phone:
        return None
    return LookedUp(status=request.status, expected_at=request.expected_at)


async def _submit(
    message: InboundMessage, turn: Turn, context: ConversationContext, now: datetime
) -> Turn:
    """Submits the confirmed form as the citizen, with the files the conversation held.

    The files go with the submission, not after it, so that its RequestSubmitted (and the
    reply, which is the receipt) does not ask for papers the citizen already sent. The
    message's id is the idempotency key, so a redelivered confirmation finds the request it made.
    """
    assert turn.submit is not None
    form = turn.submit
    anonymous = submitter(None, ACTOR_CHANNELS[message.channel]).actor
    actor = anonymous.model_copy(update={"id": context.citizen_id(message.phone)})
    held: dict[str, bytes] = {}
    for code in turn.conversation.documents:
        content = await context.conversations.held_document(message.phone, code)
        if content is not None:
            held[code] = content
    try:
        outcome = await submission.submit_request(
            form=form,
            submitter=Submitter(actor=actor, owner_phone=form.phone),
            idempotency_key=f"{message.provider}:{message.message_id}",
            repository=context.requests,
            idempotency_keys=context.idempotency_keys,
            catalogue=context.catalogue,
            calendar=context.calendar,
            now=now,
            enclosures=submission.Enclosures(files=held, store=context.documents),
        )
    except (InvalidForm, InvalidIdentity, InvalidText, ConsentRequired) as exc:
        return turns.refused(turn.conversation, reason=str(exc), now=now)
    except (UnknownService, InPersonOnly, NotOfferedOnChannel, submission.IdempotencyConflict):
        reason = "layanan ini tidak dapat diajukan lewat saluran ini."
        return turns.refused(turn.conversation, reason=reason, now=now)
    except AlreadyOpen as exc:
        return turns.already_open(
            turn.conversation,
            context.catalogue,
            tracking_number=exc.tracking_number,
            shown=exc.shown,
            now=now,
        )
    return turns.submitted(
        turn.conversation,
        context.catalogue,
        tracking_number=outcome.request.tracking_number,
        expected_at=outcome.request.expected_at,
        missing_documents=outcome.request.missing_documents,
        now=now,
    )


def _reply(message: InboundMessage, text: str) -> ConversationReply:
    return ConversationReply(
        actor=Actor(kind=ActorKind.SYSTEM, id="intake", channel=ACTOR_CHANNELS[message.channel]),
        reply_id=str(uuid.uuid4()),
        phone=message.phone,
        channel=message.channel,
        text=text,
        in_reply_to=message.message_id,
    )


async def take_sms(
    *, message: Message, inbound: InboundMessages, commands: CommandContext, now: datetime
) -> None:
    """Carries out the message's command once, however often it is delivered, and queues the
    reply for notify to send by SMS."""
    message_id = message.message_id
    if not await inbound.arrived(provider=SMS_PROVIDER, message_id=message_id, now=now):
        return
    text = await answer(message, commands, now=now)
    reply = ConversationReply(
        actor=Actor(kind=ActorKind.SYSTEM, id="intake", channel=Channel.SMS),
        reply_id=f"{SMS_PROVIDER}:{message_id}",
        phone=message.sender,
        channel=NotificationChannel.SMS,
        text=text,
        in_reply_to=message_id,
    )
    await inbound.outgoing.commit(
        reply.reply_id,
        [reply],
        partial(inbound.handled, provider=SMS_PROVIDER, message_id=message_id, now=now),
        source=submission.SOURCE,
        time=now,
    )


@dataclass(frozen=True)
class DeliveryReportContext:
    inbound: InboundMessages


async def pass_on_report(
    *, reported: DeliveryReported, context: DeliveryReportContext, now: datetime
) -> bool:
    """Queues the status for notify the first time it is reported; False for a repeat, also
    one another instance took at the same time."""
    message_id = f"{reported.provider_message_id}:{reported.status.value.lower()}"
    if not await context.inbound.arrived(provider=STATUS_PROVIDER, message_id=message_id, now=now):
        return False
    return await context.inbound.outgoing.commit(
        f"{STATUS_PROVIDER}:{message_id}",
        [reported],
        partial(context.inbound.handled, provider=STATUS_PROVIDER, message_id=message_id, now=now),
        source=submission.SOURCE,
        time=now,
    )
