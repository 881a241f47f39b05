"""The monthly integrity summary as one self-contained HTML page: Indonesian headings, inline SVG
bar charts, no scripts, styles or images from anywhere else, every text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from services.audit.domain.alerts import AlertStatus, ServicePointSummary
from services.audit.domain.integrity.findings import Rule

RULE_LABELS = {
    Rule.QUEUE_JUMP: "Menyerobot antrean",
    Rule.DEADLINE_BREACH: "Batas waktu terlampaui",
    Rule.BREACH_PATTERN: "Pola pelanggaran batas waktu",
    Rule.SELF_DEALING: "Memproses permohonan sendiri/keluarga",
    Rule.OFF_HOURS: "Tindakan di luar jam layanan",
    Rule.BULK_READS: "Membaca banyak kasus tanpa penugasan",
    Rule.REPEATED_SEND_BACKS: "Pengembalian berulang",
    Rule.ILLEGAL_FEE: "Pengaduan pungutan liar",
}
STATUS_LABELS = {
    AlertStatus.OPEN: "Terbuka",
    AlertStatus.ACKNOWLEDGED: "Ditindaklanjuti",
    AlertStatus.RESOLVED: "Selesai",
}
BAR_HEIGHT = 22
LABEL_WIDTH = 300
BAR_WIDTH = 360


def render_summary(month: str, summaries: Sequence[ServicePointSummary]) -> str:
    sections = "\n".join(_section(summary) for summary in summaries) or (
        "<p>Tidak ada peringatan integritas pada bulan ini.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>Ringkasan Integritas {escape(month)}</title>
<style>
body {{ font-family: sans-serif; margin: 2rem; color: #1a1a1a; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border: 1px solid #999; padding: 0.25rem 0.6rem; text-align: left; }}
</style>
</head>
<body>
<h1>Ringkasan Integritas Bulanan</h1>
<p>Bulan: {escape(month)}</p>
{sections}
</body>
</html>
"""


def _section(summary: ServicePointSummary) -> str:
    statuses = "".join(
        f"<tr><th>{STATUS_LABELS[status]}</th><td>{count}</td></tr>"
        for status, count in summary.by_status.items()
    )
    return f"""<section>
<h2>Tempat layanan: {escape(summary.service_point)}</h2>
<h3>Peringatan per aturan (jumlah {summary.total})</h3>
{_bars(summary)}
<h3>Status peringatan</h3>
<table>{statuses}
<tr><th>Median waktu penyelesaian</th><td>{_duration(summary.median_resolve_s)}</td></tr>
<tr><th>Waktu penyelesaian terlama</th><td>{_duration(summary.max_resolve_s)}</td></tr>
</table>
</section>"""


def _bars(summary: ServicePointSummary) -> str:
    largest = max(summary.by_rule.values(), default=0) or 1
    rows = []
    for position, (rule, count) in enumerate(summary.by_rule.items()):
        y = position * BAR_HEIGHT
        width = round(BAR_WIDTH * count / largest)
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="13">{RULE_LABELS[rule]}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{BAR_HEIGHT - 6}" '
            f'fill="#b03a2e"><title>{RULE_LABELS[rule]}: {count}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" font-size="13">{count}</text>'
        )
    height = BAR_HEIGHT * len(rows)
    total_width = LABEL_WIDTH + BAR_WIDTH + 40
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{total_width}" '
        f'height="{height}" viewBox="0 0 {total_width} {height}">'
        f"<title>Peringatan per aturan</title>{''.join(rows)}</svg>"
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} jam {rest // 60} menit"
