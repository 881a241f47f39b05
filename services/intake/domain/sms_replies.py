"""What intake answers by SMS: short, plain Indonesian, one 160-character GSM-7 segment wherever
the values allow (a test measures every reply with realistic values). A reply to a command that
made something (a request, a visit, a complaint) is the citizen's only receipt of it, so it
carries all they need to follow it up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from services.intake.domain.catalogue import FieldType, FormField, ServiceDefinition
from services.intake.domain.citizen_request import RequestStatus
from shared.calendar import JAKARTA
from shared.gsm7 import to_gsm7

STATUS = {
    RequestStatus.SUBMITTED: "diterima, menunggu diperiksa",
    RequestStatus.IN_VERIFICATION: "sedang diperiksa",
    RequestStatus.NEEDS_REVISION: "perlu perbaikan, hubungi desa/kantor",
    RequestStatus.APPROVED: "disetujui, dokumen dibuat",
    RequestStatus.ISSUED: "dokumen sudah terbit",
    RequestStatus.COMPLETED: "selesai",
    RequestStatus.REJECTED: "ditolak, hubungi kantor",
    RequestStatus.CANCELLED: "dibatalkan",
}
FREE = "GRATIS, tolak pungli."
GENERAL_HELP = (
    "DAFTAR <layanan> <NIK> <nama>#isian.. | STATUS <no> | BATAL <no> | "
    "JANJI <layanan> <tgl> <NIK> <nama> | ADUAN PUNGLI <cerita> | BANTUAN <layanan>"
)


def sms_date(moment: datetime | date) -> str:
    """`03-12-2026`: a date a feature phone shows as it is."""
    day = moment.astimezone(JAKARTA).date() if isinstance(moment, datetime) else moment
    return f"{day:%d-%m-%Y}"


def received(
    service_code: str, tracking_number: str, expected_at: datetime, missing: Sequence[str]
) -> str:
    """The receipt of a request: `missing` names the documents still to send, and takes a
    second segment only when several long names do not fit one (AKTA_MATI's four)."""
    documents = f" Kirim ke desa/kantor/WA: {', '.join(missing)}." if missing else ""
    return to_gsm7(
        f"{service_code} diterima. No lacak {tracking_number}. Selesai "
        f"{sms_date(expected_at)}.{documents} {FREE}"
    )


def status(tracking_number: str, service_code: str, current: RequestStatus) -> str:
    return f"{tracking_number} ({service_code}): {STATUS[current]}."


def already_open(service_code: str, tracking_number: str, *, shown: bool) -> str:
    """A second application while the first is open: its number, in full only to its owner."""
    if shown:
        how = f"Cek: STATUS {tracking_number}."
    else:
        how = "No lengkap ada di tanda terima ke HP pemohon."
    return to_gsm7(
        f"{service_code} untuk NIK ini masih diproses, no lacak {tracking_number}. {how} "
        "Daftar lagi setelah selesai."
    )


def withdrawn(tracking_number: str) -> str:
    return f"Permohonan {tracking_number} dibatalkan."


def not_withdrawable(tracking_number: str, current: RequestStatus) -> str:
    return f"{tracking_number} tidak dapat dibatalkan: {STATUS[current]}."


def not_found(tracking_number: str) -> str:
    return (
        f"Permohonan {tracking_number[:12]} tidak ditemukan. Kirim dari HP pemohon atau tambah "
        "4 angka akhir NIK: STATUS <no> <4 angka>."
    )


def booked(booking_number: str, when: str, place: str) -> str:
    return to_gsm7(f"Janji {booking_number}: {when}, {place}. Bawa KK. {FREE}")


def complaint_filed(complaint_number: str) -> str:
    return (
        f"Aduan {complaint_number} diterima dan ditindaklanjuti. Identitas pelapor dirahasiakan. "
        + FREE
    )


PHONE_PROVEN = (
    "Kode benar: nomor ini tidak terkunci lagi. Minta kode baru untuk masuk. Jangan berikan "
    "kode kepada siapa pun."
)
PROOF_REFUSED = (
    "Kode salah atau tidak berlaku lagi. Minta kode baru, lalu kirim MASUK <kode> dari nomor ini."
)


def service_help(service: ServiceDefinition) -> str:
    """The message to send for one service: the order of its fields, and what to bring."""
    if service.in_person_only:
        return to_gsm7(
            f"{service.code}: datang langsung. Kirim JANJI {service.code} <tgl> <NIK> <nama>. "
            + FREE
        )
    answers = "".join(f"#{_placeholder(field)}" for field in service.fields)
    return to_gsm7(f"DAFTAR {service.code} <NIK> <nama>{answers}. {FREE}")


def refused(reason: str) -> str:
    return to_gsm7(reason)


def _placeholder(field: FormField) -> str:
    match field.type:
        case FieldType.CHOICE:
            return "/".join(choice.key for choice in field.choices)
        case FieldType.DATE:
            return "tgl"
        case FieldType.FAMILY_CARD:
            return "noKK"
        case FieldType.NIK:
            return "NIK"
        case FieldType.TEXT:
            return f"<{field.label}>"
