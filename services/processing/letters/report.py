"""The letters section of the monthly evaluation, read from the letters themselves.

A month's letters are few (tens a day at most), so the section is computed from the letters of
the month's year and the year before rather than kept as counters: received and answered in the
month, answered by the deadline, the median office time from a disposition to its first reading
and to its follow-up, and the dispositions overdue at the month's end (or now), by unit and by
official. Withdrawn dispositions count nowhere: they were never anyone's to act on.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from services.processing.domain.report import OfficeTime, month_of
from services.processing.letters.domain.dispositions import Disposition, DispositionState
from services.processing.letters.domain.letter import Letter


@dataclass(frozen=True)
class HolderFigures:
    """One unit's or official's dispositions in the month."""

    key: str
    read: int
    median_to_first_reading_s: float | None
    followed_up: int
    median_to_follow_up_s: float | None
    overdue_at_month_end: int


@dataclass(frozen=True)
class LetterSection:
    month: str
    as_of: datetime
    received: int
    answered: int
    answered_on_time: int
    on_time_rate: float | None
    median_to_first_reading_s: float | None
    median_to_follow_up_s: float | None
    overdue_at_month_end: int
    by_unit: list[HolderFigures]
    by_official: list[HolderFigures]


def letter_section(
    letters: Iterable[Letter], *, month: str, as_of: datetime, calendar: OfficeTime
) -> LetterSection:
    """The month's figures; `as_of` is the month's last instant, or now for the current month."""
    letters = list(letters)
    answered = [
        letter
        for letter in letters
        if letter.reply is not None and month_of(letter.reply.registered_at) == month
    ]
    on_time = sum(1 for letter in answered if _answered_on_time(letter))
    dispositions = [
        (letter, disposition)
        for letter in letters
        for disposition in letter.dispositions.values()
        if disposition.state is not DispositionState.WITHDRAWN
    ]
    reading = [
        (d, calendar.working_time_between(d.sent_at, d.read_at).total_seconds())
        for _, d in dispositions
        if d.read_at is not None and month_of(d.read_at) == month
    ]
    following = [
        (d, calendar.working_time_between(d.sent_at, d.followed_up_at).total_seconds())
        for _, d in dispositions
        if d.followed_up_at is not None and month_of(d.followed_up_at) == month
    ]
    overdue = [d for letter, d in dispositions if _overdue_at(letter, d, as_of)]
    return LetterSection(
        month=month,
        as_of=as_of,
        received=sum(1 for letter in letters if month_of(letter.received_at) == month),
        answered=len(answered),
        answered_on_time=on_time,
        on_time_rate=None if not answered else on_time / len(answered),
        median_to_first_reading_s=_median(seconds for _, seconds in reading),
        median_to_follow_up_s=_median(seconds for _, seconds in following),
        overdue_at_month_end=len(overdue),
        by_unit=_by(lambda d: d.to.unit, reading, following, overdue),
        by_official=_by(lambda d: d.to.id, reading, following, overdue),
    )


def _answered_on_time(letter: Letter) -> bool:
    return letter.reply is not None and letter.reply.registered_at <= letter.due_at


def _overdue_at(letter: Letter, disposition: Disposition, moment: datetime) -> bool:
    """Whether the disposition was past its deadline and still waiting for its holder then."""
    done = [disposition.followed_up_at, disposition.closed_at, letter.closed_at]
    return (
        disposition.sent_at <= moment
        and disposition.due_at <= moment
        and not any(at is not None and at <= moment for at in done)
    )


def _by(
    key_of: Callable[[Disposition], str],
    reading: list[tuple[Disposition, float]],
    following: list[tuple[Disposition, float]],
    overdue: list[Disposition],
) -> list[HolderFigures]:
    keys = sorted(
        {key_of(d) for d, _ in reading}
        | {key_of(d) for d, _ in following}
        | {key_of(d) for d in overdue}
    )
    figures = []
    for key in keys:
        read = [seconds for d, seconds in reading if key_of(d) == key]
        followed = [seconds for d, seconds in following if key_of(d) == key]
        figures.append(
            HolderFigures(
                key=key,
                read=len(read),
                median_to_first_reading_s=_median(read),
                followed_up=len(followed),
                median_to_follow_up_s=_median(followed),
                overdue_at_month_end=sum(1 for d in overdue if key_of(d) == key),
            )
        )
    return sorted(figures, key=lambda figure: (-figure.overdue_at_month_end, figure.key))


def _median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None
