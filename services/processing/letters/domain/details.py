"""A letter's details and its reply's, as the clerk enters them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from services.processing.letters.domain.policy import Urgency


class Confidentiality(StrEnum):
    BIASA = "biasa"
    TERBATAS = "terbatas"
    RAHASIA = "rahasia"


@dataclass(frozen=True)
class IncomingLetter:
    """A letter's details as the clerk enters them."""

    sender: str
    reference_number: str
    letter_date: date
    regarding: str
    classification: str
    urgency: Urgency
    confidentiality: Confidentiality
    reply_due: date | None = None
    """The reply deadline the letter itself sets, if any."""


@dataclass(frozen=True)
class Reply:
    number: str
    reply_date: date
    registered_at: datetime
    by: str
