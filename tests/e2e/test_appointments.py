"""Visits for in-person services through the running backend: booking, racing for the last
place, cancelling and rescheduling (told to the phone the visit was booked with), and the days
the office is closed.

Each test books on its own service point, day or slot and its own NIKs, so that the tests do not
share places; days come from the office calendar the services use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from devstack.stack import Stack
from services.intake.config import IntakeSettings
from shared.calendar import JAKARTA, WorkingCalendar
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.mongo import Document
from tests.e2e.conftest import audit_entries, sign_in, sink_messages
from tests.polling import eventually

HORIZON_DAYS = 30
RACERS = 20


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    """The calendar the services use: the same settings, the same collective leave."""
    return IntakeSettings().calendar()


def working_days(calendar: WorkingCalendar) -> Iterator[date]:
    """Working days after today (WIB), within the booking horizon."""
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    for offset in range(1, HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        if calendar.is_working_day(day):
            yield day


def nik(serial: int) -> str:
    """A valid NIK of the regency, one per serial."""
    return f"351609120480{serial:04d}"


def booking(**changes: Any) -> dict[str, Any]:
    return {
        "service_code": "KTP_REKAM",
        "service_point": "KANTOR_DINAS",
        "slot": "10:00-11:00",
        "nik": nik(7001),
        "name": "Dewi Lestari",
        "phone": "085700007001",
        "preferred_channel": "WHATSAPP",
    } | changes


async def free_places(
    http: httpx.AsyncClient, backend: Stack, *, point: str, day: date, slot: str
) -> int:
    response = await http.get(
        f"{backend.service_url('intake')}/v1/appointments/availability",
        params={"service_code": "KTP_REKAM", "service_point": point, "from": str(day), "days": 1},
    )
    assert response.status_code == 200, response.text
    [shown] = response.json()["days"]
    assert shown["date"] == str(day)
    [found] = [place for place in shown["slots"] if place["slot"] == slot]
    free: int = found["free"]
    return free


async def audited(
    http: httpx.AsyncClient, backend: Stack, subject: str, event_type: str
) -> list[dict[str, Any]]:
    async def entries() -> list[dict[str, Any]] | None:
        # Notify's confirmation of a booked visit is audited under its id too.
        found = await audit_entries(http, backend, subject=subject)
        return [e for e in found if e["event_type"] == event_type] or None

    return await eventually(entries, what=f"{event_type} of {subject} in the audit log")


async def told(
    http: httpx.AsyncClient, backend: Stack, phone: str, template: str
) -> dict[str, Any]:
    """The one WhatsApp message of this approved template that reached `phone`."""

    async def found() -> list[dict[str, Any]] | None:
        return [
            m
            for m in await sink_messages(http, backend)
            if m["to"] == phone and (m["template"] or {}).get("name") == template
        ] or None

    [message] = await eventually(found, what=f"{template} to {phone} at the message sink")
    return message


async def test_a_booked_visit_is_answered_and_audited_without_personal_data(
    backend: Stack, http: httpx.AsyncClient, calendar: WorkingCalendar
) -> None:
    day = next(working_days(calendar))

    response = await http.post(
        f"{backend.service_url('intake')}/v1/appointments",
        json=booking(date=str(day), service_code="IKD_AKTIVASI"),
    )

    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["service_point"]["code"] == "KANTOR_DINAS"
    assert visit["schedule"].endswith("10.00-11.00 WIB")
    assert datetime.fromisoformat(visit["starts_at"]) == datetime.combine(day, time(10), JAKARTA)
    [entry] = await audited(http, backend, visit["appointment_id"], AppointmentBooked.event_type)
    assert entry["data"]["booking_number"] == visit["booking_number"]
    logged = str(entry)
    assert nik(7001) not in logged
    assert "Dewi" not in logged
    assert "85700007001" not in logged


async def test_of_many_citizens_racing_for_the_last_place_exactly_one_gets_it(
    backend: Stack,
    http: httpx.AsyncClient,
    calendar: WorkingCalendar,
    intake_db: Database[Document],
) -> None:
    intake = backend.service_url("intake")
    day = list(working_days(calendar))[1]
    slot = {"service_point": "KEC_MOJOSARI", "date": str(day), "slot": "11:00-12:00"}
    free = await free_places(http, backend, point="KEC_MOJOSARI", day=day, slot="11:00-12:00")
    for serial in range(free - 1):
        filled = await http.post(
            f"{intake}/v1/appointments", json=booking(**slot, nik=nik(7100 + serial))
        )
        assert filled.status_code == 201, filled.text
    stored_before = intake_db["appointments"].count_documents({})

    async with httpx.AsyncClient(timeout=30) as racing:
        answers = await asyncio.gather(
            *(
                racing.post(
                    f"{intake}/v1/appointments", json=booking(**slot, nik=nik(7200 + racer))
                )
                for racer in range(RACERS)
            )
        )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409, 503}, statuses
    for refused in (answer.json() for answer in answers if answer.status_code == 409):
        assert refused["error"] == "slot_full"
        assert "sudah penuh" in refused["message"]
        assert "Hari terdekat yang masih ada tempat" in refused["message"]
    # Beyond the requests intake admits at once, the rest are told to come back.
    busy = [answer for answer in answers if answer.status_code == 503]
    assert all(answer.json()["error"] == "busy" for answer in busy), [a.json() for a in busy]
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in busy)
    left = await free_places(http, backend, point="KEC_MOJOSARI", day=day, slot="11:00-12:00")
    assert left == 0
    assert intake_db["appointments"].count_documents({}) == stored_before + 1


async def test_a_nik_holds_one_visit_per_service_named_in_full_only_to_its_signed_in_owner(
    backend: Stack, http: httpx.AsyncClient, calendar: WorkingCalendar
) -> None:
    """Typing the owner's phone into the form proves nothing; signing in with it does."""
    intake = backend.service_url("intake")
    first_day, second_day = list(working_days(calendar))[2:4]
    phone = "085700007301"
    first = await http.post(
        f"{intake}/v1/appointments",
        json=booking(date=str(first_day), nik=nik(7301), phone=phone),
    )
    again = booking(date=str(second_day), nik=nik(7301), phone=phone)

    typed = await http.post(f"{intake}/v1/appointments", json=again)
    owner = await sign_in(http, backend, "+6285700007301")
    signed_in = await http.post(f"{intake}/v1/appointments", json=again, headers=owner)

    assert first.status_code == 201, first.text
    number = first.json()["booking_number"]
    assert typed.status_code == 409, typed.text
    assert typed.json()["error"] == "already_booked"
    assert number not in typed.json()["message"]
    assert f"*****{number[-3:]}" in typed.json()["message"]
    assert signed_in.status_code == 409, signed_in.text
    assert number in signed_in.json()["message"]


async def test_cancelling_frees_the_place_is_audited_and_told_to_the_booking_s_phone(
    backend: Stack, http: httpx.AsyncClient, calendar: WorkingCalendar
) -> None:
    intake = backend.service_url("intake")
    day = list(working_days(calendar))[2]

    async def free_at_one_pm() -> int:
        return await free_places(http, backend, point="MPP_MOJOKERTO", day=day, slot="13:00-14:00")

    free = await free_at_one_pm()
    booked = await http.post(
        f"{intake}/v1/appointments",
        json=booking(
            service_point="MPP_MOJOKERTO",
            date=str(day),
            slot="13:00-14:00",
            nik=nik(7401),
            phone="085700007401",
        ),
    )
    assert booked.status_code == 201, booked.text
    assert await free_at_one_pm() == free - 1
    number = booked.json()["booking_number"]

    cancelled = await http.post(
        f"{intake}/v1/appointments/{number}/cancel", json={"nik_last4": "7401"}
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert await free_at_one_pm() == free
    await audited(http, backend, booked.json()["appointment_id"], AppointmentCancelled.event_type)
    message = await told(http, backend, "+6285700007401", "adminduk_pembatalan_kunjungan")
    assert number in message["text"]
    assert "telah dibatalkan" in message["text"]


async def test_rescheduling_books_the_new_slot_cancels_the_old_and_is_told_as_a_move(
    backend: Stack, http: httpx.AsyncClient, calendar: WorkingCalendar
) -> None:
    intake = backend.service_url("intake")
    first_day, later_day = list(working_days(calendar))[3:5]
    old = await http.post(
        f"{intake}/v1/appointments",
        json=booking(date=str(first_day), slot="14:00-15:00", nik=nik(7501), phone="085700007501"),
    )
    assert old.status_code == 201, old.text

    new = await http.post(
        f"{intake}/v1/appointments/{old.json()['booking_number']}/reschedule",
        json={"nik_last4": "7501", "date": str(later_day), "slot": "15:00-16:00"},
    )

    assert new.status_code == 201, new.text
    assert new.json()["rescheduled_from"] == old.json()["appointment_id"]
    assert new.json()["date"] == str(later_day)
    [booked] = await audited(
        http, backend, new.json()["appointment_id"], AppointmentBooked.event_type
    )
    assert booked["data"]["rescheduled_from"] == old.json()["appointment_id"]
    entries = await audited(
        http, backend, old.json()["appointment_id"], AppointmentCancelled.event_type
    )
    [cancelled] = [e for e in entries if e["event_type"] == AppointmentCancelled.event_type]
    assert cancelled["data"]["rescheduled_to"] == new.json()["appointment_id"]
    message = await told(http, backend, "+6285700007501", "adminduk_perubahan_jadwal_kunjungan")
    assert new.json()["booking_number"] in message["text"]
    assert new.json()["schedule"] in message["text"]


async def test_a_day_the_office_is_closed_is_refused_with_the_reason(
    backend: Stack, http: httpx.AsyncClient, calendar: WorkingCalendar
) -> None:
    intake = backend.service_url("intake")
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    horizon = [today + timedelta(days=offset) for offset in range(1, HORIZON_DAYS + 1)]
    saturday = next(day for day in horizon if day.weekday() == 5)
    holidays = [day for day in horizon if day.weekday() < 5 and not calendar.is_working_day(day)]

    for day, reason in [(saturday, "akhir pekan")] + [(h, "hari libur") for h in holidays]:
        response = await http.post(
            f"{intake}/v1/appointments", json=booking(date=str(day), nik=nik(7601))
        )

        assert response.status_code == 422, response.text
        assert response.json()["error"] == "office_closed"
        assert reason in response.json()["message"]
