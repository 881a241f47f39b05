"""Staff notices: the directory notify reads them from, checked in full at start, and who hears
of a case's or a disposition's deadline, by e-mail, once per event and officer."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.notify.adapters.staff_contacts_file import (
    SAMPLE_STAFF_DIRECTORY,
    InvalidStaffDirectory,
    load_staff_directory,
)
from services.notify.domain.notification import Notification
from services.notify.domain.quiet_hours import QuietHours
from services.notify.entrypoints.consumer import subscription
from shared.calendar import JAKARTA
from shared.errors import InvalidConfiguration
from shared.events.envelope import Actor, CloudEvent, Event
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.values import DeliveryChannel
from shared.identity import Role
from tests.builders import T0, request_submitted
from tests.fakes import FakeClock, FakeNotify

PROCESSING = Actor.system("processing")
DUE = datetime(2025, 3, 4, 16, 0, tzinfo=JAKARTA).astimezone(UTC)
DIRECTORY = load_staff_directory()


def notify(quiet_hours: QuietHours | None = None) -> FakeNotify:
    fake = FakeNotify(quiet_hours=quiet_hours)
    fake.context = dataclasses.replace(fake.context, staff=DIRECTORY)
    return fake


async def deliver(fake: FakeNotify, event: Event, now: datetime = T0) -> CloudEvent:
    wrapped = CloudEvent.wrap(event, source="/test", time=now)
    await subscription.bind(fake.context, FakeClock(now))(wrapped)
    return wrapped


def to_staff(fake: FakeNotify) -> dict[str, Notification]:
    """The notices queued, by the officer's subject."""
    return {
        notification.notification_id.split(":staff:")[1]: notification
        for notification in fake.repository.notifications.values()
        if ":staff:" in notification.notification_id
    }


def warning(*, holder: str | None = "verifier-test", **changes: Any) -> DeadlineWarning:
    fields: dict[str, Any] = {
        "actor": PROCESSING,
        "request_id": "req-1",
        "state": "IN_VERIFICATION",
        "at": T0,
        "percent": 80,
        "due_at": DUE,
        "holder": holder,
        "service_point": "KANTOR_DINAS",
    }
    return DeadlineWarning(**fields | changes)


def breach(*, holder: str | None = "verifier-test") -> DeadlineBreached:
    return DeadlineBreached(
        actor=PROCESSING,
        request_id="req-1",
        state="IN_VERIFICATION",
        at=T0,
        due_at=DUE,
        holder=holder,
        service_point="KANTOR_DINAS",
    )


def reminded(reason: str) -> DispositionReminded:
    return DispositionReminded(
        actor=PROCESSING,
        letter_id="2025-00012",
        state="IN_PROGRESS",
        at=T0,
        disposition_id="D2",
        holder="verifier-test",
        reason=reason,
        due_at=DUE,
    )


def escalated() -> DispositionEscalated:
    return DispositionEscalated(
        actor=PROCESSING,
        letter_id="2025-00012",
        state="IN_PROGRESS",
        at=T0,
        disposition_id="D2",
        holder="verifier-test",
        holder_unit="KANTOR_DINAS",
        escalated_to="signer-test",
        due_at=DUE,
    )


def test_the_sample_covers_every_office_role_the_local_issuer_mints_by_default() -> None:
    office_roles = set(Role) - {Role.CITIZEN, Role.VILLAGE_OPERATOR}

    for role in office_roles:
        member = DIRECTORY.get(f"{role.value}-test")
        assert member is not None, role
        assert role in member.roles
    assert [m.subject for m in DIRECTORY.supervisors_of("KANTOR_DINAS")] == ["supervisor-test"]
    assert [m.subject for m in DIRECTORY.supervisors_of("MPP_MOJOKERTO")] == ["supervisor-mpp-test"]


def test_contact_details_stay_out_of_a_members_repr() -> None:
    member = DIRECTORY.get("verifier-test")

    assert member is not None
    assert member.email not in repr(member)
    assert member.name not in repr(member)
    assert str(member.phone) not in repr(member)


Edit = Callable[[dict[str, Any]], None]


def member_field(subject: str, name: str, value: Any) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        document["staff"][subject][name] = value

    return edit


def broken(tmp_path: Path, *edits: Edit) -> Path:
    document = json.loads(SAMPLE_STAFF_DIRECTORY.read_text())
    for edit in edits:
        edit(document)
    path = tmp_path / "staff.json"
    path.write_text(json.dumps(document))
    return path


def test_a_broken_directory_names_the_file_and_every_fault_but_no_contact_details(
    tmp_path: Path,
) -> None:
    path = broken(
        tmp_path,
        member_field("verifier-test", "email", "dewi.lestari-at-dispendukcapil"),
        member_field("signer-test", "phone", "0813-1234"),
        member_field("operator-test", "roles", ["operator", "bupati"]),
        member_field("auditor-test", "service_point", "kantor dinas"),
        member_field("admin-test", "roles", []),
        member_field("letter_clerk-test", "nickname", "Yuni"),
    )

    with pytest.raises(InvalidStaffDirectory) as refused:
        load_staff_directory(path)

    message = str(refused.value)
    assert isinstance(refused.value, InvalidConfiguration)
    assert str(path) in message
    for fault in (
        "staff.verifier-test.email",
        "staff.signer-test.phone",
        "staff.operator-test.roles.1",
        "staff.auditor-test.service_point",
        "staff.admin-test.roles",
        "staff.letter_clerk-test.nickname",
    ):
        assert fault in message
    assert "dewi.lestari" not in message
    assert "0813-1234" not in message


def test_a_citizen_is_not_staff(tmp_path: Path) -> None:
    path = broken(tmp_path, member_field("verifier-test", "roles", ["verifier", "citizen"]))

    with pytest.raises(
        InvalidStaffDirectory, match=r"verifier-test\.roles: citizen is not a staff"
    ):
        load_staff_directory(path)


def test_a_missing_or_unreadable_directory_is_refused(tmp_path: Path) -> None:
    not_json = tmp_path / "staff.json"
    not_json.write_text("{")

    with pytest.raises(InvalidStaffDirectory, match="cannot read"):
        load_staff_directory(tmp_path / "missing.json")
    with pytest.raises(InvalidStaffDirectory, match="broken"):
        load_staff_directory(not_json)


async def test_a_deadline_warning_goes_to_the_holder_and_the_supervisors_of_its_point() -> None:
    fake = notify()
    await deliver(fake, request_submitted("req-1"))

    event = await deliver(fake, warning())

    notices = to_staff(fake)
    assert set(notices) == {"verifier-test", "supervisor-test"}
    holder, supervisor = notices["verifier-test"], notices["supervisor-test"]
    assert holder.notification_id == f"{event.id}:staff:verifier-test"
    assert holder.channel is DeliveryChannel.EMAIL
    assert holder.recipient == "verifier@dispendukcapil.example"
    assert supervisor.recipient == "supervisor@dispendukcapil.example"
    assert holder.template == supervisor.template == "deadline_warning"
    assert holder.about == "req-1"
    assert holder.text.startswith("Yth. Dewi Lestari,")
    assert supervisor.text.startswith("Yth. Sri Handayani,")
    for text in (holder.text, supervisor.text):
        assert "K7M2Q9XP" in text
        assert "terpakai 80%" in text
        assert "Selasa, 4 Maret 2025 pukul 16.00 WIB" in text
        assert "Dipegang oleh: Dewi Lestari" in text
        assert "Kantor Dispendukcapil Kab. Mojokerto" in text


async def test_an_officer_with_a_phone_gets_the_notice_by_sms_if_the_email_fails() -> None:
    fake = notify()

    await deliver(fake, warning(holder="operator-test"))

    notices = to_staff(fake)
    assert notices["operator-test"].fallbacks == ()
    [sms] = notices["supervisor-test"].fallbacks
    assert (sms.channel, sms.recipient) == (DeliveryChannel.SMS, "+6281300000103")
    assert "80%" in sms.text


async def test_a_breach_is_marked_as_one_and_an_unclaimed_case_goes_to_supervisors_only() -> None:
    fake = notify()
    await deliver(fake, request_submitted("req-1"))

    await deliver(fake, breach(holder=None))

    [(subject, notice)] = to_staff(fake).items()
    assert subject == "supervisor-test"
    assert notice.template == "deadline_breached"
    assert "MELEWATI BATAS WAKTU" in notice.text
    assert "Dipegang oleh: belum diambil petugas" in notice.text


async def test_a_redelivered_deadline_event_queues_nothing_new() -> None:
    fake = notify()
    event = CloudEvent.wrap(breach(), source="/test", time=T0)
    dispatch = subscription.bind(fake.context, FakeClock(T0))

    for _ in range(3):
        await dispatch(event)

    assert len(fake.repository.notifications) == 2
    assert len(fake.handed_over) == 2


async def test_a_case_notify_never_learnt_is_named_by_its_request_id() -> None:
    fake = notify()

    await deliver(fake, warning(request_id="req-unknown"))

    assert "req-unknown" in to_staff(fake)["supervisor-test"].text


async def test_officers_missing_from_the_directory_are_logged_by_subject_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = notify()

    with caplog.at_level(logging.WARNING):
        await deliver(fake, warning(holder="stranger-1", service_point="KEC_MOJOSARI"))

    assert to_staff(fake) == {}
    assert "stranger-1 is not in the staff directory" in caplog.text


async def test_staff_notices_wait_through_quiet_hours_like_any_message_that_can_wait() -> None:
    fake = notify(QuietHours())
    night = datetime(2025, 3, 3, 22, 0, tzinfo=JAKARTA).astimezone(UTC)

    await deliver(fake, breach(), now=night)

    morning = datetime(2025, 3, 4, 6, 0, tzinfo=JAKARTA).astimezone(UTC)
    assert {n.next_attempt_at for n in to_staff(fake).values()} == {morning}


@pytest.mark.parametrize(
    ("reason", "template", "says"),
    [
        ("unread", "disposition_unread", "belum dibaca sejak satu hari kerja"),
        ("due_soon", "disposition_due_soon", "segera jatuh tempo"),
    ],
)
async def test_a_disposition_reminder_goes_to_its_holder(
    reason: str, template: str, says: str
) -> None:
    fake = notify()

    event = await deliver(fake, reminded(reason))

    [(subject, notice)] = to_staff(fake).items()
    assert subject == "verifier-test"
    assert notice.notification_id == f"{event.id}:staff:verifier-test"
    assert notice.template == template
    assert notice.about == "2025-00012"
    assert says in notice.text
    assert "disposisi D2 atas surat 2025-00012" in notice.text


async def test_an_escalation_tells_who_disposed_naming_the_holder() -> None:
    fake = notify()

    await deliver(fake, escalated())

    [(subject, notice)] = to_staff(fake).items()
    assert subject == "signer-test"
    assert notice.recipient == "signer@dispendukcapil.example"
    assert notice.template == "disposition_escalated"
    assert notice.text.startswith("Yth. Drs. Bambang Wijaya,")
    assert "kepada Dewi Lestari melewati batas waktu" in notice.text


@pytest.mark.parametrize("step", [warning(), breach(), reminded("unread"), escalated()])
async def test_a_notice_about_a_step_over_a_day_old_is_not_sent(step: Event) -> None:
    """What a consumer group meets when it first reads a topic an office already had."""
    late, in_time = notify(), notify()
    await deliver(late, request_submitted("req-1"))
    await deliver(in_time, request_submitted("req-1"))

    await deliver(late, step, now=T0 + timedelta(days=1, seconds=1))
    await deliver(in_time, step, now=T0 + timedelta(days=1))

    assert to_staff(late) == {}
    assert to_staff(in_time) != {}
