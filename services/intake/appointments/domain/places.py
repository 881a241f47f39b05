"""Service points, the slots they open every working day, and the visits and free places those
slots offer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from services.intake.appointments.domain.refusals import (
    BookingConflict,
    UnknownServicePoint,
    UnknownSlot,
)
from shared.calendar import JAKARTA
from shared.wib import day_label, hours_label, slot_label


@dataclass(frozen=True)
class TimeSlot:
    """A slot of every working day, in Jakarta clock time; its places are shared by the point's
    services."""

    start: time
    end: time
    capacity: int

    @property
    def code(self) -> str:
        """How the API names the slot: `08:00-09:00`."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ServicePoint:
    """An office where citizens come for in-person services."""

    code: str
    name: str
    address: str
    services: frozenset[str]
    slots: tuple[TimeSlot, ...]

    def slot(self, code: str) -> TimeSlot:
        for slot in self.slots:
            if slot.code == code:
                return slot
        raise UnknownSlot(self, code)


class ServicePoints:
    """Every service point, by code."""

    def __init__(self, points: Iterable[ServicePoint]) -> None:
        self._by_code = {point.code: point for point in points}

    def get(self, code: str) -> ServicePoint:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownServicePoint(code, sorted(self._by_code)) from None

    def all(self) -> list[ServicePoint]:
        return sorted(self._by_code.values(), key=lambda point: point.code)

    def offering(self, service_code: str) -> list[ServicePoint]:
        return [point for point in self.all() if service_code in point.services]


@dataclass(frozen=True, order=True)
class SlotKey:
    """One slot of one day at one service point: what its places are counted by."""

    service_point: str
    day: date
    slot: str


@dataclass(frozen=True)
class Visit:
    """A bookable slot on a given day, with its instants in UTC."""

    key: SlotKey
    starts_at: datetime
    ends_at: datetime
    capacity: int

    def label(self) -> str:
        return slot_label(self.starts_at, self.ends_at)


def visit(point: ServicePoint, day: date, slot: TimeSlot) -> Visit:
    return Visit(
        key=SlotKey(service_point=point.code, day=day, slot=slot.code),
        starts_at=_instant(day, slot.start),
        ends_at=_instant(day, slot.end),
        capacity=slot.capacity,
    )


def _instant(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=JAKARTA).astimezone(UTC)


@dataclass(frozen=True)
class FreeSlot:
    visit: Visit
    free: int


@dataclass(frozen=True)
class FreeDay:
    day: date
    slots: tuple[FreeSlot, ...]


def describe_free_days(free_days: list[FreeDay]) -> str:
    """The nearest days with places, as a citizen reads them (also by SMS)."""
    if not free_days:
        return "Tidak ada tempat kosong dalam jangka waktu pemesanan; pilih tempat layanan lain."
    days = "; ".join(
        f"{day_label(free.day)} (jam "
        + ", ".join(hours_label(slot.visit.starts_at, slot.visit.ends_at) for slot in free.slots)
        + ")"
        for free in free_days
    )
    return f"Hari terdekat yang masih ada tempat: {days}."


class SlotFull(BookingConflict):
    """No place left in the slot; `free_days` are the nearest days that still have one."""

    code = "slot_full"

    def __init__(self, visit: Visit, point: ServicePoint, free_days: list[FreeDay]) -> None:
        self.visit = visit
        self.free_days = free_days
        super().__init__(
            f"Jam {visit.label()} di {point.name} sudah penuh. {describe_free_days(free_days)}"
        )


def local_day(now: datetime) -> date:
    """The office's calendar day (WIB) of an instant."""
    return now.astimezone(JAKARTA).date()
