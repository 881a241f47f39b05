"""Official letters and their dispositions: who may take which step, and what each step records."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.processing.domain.deadlines import Mark, Timer
from services.processing.letters.domain.agenda import register
from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.dispositions import (
    DispositionOrder,
    DispositionState,
    Official,
    disposition_timers,
)
from services.processing.letters.domain.letter import Letter, LetterState
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from services.processing.letters.domain.refusals import LetterForbidden, LetterRefused
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.letters import (
    DispositionClosed,
    DispositionEscalated,
    DispositionFollowedUp,
    DispositionRead,
    DispositionReminded,
    DispositionWithdrawn,
    LetterAccessRefused,
    LetterAnswered,
    LetterClosed,
    LetterDisposed,
    LetterRegistered,
    LetterViewed,
)
from tests.builders import T0
from tests.fakes import FlatCalendar

CALENDAR = FlatCalendar()
POLICY = LetterPolicy(
    reply_days={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1},
    instructions={"TINDAK_LANJUTI": "Tindak lanjuti", "UNTUK_DIKETAHUI": "Untuk diketahui"},
)
HEAD = Official("kadis", "KANTOR_DINAS")
KABID = Official("kabid-dafduk", "KANTOR_DINAS")
SEKSI = Official("kasi-pindah", "KANTOR_DINAS")
STAFF = Official("staf-1", "KANTOR_DINAS")


def actor(who: Official | str) -> Actor:
    ident = who if isinstance(who, str) else who.id
    return Actor(kind=ActorKind.STAFF, id=ident, channel=Channel.API)


def incoming(
    *,
    urgency: Urgency = Urgency.BIASA,
    confidentiality: Confidentiality = Confidentiality.BIASA,
    reply_due: date | None = None,
) -> IncomingLetter:
    return IncomingLetter(
        sender="Pengadilan Agama Mojokerto",
        reference_number="W13-A21/123/HK.05/III/2025",
        letter_date=date(2025, 2, 28),
        regarding="Permohonan data kependudukan a.n. Budi Santoso",
        classification="470",
        urgency=urgency,
        confidentiality=confidentiality,
        reply_due=reply_due,
    )


def registered(**kwargs: object) -> Letter:
    letter = register(
        incoming(**kwargs),  # type: ignore[arg-type]
        actor=actor("clerk-1"),
        year=2025,
        agenda_number=7,
        service_point="KANTOR_DINAS",
        policy=POLICY,
        calendar=CALENDAR,
        now=T0,
    )
    letter.events.clear()
    return letter


def dispose(
    letter: Letter,
    by: Official,
    to: Official,
    *,
    parent_id: str | None = None,
    due_at: datetime | None = None,
    now: datetime = T0,
) -> str:
    made = letter.dispose(
        actor(by),
        DispositionOrder(
            by=by,
            to=[to],
            instruction="TINDAK_LANJUTI",
            note="Segera siapkan data",
            due_at=due_at,
            parent_id=parent_id,
        ),
        policy=POLICY,
        head_of_office=by is HEAD,
        now=now,
    )
    return made[0].id


def event_types(letter: Letter) -> list[type]:
    return [type(event) for event in letter.events]


def test_a_registered_letter_is_due_by_its_urgencys_default_in_working_days() -> None:
    letter = register(
        incoming(urgency=Urgency.SEGERA),
        actor=actor("clerk-1"),
        year=2025,
        agenda_number=12,
        service_point="KANTOR_DINAS",
        policy=POLICY,
        calendar=CALENDAR,
        now=T0,
    )

    assert letter.letter_id == "2025-00012"
    assert letter.due_at == T0 + timedelta(days=2)
    assert letter.state is LetterState.REGISTERED
    [event] = letter.events
    assert isinstance(event, LetterRegistered)
    assert (event.actor.id, event.agenda_number, event.urgency) == ("clerk-1", 12, "segera")


def test_a_reply_date_set_by_the_letter_wins_over_the_default_and_ends_that_day_in_jakarta() -> (
    None
):
    letter = registered(reply_due=date(2025, 3, 20))

    assert letter.due_at == datetime.fromisoformat("2025-03-20T16:59:59+00:00")


def test_a_reply_date_already_past_is_refused() -> None:
    with pytest.raises(LetterRefused) as refused:
        registered(reply_due=date(2025, 3, 1))
    assert refused.value.code == "deadline_passed"


def test_only_the_head_of_office_disposes_a_letter_first() -> None:
    letter = registered()

    with pytest.raises(LetterForbidden):
        dispose(letter, KABID, SEKSI)
    assert letter.events == []


def test_a_letter_goes_down_two_levels_is_followed_up_and_answered() -> None:
    letter = registered()

    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=4))
    assert letter.read(actor(KABID), first, now=T0 + timedelta(hours=1))
    second = dispose(letter, KABID, SEKSI, parent_id=first, now=T0 + timedelta(hours=2))
    letter.read(actor(SEKSI), second, now=T0 + timedelta(hours=3))
    letter.follow_up(actor(SEKSI), second, "Data sudah dikirim", now=T0 + timedelta(days=1))
    letter.answer(
        actor("clerk-1"),
        reply_number="470/88/416-405/2025",
        reply_date=date(2025, 3, 4),
        head_of_office=False,
        now=T0 + timedelta(days=1, hours=1),
    )

    assert letter.dispositions[first].state is DispositionState.DISPOSED
    assert letter.dispositions[second].state is DispositionState.FOLLOWED_UP
    assert letter.dispositions[second].due_at == T0 + timedelta(days=4)
    assert letter.state is LetterState.ANSWERED
    assert event_types(letter) == [
        LetterDisposed,
        DispositionRead,
        LetterDisposed,
        DispositionRead,
        DispositionFollowedUp,
        LetterAnswered,
    ]
    assert [event.actor.id for event in letter.events] == [
        "kadis",
        "kabid-dafduk",
        "kabid-dafduk",
        "kasi-pindah",
        "kasi-pindah",
        "clerk-1",
    ]
    answered = letter.events[-1]
    assert isinstance(answered, LetterAnswered)
    assert answered.on_time


def test_a_disposition_is_due_no_later_than_the_letter_or_its_parent() -> None:
    letter = registered()
    with pytest.raises(LetterRefused) as late:
        dispose(letter, HEAD, KABID, due_at=letter.due_at + timedelta(seconds=1))
    assert late.value.code == "deadline_too_late"

    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=2))
    letter.read(actor(KABID), first, now=T0)
    with pytest.raises(LetterRefused):
        dispose(letter, KABID, SEKSI, parent_id=first, due_at=T0 + timedelta(days=3))
    assert letter.dispositions[first].state is DispositionState.READ


def test_a_disposition_without_a_deadline_takes_its_parents() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=2))
    letter.read(actor(KABID), first, now=T0)

    second = dispose(letter, KABID, SEKSI, parent_id=first)

    assert letter.dispositions[second].due_at == T0 + timedelta(days=2)


def test_an_instruction_must_come_from_the_configured_list() -> None:
    letter = registered()
    with pytest.raises(LetterRefused) as refused:
        letter.dispose(
            actor(HEAD),
            DispositionOrder(
                by=HEAD,
                to=[KABID],
                instruction="SESUKA_HATI",
                note=None,
                due_at=None,
                parent_id=None,
            ),
            policy=POLICY,
            head_of_office=True,
            now=T0,
        )
    assert refused.value.code == "unknown_instruction"


def test_one_disposition_goes_to_several_officials_each_with_its_own_event() -> None:
    letter = registered()
    made = letter.dispose(
        actor(HEAD),
        DispositionOrder(
            by=HEAD,
            to=[KABID, SEKSI, KABID],
            instruction="UNTUK_DIKETAHUI",
            note=None,
            due_at=None,
            parent_id=None,
        ),
        policy=POLICY,
        head_of_office=True,
        now=T0,
    )

    assert [d.to for d in made] == [KABID, SEKSI]
    assert [e.to_official for e in letter.events if isinstance(e, LetterDisposed)] == [
        "kabid-dafduk",
        "kasi-pindah",
    ]


def test_only_the_holder_acts_on_a_disposition_and_only_after_reading_it() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID)

    with pytest.raises(LetterForbidden):
        letter.read(actor(SEKSI), first, now=T0)
    with pytest.raises(LetterRefused) as unread:
        letter.follow_up(actor(KABID), first, "sudah", now=T0)
    assert unread.value.code == "not_followable"
    with pytest.raises(LetterRefused) as pass_unread:
        dispose(letter, KABID, SEKSI, parent_id=first)
    assert pass_unread.value.code == "not_read"
    assert letter.read(actor(KABID), first, now=T0)
    assert not letter.read(actor(KABID), first, now=T0)
    with pytest.raises(LetterRefused) as empty:
        letter.follow_up(actor(KABID), first, "  ", now=T0)
    assert empty.value.code == "note_required"


def test_a_disposition_is_withdrawn_only_unread_and_only_by_who_gave_it() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID)

    with pytest.raises(LetterForbidden):
        letter.withdraw(actor(KABID), first, now=T0)
    letter.withdraw(actor(HEAD), first, now=T0)

    assert letter.dispositions[first].state is DispositionState.WITHDRAWN
    assert letter.state is LetterState.REGISTERED
    assert isinstance(letter.events[-1], DispositionWithdrawn)
    with pytest.raises(LetterRefused) as withdrawn:
        letter.read(actor(KABID), first, now=T0)
    assert withdrawn.value.code == "withdrawn"

    again = dispose(letter, HEAD, KABID)
    letter.read(actor(KABID), again, now=T0)
    with pytest.raises(LetterRefused) as read:
        letter.withdraw(actor(HEAD), again, now=T0)
    assert read.value.code == "already_read"


def test_withdrawing_the_only_onward_disposition_gives_the_parent_back_to_its_holder() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID)
    letter.read(actor(KABID), first, now=T0)
    second = dispose(letter, KABID, SEKSI, parent_id=first)

    letter.withdraw(actor(KABID), second, now=T0)

    assert letter.dispositions[first].state is DispositionState.READ
    assert letter.state is LetterState.IN_PROGRESS


def test_a_holder_closes_a_read_disposition_and_nothing_more_happens_on_it() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID)
    with pytest.raises(LetterRefused):
        letter.close_disposition(actor(KABID), first, now=T0)
    letter.read(actor(KABID), first, now=T0)

    letter.close_disposition(actor(KABID), first, now=T0)

    assert isinstance(letter.events[-1], DispositionClosed)
    with pytest.raises(LetterRefused) as passed_on:
        dispose(letter, KABID, SEKSI, parent_id=first)
    assert passed_on.value.code == "not_passable"
    with pytest.raises(LetterRefused):
        letter.close_disposition(actor(KABID), first, now=T0)


def test_an_answered_or_closed_letter_takes_no_more_steps() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID)
    with pytest.raises(LetterForbidden):
        letter.close(actor(KABID), "tidak perlu", head_of_office=False, now=T0)
    letter.close(actor(HEAD), "Cukup untuk diketahui", head_of_office=True, now=T0)

    assert isinstance(letter.events[-1], LetterClosed)
    with pytest.raises(LetterRefused) as closed:
        letter.follow_up(actor(KABID), first, "sudah", now=T0)
    assert closed.value.code == "letter_closed"
    with pytest.raises(LetterRefused):
        letter.answer(
            actor(HEAD), reply_number="1", reply_date=date(2025, 3, 3), head_of_office=True, now=T0
        )


def test_only_the_clerk_the_head_or_the_chain_register_a_reply() -> None:
    letter = registered()
    with pytest.raises(LetterForbidden):
        letter.answer(
            actor(STAFF),
            reply_number="1",
            reply_date=date(2025, 3, 3),
            head_of_office=False,
            now=T0,
        )
    dispose(letter, HEAD, STAFF)
    letter.answer(
        actor(STAFF), reply_number="1", reply_date=date(2025, 3, 3), head_of_office=False, now=T0
    )
    assert letter.reply is not None
    assert letter.reply.by == "staf-1"


def test_a_late_reply_and_a_late_follow_up_are_recorded_as_late() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=1))
    letter.read(actor(KABID), first, now=T0)
    letter.follow_up(actor(KABID), first, "sudah", now=T0 + timedelta(days=2))
    letter.answer(
        actor(HEAD),
        reply_number="2",
        reply_date=date(2025, 3, 10),
        head_of_office=True,
        now=letter.due_at + timedelta(minutes=1),
    )
    followed, answered = letter.events[-2:]
    assert isinstance(followed, DispositionFollowedUp)
    assert not followed.on_time
    assert isinstance(answered, LetterAnswered)
    assert not answered.on_time


@pytest.mark.parametrize("confidentiality", [Confidentiality.TERBATAS, Confidentiality.RAHASIA])
def test_a_confidential_letter_is_read_by_its_clerk_the_head_and_its_chain_only(
    confidentiality: Confidentiality,
) -> None:
    letter = registered(confidentiality=confidentiality)
    dispose(letter, HEAD, KABID)
    letter.events.clear()

    for reader, head in (("clerk-1", False), ("kadis", True), ("kabid-dafduk", False)):
        letter.view(actor(reader), head_of_office=head, now=T0)
    with pytest.raises(LetterForbidden):
        letter.view(actor(SEKSI), head_of_office=False, now=T0)

    assert event_types(letter) == [LetterViewed] * 3 + [LetterAccessRefused]
    assert [event.actor.id for event in letter.events] == [
        "clerk-1",
        "kadis",
        "kabid-dafduk",
        "kasi-pindah",
    ]


def test_a_withdrawn_recipient_is_off_the_chain_and_an_ordinary_letter_is_read_unrecorded() -> None:
    secret = registered(confidentiality=Confidentiality.RAHASIA)
    first = dispose(secret, HEAD, KABID)
    secret.withdraw(actor(HEAD), first, now=T0)
    assert not secret.may_read("kabid-dafduk", head_of_office=False)

    ordinary = registered()
    ordinary.view(actor(STAFF), head_of_office=False, now=T0)
    assert ordinary.events == []


def timer(mark: Mark, due: datetime, disposition_id: str = "D1") -> Timer:
    return Timer(
        request_id="2025-00007", mark=mark, due_at=due, fire_at=due, disposition_id=disposition_id
    )


def test_reminders_and_escalation_fire_once_while_the_disposition_waits() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=4))
    due = letter.dispositions[first].due_at
    letter.events.clear()

    timers = {
        t.mark: t
        for t in disposition_timers(letter.letter_id, letter.dispositions[first], CALENDAR, POLICY)
    }
    assert timers[Mark.UNREAD].fire_at == T0 + timedelta(days=1)
    assert timers[Mark.DUE_SOON].fire_at == T0 + timedelta(days=4) * 0.8
    assert timers[Mark.ESCALATION].fire_at == due
    assert {t.disposition_id for t in timers.values()} == {first}

    assert letter.mark_deadline(timers[Mark.UNREAD], now=T0 + timedelta(days=1))
    assert not letter.mark_deadline(timers[Mark.UNREAD], now=T0 + timedelta(days=1))
    letter.read(actor(KABID), first, now=T0 + timedelta(days=1))
    assert letter.mark_deadline(timers[Mark.DUE_SOON], now=T0 + timedelta(days=3))
    assert letter.mark_deadline(timers[Mark.ESCALATION], now=due)
    assert not letter.mark_deadline(timers[Mark.ESCALATION], now=due)

    unread, read, soon, escalated = letter.events
    assert isinstance(unread, DispositionReminded)
    assert unread.reason == "unread"
    assert isinstance(read, DispositionRead)
    assert isinstance(soon, DispositionReminded)
    assert soon.reason == "due_soon"
    assert isinstance(escalated, DispositionEscalated)
    assert (escalated.holder, escalated.escalated_to, escalated.actor.kind) == (
        "kabid-dafduk",
        "kadis",
        ActorKind.SYSTEM,
    )


def test_a_read_followed_up_or_moved_disposition_is_not_reminded() -> None:
    letter = registered()
    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=4))
    due = letter.dispositions[first].due_at
    letter.read(actor(KABID), first, now=T0)
    assert not letter.mark_deadline(timer(Mark.UNREAD, due), now=T0 + timedelta(days=1))
    assert not letter.mark_deadline(timer(Mark.ESCALATION, due + timedelta(hours=1)), now=due)
    assert not letter.mark_deadline(timer(Mark.BREACH, due), now=due)
    letter.follow_up(actor(KABID), first, "sudah", now=T0)
    assert not letter.mark_deadline(timer(Mark.ESCALATION, due), now=due)
    assert not letter.mark_deadline(timer(Mark.ESCALATION, due, "D9"), now=due)
    assert letter.events[-1].__class__ is DispositionFollowedUp


@pytest.mark.parametrize("confidentiality", list(Confidentiality))
def test_only_its_clerk_the_head_of_its_office_and_its_chain_act_on_a_letter(
    confidentiality: Confidentiality,
) -> None:
    letter = registered(confidentiality=confidentiality)
    dispose(letter, HEAD, KABID)
    withdrawn = dispose(letter, HEAD, SEKSI)
    letter.withdraw(actor(HEAD), withdrawn, now=T0)

    assert letter.may_act("clerk-1", head_of_office=False)
    assert letter.may_act("kadis", head_of_office=True)
    assert letter.may_act("kabid-dafduk", head_of_office=False)
    assert not letter.may_act("clerk-2", head_of_office=False)
    assert not letter.may_act("kasi-pindah", head_of_office=False)


def test_a_signer_heads_only_the_letters_of_their_own_unit() -> None:
    letter = registered()

    assert letter.headed_by("KANTOR_DINAS", signer=True)
    assert not letter.headed_by("KECAMATAN_SOOKO", signer=True)
    assert not letter.headed_by("KANTOR_DINAS", signer=False)


@pytest.mark.parametrize("confidentiality", list(Confidentiality))
def test_a_step_by_someone_off_the_letter_is_refused_and_recorded(
    confidentiality: Confidentiality,
) -> None:
    letter = registered(confidentiality=confidentiality)

    letter.admit(actor("clerk-1"), head_of_office=False, now=T0)
    letter.admit(actor(HEAD), head_of_office=True, now=T0)
    assert letter.events == []
    with pytest.raises(LetterForbidden) as refused:
        letter.admit(actor("clerk-2"), head_of_office=False, now=T0)

    assert refused.value.code == "not_on_letter"
    [event] = letter.events
    assert isinstance(event, LetterAccessRefused)
    assert (event.actor.id, event.confidentiality) == ("clerk-2", confidentiality.value)


def test_another_clerks_reply_is_refused_and_the_letter_stays_open_to_escalate() -> None:
    letter = registered(confidentiality=Confidentiality.RAHASIA)
    first = dispose(letter, HEAD, KABID, due_at=T0 + timedelta(days=2))
    letter.events.clear()

    with pytest.raises(LetterForbidden) as refused:
        letter.answer(
            actor("clerk-2"),
            reply_number="470/1/2025",
            reply_date=date(2025, 3, 3),
            head_of_office=False,
            now=T0,
        )

    assert refused.value.code == "not_on_letter"
    assert (letter.state, letter.reply) == (LetterState.IN_PROGRESS, None)
    assert event_types(letter) == [LetterAccessRefused]
    escalation = timer(Mark.ESCALATION, letter.dispositions[first].due_at, first)
    assert letter.mark_deadline(escalation, now=T0 + timedelta(days=2))
    assert isinstance(letter.events[-1], DispositionEscalated)


def test_a_scan_comes_only_from_the_letters_clerk_and_an_outsiders_attempt_is_recorded() -> None:
    letter = registered(confidentiality=Confidentiality.TERBATAS)

    letter.admit_scan(actor("clerk-1"), head_of_office=False, now=T0)
    with pytest.raises(LetterForbidden) as head:
        letter.admit_scan(actor(HEAD), head_of_office=True, now=T0)
    assert (head.value.code, letter.events) == ("not_registrar", [])
    with pytest.raises(LetterForbidden) as outsider:
        letter.admit_scan(actor("clerk-2"), head_of_office=False, now=T0)

    assert outsider.value.code == "not_on_letter"
    assert event_types(letter) == [LetterAccessRefused]
