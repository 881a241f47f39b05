"""One open application per NIK and service: a citizen who applies again while the office still
works on the first gets its tracking number instead of a second request.

A service whose catalogue entry allows several (a birth certificate for each child) is exempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.intake.domain.citizen_request import CitizenRequest, Submitter
from services.intake.domain.tracking import mask_tracking_number
from shared.errors import Kind, Refusal

SUBMISSION_GRACE = timedelta(minutes=5)
"""How long a hold whose request is not stored counts as a submission under way; past it, the
submission is taken to have died midway and the hold is free."""


@dataclass(frozen=True)
class OpenApplication:
    """The request that holds a NIK's one open application for a service."""

    request_id: str
    tracking_number: str
    held_at: datetime

    def blocks(
        self, request: CitizenRequest | None, *, nik: str, service_code: str, now: datetime
    ) -> bool:
        """Whether a new application must wait: the held request is open, or not stored yet
        and held moments ago. A closed request frees the hold, as do a request never stored
        (a crash midway) and one of another NIK or service (an idempotency key that came back
        with another form, whose request kept the first form)."""
        if request is None:
            return now - self.held_at < SUBMISSION_GRACE
        return (
            not request.closed
            and request.applicant.nik == nik
            and request.service_code == service_code
        )


class AlreadyOpen(Refusal, ValueError):
    """The NIK has a request for the service that is not closed yet: one is enough."""

    def __init__(self, service_code: str, tracking_number: str, *, shown: bool) -> None:
        self.service_code = service_code
        self.shown = shown
        self.tracking_number = tracking_number if shown else mask_tracking_number(tracking_number)
        if shown:
            advice = "Pantau statusnya dengan nomor itu, atau batalkan dulu bila perlu."
        else:
            advice = "Nomor lengkapnya ada di SMS/WhatsApp tanda terima ke HP yang didaftarkan."
        super().__init__(
            "already_open",
            f"NIK ini masih memiliki permohonan {service_code} yang sedang diproses dengan nomor "
            f"{self.tracking_number}. Permohonan baru dapat diajukan setelah permohonan itu "
            f"selesai. {advice}",
            Kind.CONFLICT,
        )


def already_open(
    service_code: str,
    held: OpenApplication,
    request: CitizenRequest | None,
    *,
    submitter: Submitter,
) -> AlreadyOpen:
    """The refusal of a second application, naming the open one in full only to whoever may
    see it: the phone the caller proved (a citizen's sign-in, an SMS or WhatsApp sender), the
    village operator of its village or a counter officer of its service point. A phone typed
    into a form proves nothing: anyone may know a NIK, and the number with the NIK's last four
    digits shows where the request stands."""
    shown = request is not None and (
        _same(submitter.owner_phone, request.owner_phone)
        or (submitter.assisted and _same(submitter.village, request.village))
        or (submitter.assisted and _same(submitter.service_point, request.service_point))
    )
    number = held.tracking_number if request is None else request.tracking_number
    return AlreadyOpen(service_code, number, shown=shown)


def _same(claimed: str | None, recorded: str | None) -> bool:
    return claimed is not None and claimed == recorded
