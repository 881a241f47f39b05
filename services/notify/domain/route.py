"""Which channels a message tries, in order, after the one it goes on first."""

from __future__ import annotations

from shared.events.models.values import DeliveryChannel

PHONE_FALLBACK: dict[DeliveryChannel, tuple[DeliveryChannel, ...]] = {
    DeliveryChannel.WHATSAPP: (DeliveryChannel.SMS,),
}
"""Every phone takes SMS, so a message that WhatsApp cannot deliver goes by SMS to the same
number; an SMS has nothing left to fall back to."""


def phone_fallback(first: DeliveryChannel) -> tuple[DeliveryChannel, ...]:
    """The channels to try to the same phone once `first` is given up."""
    return PHONE_FALLBACK.get(first, ())
