"""Checking the books after a load-and-fault run: pure functions over what was collected.

Each check returns the discrepancies it found, one per lost, doubled or half-written thing, each
naming what it is about, so that a person can follow it up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.audit.config import AuditSettings
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseOpened,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import RequestSubmitted

ONCE_PER_REQUEST = (
    RequestSubmitted.event_type,
    CaseOpened.event_type,
    CaseApproved.event_type,
    DocumentIssued.event_type,
    CaseCompleted.event_type,
)
"""Events a request has at most once; of an accepted request the first two exactly once."""
STEP_EVENTS = {
    "approve": CaseApproved.event_type,
    "issue": DocumentIssued.event_type,
    "complete": CaseCompleted.event_type,
    "request-revision": RevisionRequested.event_type,
}
"""The event an officer's answered (2xx) step must have left in the audit log."""
SETTLED = frozenset({"SENT", "FAILED", "CANCELLED"})
SEND_BACKS_ALERTED: int = AuditSettings.model_fields["integrity_send_backs_per_request"].default
"""Send-backs of one request that raise an alert, as the stack runs audit."""


@dataclass(frozen=True)
class Discrepancy:
    check: str
    about: str
    detail: str


@dataclass(frozen=True)
class AuditEntry:
    event_id: str
    event_type: str
    subject: str


@dataclass(frozen=True)
class Refused:
    """A submission that got no 2xx, and what a retry with its Idempotency-Key answered."""

    key: str
    first: str
    """The first answer's status code, or the error's name when none came."""
    retry: str
    retry_request_id: str | None = None
    first_error: str | None = None
    """The first answer's error code, if it had one."""

    @property
    def outcome_known(self) -> bool:
        """The first answer said nothing was stored: any answer but none, and but a 503
        `unavailable`, which says the database did not answer in time (a write sent before
        may still land, and the retry with the same key finds it)."""
        return self.first.isdigit() and (self.first, self.first_error) != ("503", "unavailable")


@dataclass(frozen=True)
class Invalid:
    """A submission sent with a flawed form on purpose, and intake's last answer to it."""

    key: str
    flaw: str
    status: str
    """The status code, or "no answer" when none came through the retries."""
    reason: str | None = None
    """The refusal's message, which the citizen or officer reads."""


@dataclass(frozen=True)
class Notification:
    notification_id: str
    channel: str
    status: str
    tried: tuple[str, ...] = ()
    """Channels given up before the current one."""
    last_error: str = ""
    """Why the last channel given up was, as notify stored it."""
    due: bool = True
    """Whether its next attempt has come: a visit's reminder waits for the day before."""


@dataclass(frozen=True)
class SinkMessage:
    channel: str
    reference: str | None


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: str
    about: str
    officers: tuple[str, ...]
    occurred_at: datetime


@dataclass(frozen=True)
class Planted:
    """A violation the harness committed on purpose; `about` None matches any subject."""

    rule: str
    officer: str | None
    about: str | None

    def found_in(self, alert: Alert) -> bool:
        return (
            alert.rule == self.rule
            and (self.about is None or alert.about == self.about)
            and (self.officer is None or self.officer in alert.officers)
        )


@dataclass
class Records:
    """What the run did and what the backend holds afterwards."""

    accepted: set[str] = field(default_factory=set)
    """Request ids answered 2xx by the API, or found again by a retry of an unanswered one."""
    chat_submissions: int = 0
    """DAFTAR and WhatsApp confirmations answered 200, whose request ids are not returned."""
    refused: list[Refused] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    """(request id, step) of every officer step answered 2xx."""
    intake_requests: dict[str, str] = field(default_factory=dict)
    """Request id → intake channel of every request intake stores."""
    tracking_numbers: dict[str, str] = field(default_factory=dict)
    """Request id → tracking number of every request intake stores."""
    cases: set[str] = field(default_factory=set)
    audit: list[AuditEntry] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    sink: list[SinkMessage] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    dead_letters: dict[str, list[str]] = field(default_factory=dict)
    """Dead-letter topic → the error of each entry."""
    verifier_exit: int = 0
    verifier_output: str = ""


def check_submissions(records: Records) -> list[Discrepancy]:
    """Every accepted request (and every one made in a chat) is stored, has a case and its
    once-only events once each; each officer step answered 2xx left its event."""
    found: list[Discrepancy] = []
    by_request: dict[str, Counter[str]] = {}
    for entry in records.audit:
        by_request.setdefault(entry.subject, Counter())[entry.event_type] += 1
    chats = {r for r, channel in records.intake_requests.items() if channel in CHAT_CHANNELS}
    for request_id in sorted(records.accepted | chats):
        if request_id not in records.intake_requests:
            found.append(Discrepancy("lost", request_id, "accepted but not in intake"))
        if request_id not in records.cases:
            found.append(Discrepancy("lost", request_id, "accepted but has no case"))
        events = by_request.get(request_id, Counter())
        for event_type in ONCE_PER_REQUEST[:2]:
            if events[event_type] == 0:
                found.append(Discrepancy("lost", request_id, f"no {event_type} in the audit log"))
    for request_id, events in sorted(by_request.items()):
        for event_type in ONCE_PER_REQUEST:
            if events[event_type] > 1:
                found.append(
                    Discrepancy(
                        "doubled", request_id, f"{event_type} {events[event_type]} times in audit"
                    )
                )
    done = Counter((request_id, STEP_EVENTS[step]) for request_id, step in records.steps)
    for (request_id, event_type), count in sorted(done.items()):
        logged = by_request.get(request_id, Counter())[event_type]
        if logged < count:
            found.append(
                Discrepancy("lost", request_id, f"{count} steps answered, {logged} {event_type}")
            )
    ids = Counter(entry.event_id for entry in records.audit)
    found += [
        Discrepancy("doubled", event_id, f"event in the audit log {count} times")
        for event_id, count in sorted(ids.items())
        if count > 1
    ]
    return found


def check_tracking_numbers(records: Records) -> list[Discrepancy]:
    """No tracking number was given to two requests."""
    holders: dict[str, list[str]] = {}
    for request_id, number in records.tracking_numbers.items():
        holders.setdefault(number, []).append(request_id)
    return [
        Discrepancy("doubled", number, f"tracking number of {', '.join(sorted(ids))}")
        for number, ids in sorted(holders.items())
        if len(ids) > 1
    ]


def check_half_written(records: Records) -> list[Discrepancy]:
    """A refused submission left nothing: its retry makes a new request, or finds the one a
    first try of unknown outcome made; every stored request is whole and one the run knows of."""
    found: list[Discrepancy] = []
    for refused in records.refused:
        if refused.outcome_known and refused.retry == "200":
            answer = " ".join(filter(None, (refused.first, refused.first_error)))
            found.append(
                Discrepancy(
                    "half-written",
                    refused.key,
                    f"answered {answer}, yet a retry found request {refused.retry_request_id}",
                )
            )
        elif refused.retry == "409":
            found.append(
                Discrepancy(
                    "half-written", refused.key, f"answered {refused.first}; its NIK is held"
                )
            )
    found += [
        Discrepancy("half-written", request_id, "stored by intake but has no case")
        for request_id in sorted(records.intake_requests)
        if request_id not in records.cases and request_id not in records.accepted
    ]
    chats = sum(1 for channel in records.intake_requests.values() if channel in CHAT_CHANNELS)
    if chats != records.chat_submissions:
        found.append(
            Discrepancy(
                "half-written" if chats > records.chat_submissions else "lost",
                "SMS and WhatsApp",
                f"{records.chat_submissions} applications answered, {chats} requests stored",
            )
        )
    strays = [
        request_id
        for request_id, channel in records.intake_requests.items()
        if channel not in CHAT_CHANNELS and request_id not in records.accepted
    ]
    found += [
        Discrepancy("half-written", request_id, "stored, but no submission was accepted for it")
        for request_id in sorted(strays)
    ]
    return found


def check_invalid(records: Records) -> list[Discrepancy]:
    """A flawed form is refused with a reason (4xx other than 429), never taken; what it left
    behind, if anything, is caught as a stored request no submission was accepted for."""
    found: list[Discrepancy] = []
    for sent in records.invalid:
        if not sent.status.isdigit() or int(sent.status) >= 500 or sent.status == "429":
            continue
        if int(sent.status) < 400:
            found.append(Discrepancy("invalid taken", sent.key, f"{sent.flaw}: {sent.status}"))
        elif not sent.reason:
            found.append(Discrepancy("no reason", sent.key, f"{sent.flaw}: {sent.status}"))
    return found


CHAT_CHANNELS = frozenset({"SMS", "WHATSAPP"})


def check_messages(records: Records) -> list[Discrepancy]:
    """Every message settled; one sent is at the provider once on its channel; none twice on
    one channel. A failed one that a provider took while notify could not tell (a timeout on a
    channel that does not dedupe, with no status after) did arrive; one no provider took is
    reported with the channels it tried."""
    found: list[Discrepancy] = []
    taken = Counter(message.reference for message in records.sink if message.reference)
    found += [
        Discrepancy("sent twice", reference, f"{count} times on one channel")
        for reference, count in sorted(taken.items())
        if count > 1
    ]
    for notification in records.notifications:
        if notification.status not in SETTLED and notification.due:
            found.append(
                Discrepancy("not settled", notification.notification_id, notification.status)
            )
        elif notification.status == "SENT":
            key = f"{notification.notification_id}:{notification.channel}"
            if key not in taken:
                found.append(
                    Discrepancy(
                        "lost", notification.notification_id, f"SENT but not at {key}'s provider"
                    )
                )
        elif notification.status == "FAILED" and not any(
            f"{notification.notification_id}:{channel}" in taken for channel in notification.tried
        ):
            route = " → ".join(notification.tried)
            found.append(
                Discrepancy(
                    "failed",
                    notification.notification_id,
                    f"never taken by {route}: {notification.last_error}",
                )
            )
    return found


def check_alerts(
    records: Records, outside_office_time: Callable[[datetime], bool]
) -> list[Discrepancy]:
    """Every planted violation raised its alert; every alert is planted, or an action outside
    office time (any staff action of a run at night or on a holiday is), or a request the mix's
    own verifiers sent back as often as the rule counts (one in ten of their checks does)."""
    send_backs = Counter(
        request_id for request_id, step in records.steps if step == "request-revision"
    )
    found = [
        Discrepancy("planted not found", planted.about or planted.rule, _planted(planted))
        for planted in records.planted
        if not any(planted.found_in(alert) for alert in records.alerts)
    ]
    for alert in records.alerts:
        if any(planted.found_in(alert) for planted in records.planted):
            continue
        if alert.rule == "OFF_HOURS" and outside_office_time(alert.occurred_at):
            continue
        if alert.rule == "REPEATED_SEND_BACKS" and send_backs[alert.about] >= SEND_BACKS_ALERTED:
            continue
        found.append(
            Discrepancy("unexplained alert", alert.alert_id, f"{alert.rule} about {alert.about}")
        )
    return found


def _planted(planted: Planted) -> str:
    who = f" by {planted.officer}" if planted.officer else ""
    return f"{planted.rule}{who} raised no alert"


def check_dead_letters(
    dead_letters: Mapping[str, Sequence[str]], explained: Iterable[str] = ()
) -> list[Discrepancy]:
    """Each dead letter whose error is not one the run expected is a discrepancy."""
    expected = tuple(explained)
    return [
        Discrepancy("dead letter", topic, error)
        for topic, errors in sorted(dead_letters.items())
        for error in errors
        if not any(reason in error for reason in expected)
    ]


def check_verifier(records: Records) -> list[Discrepancy]:
    if records.verifier_exit == 0:
        return []
    return [
        Discrepancy(
            "audit log", f"verifier exit {records.verifier_exit}", records.verifier_output[-2000:]
        )
    ]


def check_books(
    records: Records, outside_office_time: Callable[[datetime], bool]
) -> list[Discrepancy]:
    return [
        *check_submissions(records),
        *check_tracking_numbers(records),
        *check_half_written(records),
        *check_invalid(records),
        *check_messages(records),
        *check_alerts(records, outside_office_time),
        *check_dead_letters(records.dead_letters),
        *check_verifier(records),
    ]
