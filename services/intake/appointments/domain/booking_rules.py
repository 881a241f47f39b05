"""When a visit may be booked: a working day, not in the past, not begun, within the horizon."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.intake.appointments.domain.places import (
    FreeDay,
    FreeSlot,
    ServicePoint,
    ServicePoints,
    SlotKey,
    Visit,
    local_day,
    visit,
)
from services.intake.appointments.domain.refusals import (
    DateInPast,
    NotOfferedHere,
    OfficeClosed,
    SlotStarted,
    TooFarAhead,
)
from shared.calendar import WorkingCalendar


@dataclass(frozen=True)
class BookingRules:
    """When visits may be booked: the service points, the office calendar and the horizon."""

    service_points: ServicePoints
    calendar: WorkingCalendar
    horizon_days: int = 30
    holding_timeout: timedelta = timedelta(minutes=1)
    """A booking still unconfirmed this long after it began was interrupted: its place and the
    citizen's hold may be given to others."""

    def plan(
        self, *, service_code: str, service_point: str, day: date, slot: str, now: datetime
    ) -> Visit:
        """The visit asked for, or a refusal saying why it cannot be booked."""
        point = self.point_for(service_code, service_point)
        time_slot = point.slot(slot)
        if day < local_day(now):
            raise DateInPast(day)
        if day > self.last_day(now):
            raise TooFarAhead(self.last_day(now))
        if not self.calendar.is_working_day(day):
            raise OfficeClosed(day)
        chosen = visit(point, day, time_slot)
        if chosen.starts_at <= now:
            raise SlotStarted(chosen)
        return chosen

    def point_for(self, service_code: str, service_point: str) -> ServicePoint:
        """The service point, if it offers the service."""
        point = self.service_points.get(service_point)
        if service_code not in point.services:
            elsewhere = [other.name for other in self.service_points.offering(service_code)]
            raise NotOfferedHere(service_code, point, elsewhere)
        return point

    def last_day(self, now: datetime) -> date:
        """The furthest day a visit may be booked for."""
        return local_day(now) + timedelta(days=self.horizon_days)

    def bookable_days(self, *, start: date, now: datetime) -> list[date]:
        """Working days from `start` (today at the earliest) to the end of the horizon."""
        day = max(start, local_day(now))
        days = []
        while day <= self.last_day(now):
            if self.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def places(
        self,
        point: ServicePoint,
        days: Iterable[date],
        booked: Mapping[SlotKey, int],
        now: datetime,
    ) -> list[FreeDay]:
        """Every slot of `days` not yet begun, with its free places (zero when full)."""
        result = []
        for day in days:
            slots = tuple(
                FreeSlot(visit=chosen, free=max(0, chosen.capacity - booked.get(chosen.key, 0)))
                for slot in point.slots
                if (chosen := visit(point, day, slot)).starts_at > now
            )
            if slots:
                result.append(FreeDay(day=day, slots=slots))
        return result

    def next_free_days(
        self,
        point: ServicePoint,
        booked: Mapping[SlotKey, int],
        *,
        now: datetime,
        start: date | None = None,
        limit: int = 3,
    ) -> list[FreeDay]:
        """The first `limit` working days with a free place, each with its free slots only."""
        days = self.bookable_days(start=start or local_day(now), now=now)
        free = []
        for day in self.places(point, days, booked, now):
            slots = tuple(slot for slot in day.slots if slot.free > 0)
            if slots:
                free.append(FreeDay(day=day.day, slots=slots))
            if len(free) == limit:
                break
        return free
