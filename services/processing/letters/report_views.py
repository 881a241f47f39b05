"""The letters section of the monthly evaluation as the report serves it: JSON fields and its own
CSV (its part of the HTML page is `services/processing/templates/letters_section.py`)."""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel, Field

from services.processing.letters.report import HolderFigures, LetterSection


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


class HolderView(BaseModel):
    key: str = Field(description="The unit (service point) or the official's `sub`.")
    read: int = Field(description="Dispositions first read in the month.")
    median_hours_to_first_reading: float | None
    followed_up: int = Field(description="Dispositions followed up in the month.")
    median_hours_to_follow_up: float | None
    overdue_at_month_end: int

    @classmethod
    def of(cls, figures: HolderFigures) -> HolderView:
        return cls(
            key=figures.key,
            read=figures.read,
            median_hours_to_first_reading=_hours(figures.median_to_first_reading_s),
            followed_up=figures.followed_up,
            median_hours_to_follow_up=_hours(figures.median_to_follow_up_s),
            overdue_at_month_end=figures.overdue_at_month_end,
        )


class LetterSectionView(BaseModel):
    """Official letters in the month; times are office hours from the disposition."""

    received: int
    answered: int
    answered_on_time: int
    on_time_rate: float | None = Field(description="Answered by the deadline, of answered.")
    median_hours_to_first_reading: float | None
    median_hours_to_follow_up: float | None
    overdue_at_month_end: int = Field(
        description="Dispositions past their deadline and not followed up at the month's end "
        "(or now, for the current month)."
    )
    by_unit: list[HolderView]
    by_official: list[HolderView]

    @classmethod
    def of(cls, section: LetterSection) -> LetterSectionView:
        return cls(
            received=section.received,
            answered=section.answered,
            answered_on_time=section.answered_on_time,
            on_time_rate=section.on_time_rate,
            median_hours_to_first_reading=_hours(section.median_to_first_reading_s),
            median_hours_to_follow_up=_hours(section.median_to_follow_up_s),
            overdue_at_month_end=section.overdue_at_month_end,
            by_unit=[HolderView.of(figures) for figures in section.by_unit],
            by_official=[HolderView.of(figures) for figures in section.by_official],
        )


LETTER_CSV_COLUMNS = [
    "scope",
    "key",
    "received",
    "answered",
    "answered_on_time",
    "on_time_rate",
    "read",
    "median_hours_to_first_reading",
    "followed_up",
    "median_hours_to_follow_up",
    "overdue_at_month_end",
]


def letters_csv(section: LetterSection) -> str:
    """A header, the office's row, then one row per unit and per official."""
    view = LetterSectionView.of(section)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LETTER_CSV_COLUMNS)
    writer.writerow(
        [
            "total",
            "ALL",
            view.received,
            view.answered,
            view.answered_on_time,
            _cell(view.on_time_rate),
            "",
            _cell(view.median_hours_to_first_reading),
            "",
            _cell(view.median_hours_to_follow_up),
            view.overdue_at_month_end,
        ]
    )
    for scope, holders in (("unit", view.by_unit), ("official", view.by_official)):
        for holder in holders:
            writer.writerow(
                [
                    scope,
                    holder.key,
                    "",
                    "",
                    "",
                    "",
                    holder.read,
                    _cell(holder.median_hours_to_first_reading),
                    holder.followed_up,
                    _cell(holder.median_hours_to_follow_up),
                    holder.overdue_at_month_end,
                ]
            )
    return out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
