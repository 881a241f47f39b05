from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.calendar import JAKARTA, WorkingCalendar

CALENDAR = WorkingCalendar()
INDONESIA_2026 = holidays.country_holidays("ID", years=2026)
JOINT_HOLIDAYS_2026 = holidays.country_holidays("ID", years=2026, categories=("government",))


def wib(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def closing_time(day: date) -> time:
    """The default closing: Friday's is half an hour later."""
    return time(16, 30) if day.weekday() == 4 else time(16)


# --- Working days ---------------------------------------------------------------------------


def test_the_package_knows_the_holidays_these_tests_rely_on() -> None:
    assert INDONESIA_2026.get(date(2026, 6, 1)) == "Pancasila Day"
    assert INDONESIA_2026.get(date(2026, 8, 17)) == "Independence Day"
    assert INDONESIA_2026.get(date(2026, 5, 14)) == "Ascension Day"
    assert INDONESIA_2026.get(date(2026, 5, 27)) == "Eid al-Adha"
    assert INDONESIA_2026.get(date(2026, 6, 16)) == "Islamic New Year"
    # The joint holiday after Eid al-Adha is collective leave, not a public holiday.
    assert date(2026, 5, 28) in JOINT_HOLIDAYS_2026
    assert date(2026, 5, 28) not in INDONESIA_2026


def test_weekdays_are_working_days_and_weekends_and_public_holidays_are_not() -> None:
    assert CALENDAR.is_working_day(date(2026, 6, 2))  # Tuesday
    assert CALENDAR.is_working_day(date(2026, 6, 5))  # Friday
    assert not CALENDAR.is_working_day(date(2026, 6, 6))  # Saturday
    assert not CALENDAR.is_working_day(date(2026, 6, 7))  # Sunday
    assert not CALENDAR.is_working_day(date(2026, 6, 1))  # Pancasila Day, a Monday


def test_collective_leave_days_are_not_working_days() -> None:
    calendar = WorkingCalendar(collective_leave=JOINT_HOLIDAYS_2026)

    assert CALENDAR.is_working_day(date(2026, 5, 28))
    assert not calendar.is_working_day(date(2026, 5, 28))
    assert calendar.is_working_day(date(2026, 5, 29))


def test_holidays_are_available_for_years_far_ahead() -> None:
    assert not CALENDAR.is_working_day(date(2100, 8, 17))  # Independence Day, a Tuesday
    assert CALENDAR.is_working_day(date(2100, 8, 18))


def test_a_year_without_holiday_data_is_refused_rather_than_taken_as_holiday_free() -> None:
    with pytest.raises(ValueError, match="no Indonesian holiday data for 2101"):
        CALENDAR.is_working_day(date(2101, 3, 1))


# --- due_at ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("friday", "tuesday"),
    [
        (wib(2026, 5, 29, 10), wib(2026, 6, 2, 10)),  # Monday 1 June is Pancasila Day
        (wib(2026, 8, 14, 10), wib(2026, 8, 18, 10)),  # Monday 17 August is Independence Day
    ],
)
def test_one_working_day_from_friday_before_a_long_weekend_is_due_on_tuesday(
    friday: datetime, tuesday: datetime
) -> None:
    due = CALENDAR.due_at(friday, 1)

    assert due == tuesday
    assert due.tzinfo is UTC


def test_a_submission_on_the_weekend_starts_at_monday_s_opening() -> None:
    assert CALENDAR.due_at(wib(2026, 6, 6, 10), 1) == wib(2026, 6, 9, 8)
    assert CALENDAR.due_at(wib(2026, 6, 7, 23, 59), 1) == wib(2026, 6, 9, 8)


def test_a_submission_after_closing_starts_at_the_next_opening() -> None:
    assert CALENDAR.due_at(wib(2026, 6, 9, 17), 1) == wib(2026, 6, 11, 8)
    # Closing time itself is already after hours.
    assert CALENDAR.due_at(wib(2026, 6, 9, 16), 1) == wib(2026, 6, 11, 8)


def test_a_submission_before_opening_starts_at_that_day_s_opening() -> None:
    assert CALENDAR.due_at(wib(2026, 6, 9, 6, 30), 1) == wib(2026, 6, 10, 8)
    assert CALENDAR.due_at(wib(2026, 6, 9, 8), 1) == wib(2026, 6, 10, 8)


def test_a_submission_given_in_utc_is_read_in_jakarta_time() -> None:
    # 09:30 UTC on Tuesday is 16:30 WIB, after closing.
    tuesday_evening = datetime(2026, 6, 9, 9, 30, tzinfo=UTC)

    assert CALENDAR.due_at(tuesday_evening, 1) == wib(2026, 6, 11, 8)


def test_collective_leave_pushes_the_deadline_on() -> None:
    tuesday = wib(2026, 5, 26, 10)  # Wednesday 27 May is Eid al-Adha

    assert CALENDAR.due_at(tuesday, 1) == wib(2026, 5, 28, 10)
    assert WorkingCalendar(collective_leave={date(2026, 5, 28)}).due_at(tuesday, 1) == wib(
        2026, 5, 29, 10
    )


def test_friday_s_longer_hours_are_office_time() -> None:
    # 16:15 is after hours on Thursday, so the clock starts at Friday's opening.
    assert CALENDAR.due_at(wib(2026, 6, 11, 16, 15), 1) == wib(2026, 6, 15, 8)
    # On Friday it is office time, and five working days later is Friday again.
    assert CALENDAR.due_at(wib(2026, 6, 5, 16, 15), 5) == wib(2026, 6, 12, 16, 15)
    assert CALENDAR.working_time_between(wib(2026, 6, 12, 16), wib(2026, 6, 12, 17)) == hours(0.5)


def test_the_due_time_is_clamped_to_an_earlier_closing() -> None:
    # Friday 16:15 is open; the same clock time on Monday is after its 16:00 closing.
    assert CALENDAR.due_at(wib(2026, 6, 12, 16, 15), 1) == wib(2026, 6, 15, 16)


def test_the_due_time_is_clamped_to_a_later_opening() -> None:
    late_monday = {0: (time(10), time(16)), 4: (time(8), time(16, 30))}

    assert WorkingCalendar(office_hours=late_monday).due_at(wib(2026, 6, 12, 9), 1) == wib(
        2026, 6, 15, 10
    )


def test_five_working_days_across_a_holiday_week() -> None:
    # Thursday 14 May is Ascension Day: Tue, Wed, Fri, Mon, Tue.
    monday = wib(2026, 5, 11, 10)

    assert CALENDAR.due_at(monday, 5) == wib(2026, 5, 19, 10)
    # Friday 15 May is a joint holiday; as collective leave it moves the deadline a day.
    assert WorkingCalendar(collective_leave=JOINT_HOLIDAYS_2026).due_at(monday, 5) == wib(
        2026, 5, 20, 10
    )


def test_configured_office_hours_close_the_weekdays_they_leave_out() -> None:
    four_day_week = {weekday: (time(8), time(16)) for weekday in range(4)}

    calendar = WorkingCalendar(office_hours=four_day_week)

    assert not calendar.is_working_day(date(2026, 6, 12))
    assert calendar.due_at(wib(2026, 6, 11, 10), 1) == wib(2026, 6, 15, 10)


# --- Office time ----------------------------------------------------------------------------


def test_working_time_between_counts_only_office_hours_of_working_days() -> None:
    # Wed 14:00-16:00, Thursday (Ascension Day) nothing, Fri 8.5 h, weekend nothing, Mon 08-10.
    elapsed = CALENDAR.working_time_between(wib(2026, 5, 13, 14), wib(2026, 5, 18, 10))

    assert elapsed == hours(2 + 8.5 + 2)


def test_working_time_between_is_zero_outside_office_hours_and_backwards() -> None:
    assert CALENDAR.working_time_between(wib(2026, 6, 12, 17), wib(2026, 6, 15, 7)) == timedelta(0)
    assert CALENDAR.working_time_between(wib(2026, 6, 10, 9), wib(2026, 6, 10, 8)) == timedelta(0)
    assert CALENDAR.working_time_between(wib(2026, 6, 10, 9), wib(2026, 6, 10, 9)) == timedelta(0)


def test_add_working_time_carries_over_closings_weekends_and_holidays() -> None:
    # Fri 15:30 + 3 h: 1 h on Friday, Monday 1 June is a holiday, 2 h on Tuesday.
    assert CALENDAR.add_working_time(wib(2026, 5, 29, 15, 30), hours(3)) == wib(2026, 6, 2, 10)


def test_time_that_runs_out_at_a_closing_ends_at_the_next_opening() -> None:
    assert CALENDAR.add_working_time(wib(2026, 6, 10, 8), hours(8)) == wib(2026, 6, 11, 8)
    assert CALENDAR.add_working_time(wib(2026, 5, 29, 8), hours(8.5)) == wib(2026, 6, 2, 8)


def test_a_deadline_clamped_to_closing_resumes_at_the_next_opening() -> None:
    due = CALENDAR.due_at(wib(2026, 6, 12, 16, 15), 1)  # Monday 16:00
    paused_at = wib(2026, 6, 15, 9)

    resumed_due = CALENDAR.add_working_time(
        paused_at, CALENDAR.working_time_between(paused_at, due)
    )

    assert resumed_due == wib(2026, 6, 17, 8)  # Tuesday 16 June is Islamic New Year
    assert CALENDAR.working_time_between(due, resumed_due) == timedelta(0)


def test_add_working_time_starts_from_office_time() -> None:
    assert CALENDAR.add_working_time(wib(2026, 6, 6, 12), timedelta(0)) == wib(2026, 6, 8, 8)
    assert CALENDAR.add_working_time(wib(2026, 6, 9, 18), hours(1)) == wib(2026, 6, 10, 9)


def test_a_pause_moves_the_deadline_by_exactly_the_paused_office_time() -> None:
    submitted = wib(2026, 6, 8, 9)
    due = CALENDAR.due_at(submitted, 5)
    sent_back = wib(2026, 6, 8, 11)
    resubmitted = sent_back + timedelta(days=3)

    remaining = CALENDAR.working_time_between(sent_back, due)
    new_due = CALENDAR.add_working_time(resubmitted, remaining)

    assert due == wib(2026, 6, 15, 9)
    paused = CALENDAR.working_time_between(sent_back, resubmitted)
    assert paused == hours(5 + 8 + 8 + 3)
    assert CALENDAR.working_time_between(due, new_due) == paused
    # Tuesday 16 June (Islamic New Year) falls inside the extension.
    assert new_due == wib(2026, 6, 19, 9)


# --- Fractions ------------------------------------------------------------------------------


def test_fraction_elapsed_measures_office_time_of_the_window() -> None:
    start = wib(2026, 6, 8, 8)
    due = CALENDAR.due_at(start, 5)  # Monday 15 June 08:00, 40.5 office hours later

    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 6, 1, 9)) == 0.0
    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 6, 10, 12, 15)) == 0.5
    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 6, 12, 8, 24)) == 0.8
    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 6, 12, 12)) == 36 / 40.5
    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 7, 1, 9)) == 1.0


def test_at_fraction_is_when_that_share_of_office_time_has_elapsed() -> None:
    start = wib(2026, 6, 8, 8)
    due = CALENDAR.due_at(start, 5)

    assert CALENDAR.at_fraction(start, due, 0.5) == wib(2026, 6, 10, 12, 15)
    assert CALENDAR.at_fraction(start, due, 0.8) == wib(2026, 6, 12, 8, 24)
    assert CALENDAR.at_fraction(start, due, 0.0) == start
    # The window's office time is all used at Friday's closing; in office time that is the
    # deadline, Monday's opening.
    assert CALENDAR.fraction_elapsed(start, due, wib(2026, 6, 12, 16, 30)) == 1.0
    assert CALENDAR.at_fraction(start, due, 1.0) == due


def test_at_fraction_one_is_the_deadline_when_it_falls_in_office_hours() -> None:
    start = wib(2026, 6, 8, 10)
    due = CALENDAR.due_at(start, 5)

    assert CALENDAR.at_fraction(start, due, 1.0) == due == wib(2026, 6, 15, 10)


def test_a_window_without_office_time_is_over_when_it_is_due() -> None:
    saturday, sunday = wib(2026, 6, 6, 9), wib(2026, 6, 7, 9)

    assert CALENDAR.fraction_elapsed(saturday, sunday, wib(2026, 6, 6, 10)) == 0.0
    assert CALENDAR.fraction_elapsed(saturday, sunday, sunday) == 1.0
    assert CALENDAR.at_fraction(saturday, sunday, 0.5) == sunday


# --- Invalid input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("office_hours", "message"),
    [
        ({0: (time(16), time(8))}, "close .* before they open"),
        ({0: (time(8), time(8))}, "close .* before they open"),
        ({7: (time(8), time(16))}, "weekday must be 0"),
        ({0: (time(8, tzinfo=UTC), time(16))}, "without a time zone"),
        ({}, "at least one weekday"),
    ],
)
def test_invalid_office_hours_are_refused(
    office_hours: dict[int, tuple[time, time]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(office_hours=office_hours)


def test_collective_leave_given_as_datetimes_is_refused() -> None:
    with pytest.raises(ValueError, match="dates, not datetimes"):
        WorkingCalendar(collective_leave=[datetime(2026, 5, 28, tzinfo=JAKARTA)])


@pytest.mark.parametrize("working_days", [0, -1])
def test_a_service_of_fewer_than_one_working_day_is_refused(working_days: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CALENDAR.due_at(wib(2026, 6, 8, 9), working_days)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.due_at(datetime(2026, 6, 8, 9), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.working_time_between(datetime(2026, 6, 8, 9), wib(2026, 6, 9, 9))


def test_negative_durations_fractions_out_of_range_and_reversed_windows_are_refused() -> None:
    start, due = wib(2026, 6, 8, 9), wib(2026, 6, 9, 9)
    with pytest.raises(ValueError, match="must not be negative"):
        CALENDAR.add_working_time(start, -hours(1))
    for fraction in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            CALENDAR.at_fraction(start, due, fraction)
    with pytest.raises(ValueError, match="is before start"):
        CALENDAR.fraction_elapsed(due, start, due)


# --- Properties -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
working_days = st.integers(min_value=1, max_value=30)


@st.composite
def office_instants(draw: st.DrawFn) -> datetime:
    day = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)).filter(CALENDAR.is_working_day))
    opening = datetime.combine(day, time(8), tzinfo=JAKARTA)
    closing = datetime.combine(day, closing_time(day), tzinfo=JAKARTA)
    span = (closing - opening) // timedelta(microseconds=1)
    return opening + timedelta(microseconds=draw(st.integers(0, span - 1)))


@given(b=office_instants(), gap=st.timedeltas(timedelta(0), timedelta(days=60)))
@example(b=wib(2025, 7, 1, 8), gap=timedelta(days=1))  # b at an opening, a full day earlier
def test_adding_the_office_time_between_two_instants_gives_back_the_later(
    b: datetime, gap: timedelta
) -> None:
    a = b - gap

    assert CALENDAR.add_working_time(a, CALENDAR.working_time_between(a, b)) == b


@given(a=instants, b=instants, c=instants)
def test_office_time_between_instants_adds_up(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))

    assert CALENDAR.working_time_between(a, c) == CALENDAR.working_time_between(
        a, b
    ) + CALENDAR.working_time_between(b, c)


@given(start=instants, days=working_days)
def test_a_deadline_is_inside_office_hours_of_a_working_day_after_the_start(
    start: datetime, days: int
) -> None:
    due = CALENDAR.due_at(start, days).astimezone(JAKARTA)

    assert due > start
    assert CALENDAR.is_working_day(due.date())
    assert time(8) <= due.time() <= closing_time(due.date())
    assert CALENDAR.working_time_between(start, due) >= hours(8) * (days - 1)


@given(first=instants, second=instants, days=working_days)
def test_a_later_start_never_gives_an_earlier_deadline(
    first: datetime, second: datetime, days: int
) -> None:
    earlier, later = sorted((first, second))

    assert CALENDAR.due_at(earlier, days) <= CALENDAR.due_at(later, days)


@given(start=instants, days=working_days, fraction=st.floats(0.0, 1.0))
def test_a_timer_at_a_fraction_fires_once_that_fraction_has_elapsed_and_not_later(
    start: datetime, days: int, fraction: float
) -> None:
    due = CALENDAR.due_at(start, days)

    moment = CALENDAR.at_fraction(start, due, fraction)

    assert start <= moment <= due
    assert CALENDAR.fraction_elapsed(start, due, moment) >= fraction
    # No office time is left over: a microsecond less would not have reached the fraction.
    total = CALENDAR.working_time_between(start, due)
    elapsed = CALENDAR.working_time_between(start, moment)
    if elapsed > timedelta(0):
        assert (elapsed - timedelta(microseconds=1)) / total < fraction
