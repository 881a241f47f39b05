"""The monthly evaluation as one HTML page for the head of office: figures, inline SVG charts and
tables, cases then letters, in Indonesian, printable on A4. No script runs; charts drawn here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from services.processing.domain.report import (
    AGEING,
    CHANNEL,
    DISTRICT,
    OFFICER,
    SERVICE,
    TOTAL,
    MonthlyReport,
    Row,
)
from services.processing.letters.report import LetterSection
from services.processing.templates.figures import (
    NONE,
    counted,
    hours,
    month_name,
    number,
    percent,
    share,
)
from services.processing.templates.letters_section import letters_html
from shared.calendar import JAKARTA

"""Shown where there is no figure."""
SERVICES = {
    "KK_BARU": "KK baru",
    "KK_UBAH": "Perubahan KK",
    "KK_HILANG": "KK hilang/rusak",
    "KTP_CETAK": "Cetak ulang KTP-el",
    "KTP_REKAM": "Perekaman KTP-el",
    "KIA": "Kartu Identitas Anak",
    "AKTA_LAHIR": "Akta kelahiran",
    "AKTA_MATI": "Akta kematian",
    "PINDAH_KELUAR": "Pindah keluar",
    "PINDAH_DATANG": "Pindah datang",
    "UBAH_DATA": "Perubahan biodata",
    "IKD_AKTIVASI": "Aktivasi IKD",
}
CHANNELS = {
    "WEB": "Aplikasi/web",
    "WHATSAPP": "WhatsApp",
    "SMS": "SMS",
    "VILLAGE_OPERATOR": "Operator desa",
    "COUNTER": "Loket",
}
STATES = {
    "SUBMITTED": "Menunggu diverifikasi",
    "IN_VERIFICATION": "Dalam verifikasi dan persetujuan",
    "NEEDS_REVISION": "Menunggu perbaikan pemohon",
    "APPROVED": "Disetujui, menunggu terbit",
    "ISSUED": "Terbit, menunggu diserahkan",
}
DIMENSIONS = {
    SERVICE: "Per layanan",
    CHANNEL: "Per kanal pengajuan",
    DISTRICT: "Per kecamatan",
    OFFICER: "Per petugas",
}


@dataclass(frozen=True)
class ReportNames:
    """What the office calls its districts and officers, from its files, held in memory: the
    report looks them up without touching the database."""

    districts: Mapping[str, str] = field(default_factory=dict)
    """Kemendagri district code (`35.16.09`) → the kecamatan's name."""
    officers: Mapping[str, str] = field(default_factory=dict)
    """Token subject → the officer's name, as the staff directory gives it."""

    def label(self, dimension: str, key: str) -> str:
        """How a dimension's key is called in the report; an officer or district the files do
        not name is shown by its subject or code."""
        if dimension == TOTAL:
            return "Semua permohonan"
        if dimension == SERVICE:
            return SERVICES.get(key, key)
        if dimension == CHANNEL:
            return CHANNELS.get(key, key)
        if dimension == DISTRICT:
            code = f"{key[:2]}.{key[2:4]}.{key[5:]}"
            return self.districts.get(code) or f"Kode wilayah {code}"
        if dimension == OFFICER:
            return self.officers.get(key, key)
        return key


def render(report: MonthlyReport, letters: LetterSection, *, names: ReportNames) -> str:
    totals = report.rows_of(TOTAL)
    total = totals[0] if totals else None
    services = report.rows_of(SERVICE)
    as_of = report.as_of.astimezone(JAKARTA).strftime("%d-%m-%Y %H:%M")
    parts = [
        f"<h1>Evaluasi Bulanan Layanan Adminduk<br><small>{month_name(report.month)}</small></h1>",
        f'<p class="meta">Data per {as_of} WIB. Waktu kerja dihitung pada jam kantor, tanpa '
        "waktu menunggu perbaikan dari pemohon.</p>",
        _summary(total),
        '<section class="charts">',
        _bars(
            "chart-services",
            "Permohonan diterima dan selesai per layanan",
            [(names.label(SERVICE, row.key), [row.received, row.completed]) for row in services],
            ["Diterima", "Selesai"],
        ),
        _bars(
            "chart-on-time",
            "Selesai tepat waktu per layanan (%)",
            [
                (names.label(SERVICE, row.key), [round((row.on_time_rate or 0) * 100, 1)])
                for row in services
                if row.completed
            ],
            ["Tepat waktu"],
            maximum=100,
        ),
        _bars(
            "chart-ageing",
            "Umur tunggakan (hari kerja sejak diterima)",
            [(f"{band} hari", [total.ageing.get(band, 0) if total else 0]) for band in AGEING],
            ["Kasus terbuka"],
        ),
        _bars(
            "chart-states",
            "Rata-rata lama di tiap status (jam kerja)",
            [
                (STATES.get(state, state), [round(seconds / 3600, 1)])
                for state, seconds in (total.state_mean_s.items() if total else [])
            ],
            ["Jam kerja"],
        ),
        "</section>",
        *(
            _table(dimension, title, report.rows_of(dimension), names)
            for dimension, title in DIMENSIONS.items()
        ),
        f'<p class="meta">Tunggakan menghitung kasus yang diterima sejak '
        f"{month_name(report.backlog_since)}. Perbandingan dengan bulan yang sama tahun lalu "
        "ditampilkan bila datanya ada.</p>",
        letters_html(letters),
    ]
    return PAGE.format(title=f"Evaluasi Bulanan {month_name(report.month)}", body="\n".join(parts))


RECEIVED = "permohonan diterima bulan ini"
CLOSED = "kasus ditutup bulan ini"
COMPLETED = "permohonan selesai bulan ini"


Card = tuple[str, str, str, str, str | None]
"""A summary card: its id, label, figure, what the figure is of, and last year's figure."""


def _summary(total: Row | None) -> str:
    if total is None:
        return '<p class="empty">Belum ada data untuk bulan ini.</p>'
    items = "".join(_card(*card) for card in _cards(total))
    return (
        f'<section class="summary">{items}</section>'
        '<p class="meta" id="rates-explained">Pengembalian untuk perbaikan dihitung per kejadian '
        "dalam bulan ini dan dibandingkan dengan permohonan yang diterima bulan ini: permohonan "
        "yang dikembalikan dua kali terhitung dua kali, dan permohonan yang diterima bulan "
        "sebelumnya ikut terhitung bila dikembalikan bulan ini. Penolakan dihitung dari kasus yang "
        f"ditutup bulan ini (selesai, ditolak atau dibatalkan): {number(total.closed)} kasus, "
        f"{number(total.sent_back_cases)} di antaranya pernah dikembalikan.</p>"
    )


def _cards(total: Row) -> list[Card]:
    previous = total.previous
    return [
        (
            "received",
            "Diterima",
            number(total.received),
            "permohonan masuk bulan ini",
            None if previous is None else number(previous.received),
        ),
        (
            "completed",
            "Selesai",
            number(total.completed),
            "permohonan diserahkan bulan ini",
            None if previous is None else number(previous.completed),
        ),
        (
            "on-time",
            "Tepat waktu",
            number(total.on_time),
            share(total.on_time_rate, total.completed, COMPLETED),
            None if previous is None else percent(previous.on_time_rate),
        ),
        (
            "median",
            "Median waktu kerja",
            hours(total.median_working_s),
            f"dari {number(total.completed)} {COMPLETED}",
            None if previous is None else hours(previous.median_working_s),
        ),
        (
            "p90",
            "90% selesai dalam",
            hours(total.p90_working_s),
            f"dari {number(total.completed)} {COMPLETED}",
            None,
        ),
        ("backlog", "Tunggakan", number(total.backlog), "kasus masih terbuka", None),
        (
            "send-back",
            "Dikembalikan untuk perbaikan",
            number(total.sent_back),
            share(total.send_back_rate, total.received, RECEIVED),
            None,
        ),
        (
            "rejection",
            "Ditolak",
            number(total.rejected),
            share(total.rejection_rate, total.closed, CLOSED),
            None,
        ),
    ]


def _card(key: str, name: str, value: str, of: str, before: str | None) -> str:
    return (
        f'<div class="card"><span class="label">{name}</span>'
        f'<span class="figure" id="figure-{key}">{escape(value)}</span>'
        f'<span class="share" id="share-{key}">{escape(of)}</span>'
        + ("" if before is None else f'<span class="before">tahun lalu: {escape(before)}</span>')
        + "</div>"
    )


def _bars(
    chart_id: str,
    title: str,
    data: list[tuple[str, list[float]]],
    series: list[str],
    *,
    maximum: float | None = None,
) -> str:
    """A horizontal bar chart, one group of bars per label."""
    if not data:
        return (
            f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
            '<p class="empty">Tidak ada data.</p></figure>'
        )
    bar, gap, left, width = 14, 10, 190, 330
    top = max([maximum or 0.0, *(value for _, values in data for value in values)]) or 1.0
    group = bar * len(series) + gap
    height = group * len(data) + 24
    shapes: list[str] = []
    for index, (name, values) in enumerate(data):
        y = index * group
        shapes.append(
            f'<text x="{left - 6}" y="{y + bar * len(series) / 2 + 4}" text-anchor="end">'
            f"{escape(name[:30])}</text>"
        )
        for number_, value in enumerate(values):
            length = width * value / top
            shapes.append(
                f'<rect class="s{number_}" x="{left}" y="{y + number_ * bar}" '
                f'width="{length:.1f}" height="{bar - 2}"><title>{escape(name)}: {number(value, 1)}'
                f"</title></rect>"
                f'<text class="value" x="{left + length + 4:.1f}" '
                f'y="{y + number_ * bar + bar - 4}">'
                f"{number(value, 1 if value % 1 else 0)}</text>"
            )
    legend = "".join(
        f'<rect class="s{n}" x="{left + n * 110}" y="{height - 14}" width="10" height="10"/>'
        f'<text x="{left + n * 110 + 14}" y="{height - 5}">{escape(name)}</text>'
        for n, name in enumerate(series)
    )
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg id="{chart_id}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {left + width + 50} {height}" width="100%">'
        f"{''.join(shapes)}{legend}</svg></figure>"
    )


OFFICER_COLUMNS = [
    "Petugas",
    "Keputusan",
    "Selesai",
    "Dikembalikan (% keputusan)",
    "Ditolak (% keputusan)",
]
CASE_COLUMNS = [
    "",
    "Diterima",
    "Selesai",
    "Tepat waktu (% selesai)",
    "Median",
    "P90",
    "Dikembalikan (% diterima)",
    "Ditutup",
    "Ditolak (% ditutup)",
    "Tunggakan",
    "> 5 hari kerja",
    "Diterima tahun lalu",
]


def _table(dimension: str, title: str, rows: list[Row], names: ReportNames) -> str:
    if not rows:
        return ""
    if dimension == OFFICER:
        head, cells = OFFICER_COLUMNS, _officer_cells
    else:
        head, cells = CASE_COLUMNS, _case_cells
    body = [cells(row, names.label(dimension, row.key)) for row in rows]
    header = "".join(f"<th>{escape(cell)}</th>" for cell in head)
    lines = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in line) + "</tr>" for line in body
    )
    return (
        f'<section class="table" id="table-{dimension}"><h2>{escape(title)}</h2>'
        f"<table><thead><tr>{header}</tr></thead><tbody>{lines}</tbody></table></section>"
    )


def _officer_cells(row: Row, label: str) -> list[str]:
    return [
        label,
        number(row.decisions),
        number(row.completed),
        counted(row.sent_back, row.send_back_rate),
        counted(row.rejected, row.rejection_rate),
    ]


def _case_cells(row: Row, label: str) -> list[str]:
    return [
        label,
        number(row.received),
        number(row.completed),
        counted(row.on_time, row.on_time_rate),
        hours(row.median_working_s),
        hours(row.p90_working_s),
        counted(row.sent_back, row.send_back_rate),
        number(row.closed),
        counted(row.rejected, row.rejection_rate),
        number(row.backlog),
        number(row.ageing.get("6-10", 0) + row.ageing.get(">10", 0)),
        NONE if row.previous is None else number(row.previous.received),
    ]


PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 14mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; color: #1d2733; margin: 24px; }}
body {{ font-size: 12px; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }} h1 small {{ font-size: 15px; color: #4a5a6a; }}
h2 {{ font-size: 14px; margin: 18px 0 6px; }}
.meta, .empty {{ color: #4a5a6a; }}
.summary {{ display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 12px 0; }}
.card {{ border: 1px solid #cfd8e0; border-radius: 6px; padding: 8px; }}
.card .label, .card .share, .card .before {{ display: block; color: #4a5a6a; font-size: 11px; }}
.card .figure {{ display: block; font-size: 20px; font-weight: bold; margin: 2px 0; }}
.charts {{ display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }}
figure.chart {{ margin: 0; border: 1px solid #cfd8e0; border-radius: 6px; padding: 8px; }}
figure.chart {{ break-inside: avoid; }}
figcaption {{ font-weight: bold; margin-bottom: 6px; }}
svg text {{ font-size: 10px; fill: #1d2733; }}
svg .s0 {{ fill: #1f6feb; }} svg .s1 {{ fill: #2da44e; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #e1e7ec; padding: 3px 5px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.table {{ break-inside: avoid; }}
@media print {{ body {{ margin: 0; }} .charts {{ grid-template-columns: 1fr 1fr; }} }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
