"""In-memory stand-ins for the ports, behaving like the Mongo adapters.

Like the adapters, they store copies: what a use case changes after a write is not seen until it
saves again, and loaded objects never carry the domain events of an earlier call.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from services.intake.domain.documents import StoredDocument
from services.intake.domain.message_caps import MessageCapRules
from services.intake.domain.open_applications import OpenApplication
from services.intake.domain.sign_in import SignInChallenge
from services.intake.domain.tracking import tracking_number_for
from services.intake.service_layer.message_caps import MessageCaps
from services.notify.adapters.templates_file import load_templates
from services.notify.domain.delivery_status import DeliveryRecord, record_id
from services.notify.domain.notification import UNSETTLED, Notification, NotificationStatus
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.recipients import OperatorNotice, ParkedStep, Recipients
from services.notify.service_layer.outgoing import MessageContext
from services.notify.service_layer.ports import ProviderError
from services.notify.service_layer.statuses import StatusContext
from services.processing.domain.case import Case
from services.processing.domain.deadlines import Timer, minute_of
from services.processing.domain.queues import QueueKey, Slot
from shared.counts import MINUTE, window_start
from shared.events.envelope import CloudEvent
from shared.events.models.values import DeliveryChannel
from shared.outbox import Outbox


class CallCounter:
    """A wake-up signal (`shared.polling.Wake` or `OutboxReady`) that records what it was told."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.events: list[CloudEvent] = []

    def __call__(self, key: str, events: Sequence[CloudEvent] = ()) -> None:
        self.keys.append(key)
        self.events.extend(events)

    @property
    def calls(self) -> int:
        return len(self.keys)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class FakeRequestRepository:
    def __init__(self) -> None:
        self.requests: dict[str, CitizenRequest] = {}
        self.open_applications: dict[tuple[str, str], OpenApplication] = {}
        self.numbers_given = 0
        self.processed_events: set[str] = set()
        self.case_step_at: dict[str, datetime] = {}
        self.outbox: list[CloudEvent] = []
        self.outgoing = Outbox()

    async def hold_open(
        self, nik: str, service_code: str, held: OpenApplication, *, replacing: str | None
    ) -> bool:
        current = self.open_applications.get((nik, service_code))
        if (None if current is None else current.request_id) != replacing:
            return False
        self.open_applications[nik, service_code] = held
        return True

    async def open_application(self, nik: str, service_code: str) -> OpenApplication | None:
        return self.open_applications.get((nik, service_code))

    async def add_events(
        self,
        request_id: str,
        outbox: list[CloudEvent],
        *,
        status: RequestStatus | None,
        moved: StatusChange | None = None,
    ) -> bool:
        stored = self.requests.get(request_id)
        if stored is None or status not in (None, stored.status):
            return False
        if moved is not None:
            self.requests[request_id] = dataclasses.replace(
                stored, status=moved.status, history=[*stored.history, moved]
            )
        self.outbox.extend(outbox)
        return True

    async def record_progress(
        self, request_id: str, event_id: str, change: StatusChange, *, even_if_current: bool
    ) -> bool:
        stored = self.requests.get(request_id)
        if stored is None or event_id in self.processed_events:
            return False
        if stored.status is change.status and not even_if_current:
            return False
        if change.at < self.case_step_at.get(request_id, change.at):
            return False
        self.processed_events.add(event_id)
        self.case_step_at[request_id] = change.at
        self.requests[request_id] = dataclasses.replace(
            stored, status=change.status, history=[*stored.history, change]
        )
        return True

    async def new_tracking_number(self) -> str:
        self.numbers_given += 1
        return tracking_number_for(
            self.numbers_given, lambda text: sha256(text.encode()).hexdigest()
        )

    async def find_by_tracking_number(self, tracking_number: str) -> CitizenRequest | None:
        for request_id, request in self.requests.items():
            if request.tracking_number == tracking_number:
                return await self.get(request_id)
        return None

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        if request.request_id in self.requests:
            return False
        self.requests[request.request_id] = dataclasses.replace(request, events=[])
        self.outbox.extend(outbox)
        return True

    async def get(self, request_id: str) -> CitizenRequest | None:
        stored = self.requests.get(request_id)
        return None if stored is None else copy.deepcopy(dataclasses.replace(stored, events=[]))

    async def attach_document(
        self,
        request_id: str,
        *,
        requirement: str,
        document_id: str,
        seen: Mapping[str, str | None],
        status: RequestStatus,
        outbox: list[CloudEvent],
    ) -> bool:
        stored = self.requests.get(request_id)
        if stored is None or stored.status is not status:
            return False
        if any(stored.documents.get(code) != present for code, present in seen.items()):
            return False
        documents = {**stored.documents, requirement: document_id}
        self.requests[request_id] = dataclasses.replace(stored, documents=documents)
        self.outbox.extend(outbox)
        return True


class FakeDocumentStore:
    """Keeps bytes apart from descriptions, like the chunk store: only a committed one reads."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] = {}
        self.documents: dict[str, StoredDocument] = {}

    async def write(self, document_id: str, content: AsyncIterable[bytes]) -> None:
        self.contents[document_id] = b""
        try:
            async for part in content:
                self.contents[document_id] += part
        except BaseException:
            del self.contents[document_id]
            raise

    async def commit(self, document: StoredDocument, *, stored_at: datetime) -> None:
        self.documents[document.document_id] = document

    async def discard(self, document_id: str) -> None:
        self.documents.pop(document_id, None)
        self.contents.pop(document_id, None)

    async def read(self, document_id: str) -> tuple[StoredDocument, bytes] | None:
        document = self.documents.get(document_id)
        return None if document is None else (document, self.contents[document_id])


class FakeSignInRepository:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.challenges: dict[str, tuple[SignInChallenge, int]] = {}
        self.outbox: list[CloudEvent] = []

    def document_id(self, phone: str) -> str:
        return f"phone:{phone}"

    async def current(self, phone: str) -> tuple[SignInChallenge | None, int]:
        stored = self.challenges.get(phone)
        return (None, -1) if stored is None else stored

    async def replace(
        self,
        phone: str,
        challenge: SignInChallenge,
        *,
        version: int,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        _, current = await self.current(phone)
        if current != version:
            return False
        self.challenges[phone] = (challenge, version + 1)
        self.outbox.extend(outbox)
        return True


class FakeCounts:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, datetime], int] = {}
        self.commands = 0

    async def add(
        self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE, by: int = 1
    ) -> int:
        self.commands += 1
        counter = (name, key, window_start(now, window))
        self.counts[counter] = self.counts.get(counter, 0) + by
        return self.counts[counter]

    async def get(self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE) -> int:
        self.commands += 1
        return self.counts.get((name, key, window_start(now, window)), 0)


class FakeIdempotencyKeys:
    def __init__(self) -> None:
        self.request_ids: dict[str, str] = {}

    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        return self.request_ids.setdefault(key_hash, request_id)


class FakeCaseRepository:
    """Refuses a case whose id exists, or whose causing event opened another case already."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.revisions: dict[str, int] = {}
        self.processed_events: set[str] = set()
        self.outbox: list[CloudEvent] = []
        self.outgoing = Outbox()

    async def add(self, case: Case, *, processed_event_id: str, outbox: list[CloudEvent]) -> bool:
        if case.request_id in self.cases or processed_event_id in self.processed_events:
            return False
        self.cases[case.request_id] = copy.deepcopy(dataclasses.replace(case, events=[]))
        self.revisions[case.request_id] = 0
        self.processed_events.add(processed_event_id)
        self.outbox.extend(outbox)
        return True

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        stored = self.cases.get(request_id)
        if stored is None:
            return None
        return copy.deepcopy(dataclasses.replace(stored, events=[])), self.revisions[request_id]

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        if self.revisions.get(case.request_id) != revision:
            return False
        self.cases[case.request_id] = copy.deepcopy(dataclasses.replace(case, events=[]))
        self.revisions[case.request_id] = revision + 1
        self.outbox.extend(outbox)
        return True

    async def note_document(
        self, request_id: str, requirement: str, document_id: str, replaces: str | None
    ) -> bool | None:
        stored = self.cases.get(request_id)
        if stored is None:
            return None
        if not stored.note_document(requirement, document_id, replaces):
            return False
        self.revisions[request_id] += 1
        return True


class FakeQueues:
    """Work queues as lists of slots; `holes` leaves slot numbers unwritten, as a crash would."""

    def __init__(self) -> None:
        self.slots: dict[str, list[Slot]] = {}
        self.heads: dict[str, int] = {}

    async def enqueue(self, key: QueueKey, request_id: str, at: datetime) -> None:
        line = self.slots.setdefault(key.id, [])
        line.append(Slot(number=len(line), request_id=request_id, at=at))

    async def waiting(self, key: QueueKey, limit: int) -> list[Slot]:
        head = self.heads.get(key.id, 0)
        return self.slots.get(key.id, [])[head : head + limit]

    async def advance(self, key: QueueKey, past: int) -> None:
        self.heads[key.id] = max(self.heads.get(key.id, 0), past + 1)


class FakeNotificationRepository:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.notifications: dict[str, Notification] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, notification: Notification) -> bool:
        if notification.notification_id in self.notifications:
            return False
        self.notifications[notification.notification_id] = dataclasses.replace(
            notification, events=[]
        )
        return True

    async def get(self, notification_id: str) -> Notification | None:
        stored = self.notifications.get(notification_id)
        return None if stored is None else dataclasses.replace(stored)

    async def about(self, about: str) -> list[Notification]:
        found = sorted(
            (item for item in self.notifications.values() if item.about == about),
            key=lambda item: (item.created_at, item.notification_id),
        )
        return [dataclasses.replace(item) for item in found]

    async def cancel(self, notification_id: str) -> bool:
        stored = self.notifications.get(notification_id)
        if stored is None or stored.status is not NotificationStatus.PENDING:
            return False
        self.notifications[notification_id] = dataclasses.replace(
            stored, status=NotificationStatus.CANCELLED, version=stored.version + 1
        )
        return True

    async def due(
        self, now: datetime, limit: int, skip: Collection[str] = ()
    ) -> list[Notification]:
        due = sorted(
            (
                notification
                for notification in self.notifications.values()
                if notification.status in UNSETTLED
                and notification.next_attempt_at <= now
                and notification.notification_id not in skip
            ),
            key=lambda notification: (notification.next_attempt_at, notification.created_at),
        )
        # A limit of 0 means no limit, as in MongoDB.
        return [dataclasses.replace(notification) for notification in due[: limit or None]]

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> bool:
        """Updates an existing notification at the version it was read at: like a conditional
        `update_one`, it never inserts."""
        stored = self.notifications.get(notification.notification_id)
        if stored is None or stored.version != notification.version:
            return False
        notification.version += 1
        self.notifications[notification.notification_id] = dataclasses.replace(
            notification, events=[]
        )
        self.outbox.extend(outbox)
        return True


class FakeRecipientDirectory:
    def __init__(self) -> None:
        self.recipients: dict[str, Recipients] = {}
        self.parked: dict[str, list[ParkedStep]] = {}
        self.operator_notices: dict[str, list[OperatorNotice]] = {}

    async def learn(self, recipients: Recipients) -> list[ParkedStep]:
        self.recipients[recipients.request_id] = recipients
        return list(self.parked.get(recipients.request_id, []))

    async def get(self, request_id: str) -> Recipients | None:
        return self.recipients.get(request_id)

    async def park(self, request_id: str, parked: ParkedStep) -> bool:
        if request_id in self.recipients:
            return False
        self.parked.setdefault(request_id, []).append(parked)
        return True

    async def forget_parked(self, request_id: str) -> None:
        self.parked.pop(request_id, None)

    async def owe_operator(self, request_id: str, notice: OperatorNotice) -> None:
        owed = self.operator_notices.setdefault(request_id, [])
        if notice not in owed:
            owed.append(notice)


class FakeDeliveryStatusStore:
    """Versions like the Mongo store: a save based on a stale read is refused."""

    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.records: dict[str, DeliveryRecord] = {}
        self.keys: dict[str, list[str]] = {}
        self.outbox: list[CloudEvent] = []

    async def get(
        self, channel: DeliveryChannel, provider_message_id: str
    ) -> DeliveryRecord | None:
        stored = self.records.get(record_id(channel, provider_message_id))
        return None if stored is None else dataclasses.replace(stored, seen=dict(stored.seen))

    async def save(self, record: DeliveryRecord, outbox: list[CloudEvent]) -> bool:
        stored = self.records.get(record.record_id)
        if (stored.version if stored else None) != record.version:
            return False
        if record.idempotency_key is not None:
            listed = self.keys.setdefault(record.idempotency_key, [])
            listed += [] if record.record_id in listed else [record.record_id]
        version = 0 if record.version is None else record.version + 1
        self.records[record.record_id] = dataclasses.replace(
            record, seen=dict(record.seen), version=version, events=[]
        )
        self.outbox += outbox
        return True

    async def status_for_key(self, idempotency_key: str) -> DeliveryRecord | None:
        found = [self.records[item] for item in self.keys.get(idempotency_key, [])]
        return max(found, key=lambda record: record.status is not None, default=None)


class FakeNotify:
    """Notify's use cases on fakes and the real templates file, with what went to delivery."""

    def __init__(
        self,
        *,
        quiet_hours: QuietHours | None = None,
        survey_url: str = "https://survei.adminduk.example",
    ) -> None:
        self.repository = FakeNotificationRepository()
        self.recipients = FakeRecipientDirectory()
        self.handed_over: list[Notification] = []
        self.statuses = FakeDeliveryStatusStore()
        self.context = MessageContext(
            repository=self.repository,
            recipients=self.recipients,
            templates=load_templates(),
            delivery_ready=self.handed_over.append,
            quiet_hours=quiet_hours,
            survey_url=survey_url,
            statuses=StatusContext(
                store=self.statuses,
                notifications=self.repository,
                clock=lambda: datetime.now(UTC),
            ),
        )


class FakeMessageProvider:
    """Accepts every message, unless told to fail the next ones."""

    def __init__(self) -> None:
        self.attempts: list[Notification] = []
        self.sent: list[Notification] = []
        self._failures: list[ProviderError] = []

    def fail_next(
        self,
        times: int,
        *,
        retryable: bool,
        reason: str = "provider down",
        maybe_accepted: bool = False,
    ) -> None:
        self._failures += [
            ProviderError(reason, retryable=retryable, maybe_accepted=maybe_accepted)
            for _ in range(times)
        ]

    async def send(self, notification: Notification) -> str:
        self.attempts.append(dataclasses.replace(notification, events=[]))
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(dataclasses.replace(notification, events=[]))
        return f"provider-{len(self.sent)}"


class FlatCalendar:
    """Every hour is office time: deadlines are whole days after the start."""

    def due_at(self, start: datetime, working_days: int) -> datetime:
        return start + timedelta(days=working_days)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration

    def at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime:
        return start + (due - start) * fraction


class FakeTimers:
    """Deadline timers by minute, with the shared cursor, in memory."""

    def __init__(self) -> None:
        self.minutes: dict[datetime, list[Timer]] = {}
        self.closed: set[datetime] = set()
        self.cursor: datetime | None = None

    async def schedule(self, timer: Timer) -> bool:
        minute = minute_of(timer.fire_at)
        if minute in self.closed:
            return False
        self.minutes.setdefault(minute, []).append(timer)
        return True

    async def close(self, minute: datetime) -> list[Timer]:
        self.closed.add(minute)
        return list(self.minutes.get(minute, []))

    async def fired_until(self, start: datetime) -> datetime:
        if self.cursor is None:
            self.cursor = minute_of(start)
        return self.cursor

    async def advance(self, past: datetime, to: datetime) -> None:
        if self.cursor == past:
            self.cursor = to


class FakeAtRisk:
    def __init__(self) -> None:
        self.points: dict[str, dict[str, tuple[datetime, int]]] = {}

    async def note(
        self, service_point: str, request_id: str, due_at: datetime, percent: int
    ) -> None:
        self.points.setdefault(service_point, {})[request_id] = (due_at, percent)

    async def listed(self, service_point: str) -> dict[str, tuple[datetime, int]]:
        return dict(self.points.get(service_point, {}))

    async def forget(self, service_point: str, request_ids: Iterable[str]) -> None:
        for request_id in request_ids:
            self.points.get(service_point, {}).pop(request_id, None)


def message_caps(
    counts: FakeCounts | None = None, rules: MessageCapRules | None = None
) -> MessageCaps:
    """Intake's message caps over fake counts, phones keyed by a readable stand-in hash."""
    return MessageCaps.of(
        counts if counts is not None else FakeCounts(),
        lambda phone: f"hash:{phone}",
        rules if rules is not None else MessageCapRules(),
    )
