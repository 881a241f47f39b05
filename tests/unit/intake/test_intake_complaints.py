"""Complaints: what a citizen may file, anonymously or not, and what goes out with it."""

from __future__ import annotations

import re

import pytest

from services.intake.domain.callers import submitter
from services.intake.domain.complaints import (
    ANONYMOUS,
    ComplaintForm,
    file_complaint,
    new_complaint_number,
    normalize_description,
)
from services.intake.domain.identity import InvalidIdentity
from services.intake.domain.text import InvalidText
from services.intake.domain.tracking import ALPHABET
from services.intake.service_layer import complaints
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.identity import Principal, Role
from tests.builders import T0, citizen_request, wrapped
from tests.fakes import CallCounter, FakeRequestRepository
from tests.fakes_appointments import FakeComplaintRepository

SIGNED_IN = Actor(kind=ActorKind.CITIZEN, id="citizen-7", role="citizen", channel=Channel.API)
FEE = ComplaintForm(
    category=ComplaintCategory.ILLEGAL_FEE,
    description="  Petugas meminta\tRp50.000  agar KK cepat jadi. ",
    anonymous=False,
    phone="0812-3456-7890",
)


def test_a_complaint_number_is_adu_and_eight_tracking_symbols() -> None:
    assert re.fullmatch(rf"ADU-[{ALPHABET}]{{8}}", new_complaint_number())


def test_a_named_complaint_carries_its_words_phone_and_filer() -> None:
    complaint = file_complaint(
        complaint_id="c-1",
        complaint_number="ADU-K7M2Q9XP",
        form=FEE,
        request_id="req-1",
        filer=SIGNED_IN,
        now=T0,
    )

    [event] = complaint.events
    assert event == ComplaintFiled(
        actor=SIGNED_IN,
        complaint_id="c-1",
        complaint_number="ADU-K7M2Q9XP",
        category=ComplaintCategory.ILLEGAL_FEE,
        description="Petugas meminta Rp50.000 agar KK cepat jadi.",
        request_id="req-1",
        anonymous=False,
        phone="+6281234567890",
        filed_at=T0,
    )


def test_an_anonymous_complaint_names_no_one_even_when_signed_in() -> None:
    form = ComplaintForm(
        category=ComplaintCategory.RUDENESS, description="Dibentak.", anonymous=True
    )

    complaint = file_complaint(
        complaint_id="c-1",
        complaint_number="ADU-K7M2Q9XP",
        form=form,
        request_id=None,
        filer=SIGNED_IN,
        now=T0,
    )

    assert complaint.filed_by == Actor(kind=ActorKind.CITIZEN, id=ANONYMOUS, channel=Channel.API)
    assert complaint.phone is None
    assert complaint.events[0].actor == complaint.filed_by


@pytest.mark.parametrize(
    ("anonymous", "phone", "reason"),
    [
        (False, None, "Nomor HP wajib diisi"),
        (True, "081234567890", "Pengaduan anonim tidak mencantumkan nomor HP"),
        (False, "021555123", "nomor seluler Indonesia"),
    ],
)
def test_a_phone_is_needed_exactly_when_the_complaint_is_named(
    anonymous: bool, phone: str | None, reason: str
) -> None:
    form = ComplaintForm(
        category=ComplaintCategory.DELAY, description="Lama.", anonymous=anonymous, phone=phone
    )

    with pytest.raises(InvalidIdentity, match=reason):
        file_complaint(
            complaint_id="c-1",
            complaint_number="ADU-K7M2Q9XP",
            form=form,
            request_id=None,
            filer=SIGNED_IN,
            now=T0,
        )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (" \n\t ", "wajib diisi"),
        ("Bayar\u202edua kali", "pengatur arah teks"),
        ("x" * 2001, "paling panjang 2000"),
    ],
)
def test_a_description_must_say_something_visible_within_bounds(text: str, reason: str) -> None:
    with pytest.raises(InvalidText, match=reason):
        normalize_description(text)


async def test_filing_ties_the_complaint_to_the_request_of_its_tracking_number() -> None:
    store, requests, ready = FakeComplaintRepository(), FakeRequestRepository(), CallCounter()
    store.outgoing.register(ready)
    await requests.add(citizen_request("req-1"), [])

    complaint = await complaints.file_complaint(
        form=ComplaintForm(
            category=ComplaintCategory.DELAY,
            description="Belum jadi.",
            anonymous=True,
            tracking_number="k7m2-q9xp",
        ),
        filer=submitter(None),
        complaints=store,
        requests=requests,
        now=T0,
    )

    assert complaint.request_id == "req-1"
    [event] = store.outbox
    assert event.subject == complaint.complaint_id
    assert event.data["request_id"] == "req-1"
    assert ready.keys == [complaint.complaint_number]
    assert list(store.complaints) == [complaint.complaint_number]


@pytest.mark.parametrize("tracking_number", ["ZZZZ2222", "not-a-number-0"])
async def test_an_unknown_tracking_number_is_refused_and_nothing_stored(
    tracking_number: str,
) -> None:
    store = FakeComplaintRepository()

    with pytest.raises(complaints.UnknownTrackingNumber, match="tidak ditemukan"):
        await complaints.file_complaint(
            form=ComplaintForm(
                category=ComplaintCategory.OTHER,
                description="Lain.",
                anonymous=True,
                tracking_number=tracking_number,
            ),
            filer=submitter(None),
            complaints=store,
            requests=FakeRequestRepository(),
            now=T0,
        )

    assert store.complaints == {}


async def test_a_signed_in_citizen_is_answered_at_their_own_number_by_default() -> None:
    store = FakeComplaintRepository()
    citizen = submitter(
        Principal(subject="c-7", roles=frozenset({Role.CITIZEN}), phone_number="+6285700000001")
    )

    complaint = await complaints.file_complaint(
        form=ComplaintForm(
            category=ComplaintCategory.RUDENESS, description="Dibentak.", anonymous=False
        ),
        filer=citizen,
        complaints=store,
        requests=FakeRequestRepository(),
        now=T0,
    )

    assert complaint.phone == "+6285700000001"
    assert complaint.filed_by == citizen.actor


def test_the_anonymous_actor_keeps_the_channel_it_came_from() -> None:
    whatsapp = Actor(kind=ActorKind.CITIZEN, id="c-9", channel=Channel.WHATSAPP)
    form = ComplaintForm(category=ComplaintCategory.OTHER, description="Lain.", anonymous=True)

    complaint = file_complaint(
        complaint_id="c-1",
        complaint_number="ADU-K7M2Q9XP",
        form=form,
        request_id=None,
        filer=whatsapp,
        now=T0,
    )

    assert complaint.filed_by.channel is Channel.WHATSAPP
    assert wrapped(complaint.events[0]).data["actor"]["id"] == ANONYMOUS
