"""Use case of complaints: file one, from any channel, optionally about a request."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import datetime
from functools import partial

from services.intake.domain.citizen_request import Submitter
from services.intake.domain.complaints import (
    Complaint,
    ComplaintForm,
    new_complaint_number,
)
from services.intake.domain.complaints import (
    file_complaint as new_complaint,
)
from services.intake.domain.tracking import TRACKING_PATTERN, normalize_tracking_number
from services.intake.service_layer.ports import ComplaintRepository, RequestRepository
from services.intake.service_layer.submission import SOURCE
from shared.errors import Kind, Refusal


class UnknownTrackingNumber(Refusal, LookupError):
    """The tracking number given names no request; the message says so in Indonesian."""

    def __init__(self, tracking_number: str) -> None:
        super().__init__(
            "unknown_tracking_number",
            f"Nomor pelacakan {tracking_number} tidak ditemukan. Periksa kembali nomornya, "
            "atau kirim pengaduan tanpa nomor pelacakan.",
            Kind.INVALID,
        )


async def file_complaint(
    *,
    form: ComplaintForm,
    filer: Submitter,
    complaints: ComplaintRepository,
    requests: RequestRepository,
    now: datetime,
) -> Complaint:
    """Stores a complaint with its `ComplaintFiled` event, which audit and the integrity team
    follow up.

    A named complaint without a phone is answered at the number the filer proved (a citizen's
    sign-in, a WhatsApp or SMS sender). Raises UnknownTrackingNumber, `InvalidIdentity` and
    `InvalidText`.
    """
    if not form.anonymous and form.phone is None and filer.owner_phone is not None:
        form = dataclasses.replace(form, phone=filer.owner_phone)
    request_id = None
    if form.tracking_number is not None:
        request_id = await _request_id(form.tracking_number, requests)
    complaint_id = str(uuid.uuid4())
    while True:
        complaint = new_complaint(
            complaint_id=complaint_id,
            complaint_number=new_complaint_number(),
            form=form,
            request_id=request_id,
            filer=filer.actor,
            now=now,
        )
        if await complaints.outgoing.commit(
            complaint.complaint_number,
            complaint.events,
            partial(complaints.add, complaint),
            source=SOURCE,
            time=now,
        ):
            return complaint


async def _request_id(tracking_number: str, requests: RequestRepository) -> str:
    number = normalize_tracking_number(tracking_number)
    request = None
    if re.fullmatch(TRACKING_PATTERN, number):
        request = await requests.find_by_tracking_number(number)
    if request is None:
        raise UnknownTrackingNumber(number)
    return request.request_id
