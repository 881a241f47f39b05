"""The visit routes over HTTP, on the in-memory stores: answers, refusals and who may act."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import CitizenTokenSigner
from services.intake.appointments.agenda import Agenda
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.domain.places import ServicePoints
from services.intake.appointments.routes import AppointmentsContext
from services.intake.appointments.service_points_file import load_service_points
from services.intake.bootstrap import create_app, token_signer
from services.intake.config import IntakeSettings
from shared.access import Counting
from shared.calendar import WorkingCalendar
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0
from tests.fakes import FakeClock, FakeCounts, message_caps
from tests.fakes_appointments import FakeAppointmentRepository, FakeSlotPlaces

# T0 is Monday 3 March 2025, 08:30 in Jakarta.
BOOKING: dict[str, Any] = {
    "service_code": "KTP_REKAM",
    "service_point": "KEC_MOJOSARI",
    "date": "2025-03-04",
    "slot": "08:00-09:00",
    "nik": "3516091204800001",
    "name": "Siti Aminah",
    "phone": "081234567890",
    "preferred_channel": "WHATSAPP",
}
OFFICER = bearer("counter_officer", service_point="KEC_MOJOSARI")


@dataclass
class Intake:
    app: FastAPI
    client: httpx.AsyncClient
    appointments: FakeAppointmentRepository
    places: FakeSlotPlaces
    signer: CitizenTokenSigner
    context: AppointmentsContext

    def citizen(self, phone: str = "+6281234567890") -> dict[str, str]:
        token, _ = self.signer.issue(phone=phone, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}

    async def book(self, **changes: Any) -> httpx.Response:
        return await self.client.post("/v1/appointments", json=BOOKING | changes)


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    appointments, places = FakeAppointmentRepository(), FakeSlotPlaces()
    catalogue = load_catalogue()

    context = AppointmentsContext(
        agenda=Agenda(
            appointments=appointments,
            places=places,
            rules=BookingRules(
                service_points=load_service_points(catalogue), calendar=WorkingCalendar()
            ),
        ),
        catalogue=catalogue,
        clock=FakeClock(T0),
        message_caps=message_caps(),
    )

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(app, Counting(counts=FakeCounts(), clock=FakeClock(T0)), context)
        yield {}

    settings = IntakeSettings(local_secrets_dir=tmp_path / "secrets")
    app = create_app(settings, wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield Intake(
            app, client, appointments, places, token_signer(settings, settings.cipher()), context
        )


async def test_a_booking_answers_where_and_when_to_come(intake: Intake) -> None:
    response = await intake.book()

    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["booking_number"]) == 8
    assert body["service_point"] == {
        "code": "KEC_MOJOSARI",
        "name": "Kantor Kecamatan Mojosari",
        "address": "Kantor Kecamatan Mojosari, Kabupaten Mojokerto",
    }
    assert body["starts_at"] == "2025-03-04T01:00:00Z"
    assert body["ends_at"] == "2025-03-04T02:00:00Z"
    assert body["schedule"] == "Selasa, 4 Maret 2025, 08.00-09.00 WIB"
    assert body["status"] == "BOOKED"
    assert "nik" not in body
    assert body["booking_number"] in intake.appointments.appointments


async def test_a_full_slot_answers_409_with_the_nearest_free_days(intake: Intake) -> None:
    for serial in range(2, 5):
        assert (await intake.book(nik=f"351609120480000{serial}")).status_code == 201

    response = await intake.book()

    assert response.status_code == 409
    assert response.json()["error"] == "slot_full"
    assert "sudah penuh" in response.json()["message"]
    assert "Selasa, 4 Maret 2025 (jam 09.00-10.00" in response.json()["message"]


async def test_a_second_visit_of_a_nik_names_the_first_in_full_only_to_its_signed_in_owner(
    intake: Intake,
) -> None:
    """The form's phone proves nothing: whoever knows the NIK and the phone would learn the
    number, which with the NIK's last four digits cancels or moves the visit."""
    first = (await intake.book()).json()["booking_number"]

    typed = await intake.book(date="2025-03-05")
    signed_in = await intake.client.post(
        "/v1/appointments", json=BOOKING | {"date": "2025-03-05"}, headers=intake.citizen()
    )

    assert typed.status_code == 409
    assert typed.json()["error"] == "already_booked"
    assert first not in typed.json()["message"]
    assert f"*****{first[-3:]}" in typed.json()["message"]
    assert "SMS/WhatsApp konfirmasi" in typed.json()["message"]
    assert signed_in.status_code == 409
    assert first in signed_in.json()["message"]


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"date": "2025-03-08"}, "office_closed", "akhir pekan"),
        ({"date": "2025-03-31"}, "office_closed", "hari libur nasional"),
        ({"date": "2025-03-03"}, "slot_started", "sudah dimulai"),
        ({"date": "2025-03-01"}, "date_in_past", "sudah lewat"),
        ({"date": "2025-04-03"}, "too_far_ahead", "paling lambat"),
        ({"slot": "13:00-14:00"}, "unknown_slot", "08:00-09:00"),
        ({"service_point": "KEC_SOOKO"}, "unknown_service_point", "KANTOR_DINAS"),
        ({"service_code": "KK_BARU"}, "not_in_person", "daring"),
        ({"service_code": "SIM_BARU"}, "unknown_service", "tidak dikenal"),
        ({"phone": None}, "invalid_request", "Nomor HP wajib"),
        ({"nik": "3578091204800001"}, "invalid_request", "kabupaten/kota lain"),
        ({"nik": "3516093204800001"}, "invalid_request", "NIK tidak valid"),
        ({"slot": "8-9"}, "invalid_request", "Formatnya"),
    ],
)
async def test_a_refused_booking_says_why_and_stores_nothing(
    intake: Intake, changes: dict[str, Any], error: str, reason: str
) -> None:
    response = await intake.book(**changes)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == error
    assert reason in str(response.json())
    assert intake.appointments.appointments == {}


async def test_a_counter_officer_books_without_a_phone_but_a_village_operator_may_not(
    intake: Intake,
) -> None:
    booked = await intake.client.post(
        "/v1/appointments", json=BOOKING | {"phone": None}, headers=OFFICER
    )
    operator = await intake.client.post(
        "/v1/appointments",
        json=BOOKING,
        headers=bearer("village_operator", village="3516092001"),
    )

    assert booked.status_code == 201
    assert operator.status_code == 403


async def test_availability_lists_free_places_of_the_next_working_days(intake: Intake) -> None:
    await intake.book(slot="09:00-10:00")

    response = await intake.client.get(
        "/v1/appointments/availability",
        params={"service_code": "KTP_REKAM", "service_point": "KEC_MOJOSARI", "days": 2},
    )

    assert response.status_code == 200
    days = response.json()["days"]
    assert [(day["date"], day["label"]) for day in days] == [
        ("2025-03-03", "Senin, 3 Maret 2025"),
        ("2025-03-04", "Selasa, 4 Maret 2025"),
    ]
    assert [(slot["slot"], slot["free"]) for slot in days[0]["slots"]] == [
        ("09:00-10:00", 3),
        ("10:00-11:00", 3),
        ("11:00-12:00", 3),
    ]
    assert days[1]["slots"][1] == {
        "slot": "09:00-10:00",
        "starts_at": "2025-03-04T02:00:00Z",
        "ends_at": "2025-03-04T03:00:00Z",
        "capacity": 3,
        "free": 2,
    }


async def test_availability_from_a_later_day_and_of_an_online_service(intake: Intake) -> None:
    later = await intake.client.get(
        "/v1/appointments/availability",
        params={
            "service_code": "IKD_AKTIVASI",
            "service_point": "KANTOR_DINAS",
            "from": "2025-03-07",
        },
    )
    online = await intake.client.get(
        "/v1/appointments/availability",
        params={"service_code": "KK_BARU", "service_point": "KANTOR_DINAS"},
    )

    assert [day["date"] for day in later.json()["days"]][:2] == ["2025-03-07", "2025-03-10"]
    assert online.status_code == 422
    assert online.json()["error"] == "not_in_person"


async def test_a_citizen_cancels_with_the_nik_ending_and_the_place_is_free_again(
    intake: Intake,
) -> None:
    number = (await intake.book()).json()["booking_number"]

    wrong = await intake.client.post(
        f"/v1/appointments/{number}/cancel", json={"nik_last4": "9999"}
    )
    cancelled = await intake.client.post(
        f"/v1/appointments/{number.lower()[:4]}-{number.lower()[4:]}/cancel",
        json={"nik_last4": "0001"},
    )
    again = await intake.client.post(
        f"/v1/appointments/{number}/cancel", json={"nik_last4": "0001"}
    )

    assert wrong.status_code == 404
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert again.status_code == 409
    assert again.json()["error"] == "not_active"
    assert sum(len(taken) for taken in intake.places.bookings.values()) == 0


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
async def test_a_caller_without_a_token_must_give_the_nik_ending(
    intake: Intake, action: str
) -> None:
    """Without it nothing could prove the visit is theirs: say which field, not "not found"."""
    number = (await intake.book()).json()["booking_number"]
    body = {} if action == "cancel" else {"date": "2025-03-05", "slot": "09:00-10:00"}

    answer = await intake.client.post(f"/v1/appointments/{number}/{action}", json=body)

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert [detail["field"] for detail in answer.json()["details"]] == ["nik_last4"]


async def test_a_signed_in_owner_or_the_point_s_officer_cancel_without_the_nik(
    intake: Intake,
) -> None:
    first = (await intake.book()).json()["booking_number"]
    second = (await intake.book(service_code="IKD_AKTIVASI")).json()["booking_number"]

    by_owner = await intake.client.post(
        f"/v1/appointments/{first}/cancel", json={}, headers=intake.citizen()
    )
    by_stranger = await intake.client.post(
        f"/v1/appointments/{second}/cancel", json={}, headers=intake.citizen("+6289999999999")
    )
    elsewhere = await intake.client.post(
        f"/v1/appointments/{second}/cancel",
        json={"nik_last4": "0001"},
        headers=bearer("counter_officer", service_point="KANTOR_DINAS"),
    )
    by_officer = await intake.client.post(
        f"/v1/appointments/{second}/cancel", json={}, headers=OFFICER
    )

    assert by_owner.status_code == 200
    assert by_stranger.status_code == 404
    assert elsewhere.status_code == 403
    assert by_officer.status_code == 200


async def test_rescheduling_answers_the_new_visit(intake: Intake) -> None:
    old = (await intake.book()).json()

    moved = await intake.client.post(
        f"/v1/appointments/{old['booking_number']}/reschedule",
        json={"nik_last4": "0001", "date": "2025-03-05", "slot": "10:00-11:00"},
    )
    closed = await intake.client.post(
        f"/v1/appointments/{moved.json()['booking_number']}/reschedule",
        json={"nik_last4": "0001", "date": "2025-03-09", "slot": "10:00-11:00"},
    )

    assert moved.status_code == 201, moved.text
    assert moved.json()["rescheduled_from"] == old["appointment_id"]
    assert moved.json()["schedule"] == "Rabu, 5 Maret 2025, 10.00-11.00 WIB"
    assert moved.json()["booking_number"] != old["booking_number"]
    assert closed.status_code == 422
    assert closed.json()["error"] == "office_closed"


async def test_a_visit_at_a_point_since_removed_is_still_shown_and_cancelled(
    intake: Intake,
) -> None:
    number = (await intake.book()).json()["booking_number"]
    context = intake.context
    remaining = [p for p in context.agenda.rules.service_points.all() if p.code != "KEC_MOJOSARI"]
    rules = dataclasses.replace(context.agenda.rules, service_points=ServicePoints(remaining))
    provide(
        intake.app,
        dataclasses.replace(context, agenda=dataclasses.replace(context.agenda, rules=rules)),
    )

    cancelled = await intake.client.post(
        f"/v1/appointments/{number}/cancel", json={"nik_last4": "0001"}
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["service_point"] == {
        "code": "KEC_MOJOSARI",
        "name": "KEC_MOJOSARI",
        "address": "",
    }
