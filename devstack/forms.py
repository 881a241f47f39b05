"""A valid citizen form for the local stack's load, budget and overload runs: an e-KTP reprint
(`KTP_CETAK`) with the fields the catalogue asks, its documents still to come."""

from __future__ import annotations

from typing import Any

KTP_REPRINT: dict[str, Any] = {
    "service_code": "KTP_CETAK",
    "nik": "3516094506900002",
    "name": "Dewi Lestari",
    "phone": "085712345678",
    "preferred_channel": "SMS",
    "fields": {"family_card_number": "3516090101080001", "reason": "RUSAK"},
}


def load_form(n: int) -> dict[str, Any]:
    """The n-th request of a load: the KTP_CETAK form for a NIK of its own, since a NIK holds one
    open application per service (the NIK's serial, then its birth date, run through about 3.3
    million), and a phone of its own, as citizens have: one phone for all would make its daily
    message count one document every submission rewrites."""
    serial, births = n % 9999 + 1, n // 9999
    day, month = 41 + births % 28, 1 + births // 28 % 12
    nik = f"{KTP_REPRINT['nik'][:6]}{day:02d}{month:02d}90{serial:04d}"
    phone = KTP_REPRINT["phone"][:4] + f"{n % 10**8:08d}"
    return {**KTP_REPRINT, "nik": nik, "name": f"Warga {n}", "phone": phone}
