"""Dates and times as a citizen reads them: Indonesian names, Jakarta time (WIB), and the full
stop Indonesian clocks use (08.00)."""

from __future__ import annotations

from datetime import date, datetime

from shared.calendar import JAKARTA

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def day_label(day: date | datetime) -> str:
    """`Senin, 7 Desember 2026`; an instant is first moved to Jakarta."""
    if isinstance(day, datetime):
        day = day.astimezone(JAKARTA).date()
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def moment_label(moment: datetime) -> str:
    """`Selasa, 4 Maret 2025 pukul 16.00 WIB`."""
    return f"{day_label(moment)} pukul {moment.astimezone(JAKARTA):%H.%M} WIB"


def hours_label(starts_at: datetime, ends_at: datetime) -> str:
    """`08.00-09.00`, in WIB."""
    return f"{starts_at.astimezone(JAKARTA):%H.%M}-{ends_at.astimezone(JAKARTA):%H.%M}"


def slot_label(starts_at: datetime, ends_at: datetime) -> str:
    """`Senin, 7 Desember 2026, 08.00-09.00 WIB`."""
    return f"{day_label(starts_at)}, {hours_label(starts_at, ends_at)} WIB"
