"""The chat channels, SMS and WhatsApp: intake answers every message a citizen sends there in
that chat, and the answer says what came of it (the tracking number, the visit, the complaint
number). What such a message did is so marked in its event (`acknowledged_on`), and notify sends
no receipt of its own: one message, one answer, on the channel it came from."""

from __future__ import annotations

from shared.events.envelope import Actor, Channel
from shared.events.models.values import NotificationChannel

ACTOR_CHANNELS = {
    NotificationChannel.SMS: Channel.SMS,
    NotificationChannel.WHATSAPP: Channel.WHATSAPP,
}
"""A chat's channel as an event's actor names it."""
_CHATS = {actor: chat for chat, actor in ACTOR_CHANNELS.items()}


def acknowledged_on(actor: Actor) -> NotificationChannel | None:
    """The chat whose reply told the actor what their message did; None for every other
    channel, whose events notify acknowledges itself."""
    return _CHATS.get(actor.channel)
