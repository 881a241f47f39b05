"""How the report writes its figures, Indonesian style: 1.234.567, 12,5%, 3,5 jam, and a dash
for a figure that does not exist yet."""

from __future__ import annotations

from shared.wib import MONTHS

NONE = "\N{EN DASH}"


def month_name(month: str) -> str:
    return f"{MONTHS[int(month[5:]) - 1]} {month[:4]}"


def number(value: float, decimals: int = 0) -> str:
    """Indonesian style: 1.234.567 and 12,5."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def percent(value: float | None) -> str:
    return NONE if value is None else f"{number(value * 100, 1)}%"


def hours(seconds: float | None) -> str:
    return NONE if seconds is None else f"{number(seconds / 3600, 1)} jam"


def share(rate: float | None, whole: int, of: str) -> str:
    """A rate with what it is a share of: `13,8% dari 29 permohonan diterima bulan ini`."""
    if whole == 0:
        return f"belum ada {of}"
    return f"{percent(rate)} dari {number(whole)} {of}"


def counted(part: int, rate: float | None) -> str:
    """A count and its rate, for a table cell: `4 (13,8%)`."""
    return f"{number(part)} ({percent(rate)})"
