"""Quiet hours, 21:00 to 06:00 in Jakarta (UTC+7): held messages go out at 06:00 WIB."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.notify.domain.quiet_hours import QuietHours
from shared.calendar import JAKARTA

QUIET = QuietHours()


def wib(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment in Jakarta, in March 2025, as the UTC instant the services keep."""
    return datetime(2025, 3, day, hour, minute, second, tzinfo=JAKARTA).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "released"),
    [
        (wib(3, 20, 59, 59), wib(3, 20, 59, 59)),
        (wib(3, 21), wib(4, 6)),
        (wib(3, 23, 30), wib(4, 6)),
        (wib(4, 0), wib(4, 6)),
        (wib(4, 5, 59, 59), wib(4, 6)),
        (wib(4, 6), wib(4, 6)),
        (wib(4, 12), wib(4, 12)),
    ],
    ids=["20:59:59", "21:00", "23:30", "midnight", "05:59:59", "06:00", "noon"],
)
def test_a_moment_in_quiet_hours_is_released_at_six_wib(
    moment: datetime, released: datetime
) -> None:
    assert QUIET.release(moment) == released
    assert QUIET.holds(moment) is (released != moment)


def test_the_boundaries_are_read_in_jakarta_not_in_utc() -> None:
    # 14:00 UTC is 21:00 WIB; 22:59:59 UTC is 05:59:59 WIB the next day.
    assert QUIET.holds(datetime(2025, 3, 3, 13, 59, 59, tzinfo=UTC)) is False
    assert QUIET.holds(datetime(2025, 3, 3, 14, 0, tzinfo=UTC)) is True
    assert QUIET.release(datetime(2025, 3, 3, 22, 59, 59, tzinfo=UTC)) == datetime(
        2025, 3, 3, 23, 0, tzinfo=UTC
    )
    assert QUIET.holds(datetime(2025, 3, 3, 23, 0, tzinfo=UTC)) is False


def test_the_release_is_kept_in_utc_like_every_stored_time() -> None:
    released = QUIET.release(wib(3, 22))

    assert released.tzinfo is UTC
    assert released == datetime(2025, 3, 3, 23, 0, tzinfo=UTC)


def test_quiet_hours_within_one_day_hold_only_between_their_ends() -> None:
    siesta = QuietHours(start=time(12, 0), end=time(13, 0))

    assert siesta.holds(wib(3, 11, 59, 59)) is False
    assert siesta.release(wib(3, 12)) == wib(3, 13)
    assert siesta.release(wib(3, 12, 59, 59)) == wib(3, 13)
    assert siesta.holds(wib(3, 13)) is False
