"""Which cases go ahead of the queue: the office's documented priority for urgent or vulnerable
applicants. A death certificate is needed for the funeral and the estate; an elderly applicant
(60 or older, read from the NIK's birth date) should not wait in line."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

ELDERLY_AGE = 60
URGENT_SERVICES = frozenset({"AKTA_MATI"})


class Lane(StrEnum):
    """A queue's lanes, taken in this order; within a lane, oldest first."""

    PRIORITY = "PRIORITY"
    RETURNED = "RETURNED"
    """Cases an officer released: they waited longest, so they come before new ones."""
    NORMAL = "NORMAL"


def birth_date(nik: str, today: date) -> date | None:
    """The birth date in a NIK (DDMMYY, 40 added to the day for women), or None if unreadable."""
    day, month, year = int(nik[6:8]) % 40, int(nik[8:10]), int(nik[10:12])
    century = 2000 if 2000 + year <= today.year else 1900
    try:
        return date(century + year, month, day)
    except ValueError:
        return None


def lane_for(service_code: str, nik: str, today: date) -> Lane:
    if service_code in URGENT_SERVICES:
        return Lane.PRIORITY
    born = birth_date(nik, today)
    if born is not None:
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age >= ELDERLY_AGE:
            return Lane.PRIORITY
    return Lane.NORMAL
