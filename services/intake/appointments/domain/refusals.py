"""Why the rules refuse a booking or a move: stable codes, messages in plain Indonesian."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from services.intake.domain.tracking import mask_tracking_number
from shared.errors import Kind, Refusal
from shared.wib import day_label

if TYPE_CHECKING:
    from services.intake.appointments.domain.places import ServicePoint, Visit

WEEKEND = frozenset({5, 6})


class BookingRefused(Refusal, ValueError):
    """A booking the rules do not allow; `code` is stable, the message plain Indonesian."""

    code = "booking_refused"

    def __init__(self, message: str) -> None:
        super().__init__(self.code, message, Kind.INVALID)


class BookingConflict(Refusal, ValueError):
    """A booking that clashes with what is booked already; `code` is stable."""

    code = "booking_conflict"

    def __init__(self, message: str) -> None:
        super().__init__(self.code, message, Kind.CONFLICT)


class UnknownServicePoint(BookingRefused):
    code = "unknown_service_point"

    def __init__(self, code: str, known: Iterable[str]) -> None:
        super().__init__(
            f"Tempat layanan '{code}' tidak dikenal. Pilih salah satu: {', '.join(known)}."
        )


class NotInPerson(BookingRefused):
    """An online service: it is submitted as a request, not booked as a visit."""

    code = "not_in_person"

    def __init__(self, service_code: str) -> None:
        super().__init__(
            f"Layanan {service_code} diajukan secara daring tanpa janji kunjungan; "
            "silakan ajukan permohonan."
        )


class NotOfferedHere(BookingRefused):
    code = "not_offered_here"

    def __init__(self, service_code: str, point: ServicePoint, elsewhere: Iterable[str]) -> None:
        others = ", ".join(elsewhere)
        hint = f" Layanan ini ada di: {others}." if others else ""
        super().__init__(f"Layanan {service_code} tidak tersedia di {point.name}.{hint}")


class UnknownSlot(BookingRefused):
    code = "unknown_slot"

    def __init__(self, point: ServicePoint, slot: str) -> None:
        codes = ", ".join(s.code for s in point.slots)
        super().__init__(
            f"Jam '{slot}' tidak ada di {point.name}. Pilih salah satu jam berikut: {codes}."
        )


class OfficeClosed(BookingRefused):
    code = "office_closed"

    def __init__(self, day: date) -> None:
        why = "akhir pekan" if day.weekday() in WEEKEND else "hari libur nasional atau cuti bersama"
        super().__init__(f"Kantor tutup pada {day_label(day)} ({why}). Pilih hari kerja lain.")


class DateInPast(BookingRefused):
    code = "date_in_past"

    def __init__(self, day: date) -> None:
        super().__init__(f"Tanggal {day_label(day)} sudah lewat. Pilih tanggal mulai hari ini.")


class SlotStarted(BookingRefused):
    code = "slot_started"

    def __init__(self, visit: Visit) -> None:
        super().__init__(f"Jam {visit.label()} sudah dimulai. Pilih jam yang lebih lambat.")


class TooFarAhead(BookingRefused):
    code = "too_far_ahead"

    def __init__(self, last: date) -> None:
        super().__init__(
            f"Janji hanya dapat dibuat paling lambat untuk {day_label(last)}. "
            "Pilih tanggal yang lebih dekat."
        )


class SameSlot(BookingRefused):
    code = "same_slot"

    def __init__(self) -> None:
        super().__init__("Jadwal baru sama dengan jadwal lama.")


class AlreadyBooked(BookingConflict):
    """The citizen holds an active visit for the service; unless `shown`, its number is masked
    and the message says where the full one is."""

    code = "already_booked"

    def __init__(self, service_code: str, booking_number: str, *, shown: bool) -> None:
        self.booking_number = booking_number if shown else mask_tracking_number(booking_number)
        if shown:
            advice = "Batalkan atau ubah jadwal janji itu bila perlu."
        else:
            advice = "Nomor lengkapnya ada di SMS/WhatsApp konfirmasi ke HP yang didaftarkan."
        super().__init__(
            f"NIK ini sudah memiliki janji {service_code} yang aktif dengan nomor booking "
            f"{self.booking_number}. {advice}"
        )
