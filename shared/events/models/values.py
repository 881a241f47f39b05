"""Markers and value types that the events of several topics share."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

PERSONAL: dict[str, Any] = {"personal_data": True}


SEALED_FOR_NOTIFY: dict[str, Any] = {**PERSONAL, "sealed_for": "notify"}
"""A secret only notify may read: sealed to notify's public key, so not even its writer opens it."""


class NotificationChannel(StrEnum):
    """How a citizen wants to hear from the office."""

    WHATSAPP = "WHATSAPP"
    SMS = "SMS"


class DeliveryChannel(StrEnum):
    """How a message goes out: a citizen's channels, and e-mail for staff."""

    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"

    @classmethod
    def of(cls, channel: NotificationChannel) -> DeliveryChannel:
        return cls(channel.value)


class DeliveryStatus(StrEnum):
    """What a provider reports of a message it accepted, in the order it can happen."""

    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
