"""The letters section of the monthly evaluation's page, in Indonesian, set in the styles of
`monthly_report.PAGE`."""

from __future__ import annotations

from html import escape

from services.processing.letters.report import LetterSection
from services.processing.letters.report_views import HolderView, LetterSectionView


def letters_html(section: LetterSection) -> str:
    """The page's section on letters, in Indonesian."""
    view = LetterSectionView.of(section)
    summary = [
        ("Surat masuk", str(view.received)),
        ("Dibalas", str(view.answered)),
        ("Dibalas tepat waktu", _percent(view.on_time_rate)),
        ("Median sampai dibaca", _hours_text(view.median_hours_to_first_reading)),
        ("Median sampai ditindaklanjuti", _hours_text(view.median_hours_to_follow_up)),
        ("Disposisi terlambat di akhir bulan", str(view.overdue_at_month_end)),
    ]
    cards = "".join(
        f'<div class="card"><span class="label">{escape(name)}</span>'
        f'<span class="figure">{escape(value)}</span></div>'
        for name, value in summary
    )
    tables = "".join(
        _holder_table(title, holders)
        for title, holders in (
            ("Disposisi per unit", view.by_unit),
            ("Disposisi per pejabat", view.by_official),
        )
        if holders
    )
    return (
        f'<section id="letters"><h2>Persuratan dinas</h2><div class="summary">{cards}</div>'
        f"{tables}</section>"
    )


def _holder_table(title: str, holders: list[HolderView]) -> str:
    head = ["", "Dibaca", "Median sampai dibaca", "Ditindaklanjuti", "Median", "Terlambat"]
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>"
            for cell in (
                holder.key,
                str(holder.read),
                _hours_text(holder.median_hours_to_first_reading),
                str(holder.followed_up),
                _hours_text(holder.median_hours_to_follow_up),
                str(holder.overdue_at_month_end),
            )
        )
        + "</tr>"
        for holder in holders
    )
    header = "".join(f"<th>{escape(cell)}</th>" for cell in head)
    return (
        f'<section class="table"><h2>{escape(title)}</h2><table><thead><tr>{header}</tr>'
        f"</thead><tbody>{rows}</tbody></table></section>"
    )


def _percent(value: float | None) -> str:
    return "\N{EN DASH}" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _hours_text(value: float | None) -> str:
    return "\N{EN DASH}" if value is None else f"{value:.1f} jam".replace(".", ",")
