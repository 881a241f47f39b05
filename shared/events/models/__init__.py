"""Version 1 of every topic's events, one module per topic, each naming its topic once.

Fields marked `personal_data` (NIK, names, phone numbers) travel sealed on Kafka
(`shared/events/sealing.py`), are pseudonymised before they reach the audit log, and are never
logged. Importing this package, or any module of it, registers every event.
"""

from __future__ import annotations

from importlib import import_module

from shared.events.envelope import registered_events

TOPIC_MODULES = (
    "requests",
    "appointments",
    "complaints",
    "conversations",
    "cases",
    "notifications",
    "identity",
    "letters",
    "integrity",
)
"""The modules of the topics' events, in the order they are registered and documented."""

for _module in TOPIC_MODULES:
    import_module(f"{__name__}.{_module}")

EVENT_TYPES = registered_events()
"""Every event type of the system by its name."""
