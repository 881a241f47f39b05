"""`python -m services.asyncapi > docs/asyncapi.json`: the event document from every service's
declarations."""

from __future__ import annotations

from typing import Any

from services.audit.entrypoints import consumer as audit
from services.intake.entrypoints import consumer as intake
from services.notify.entrypoints import consumer as notify
from services.processing.entrypoints import consumer as processing
from shared.events.asyncapi import render
from shared.messagebus import Subscription

SUBSCRIPTIONS: list[Subscription[Any]] = [
    intake.subscription,
    processing.subscription,
    notify.subscription,
    audit.subscription,
]

if __name__ == "__main__":
    print(render(SUBSCRIPTIONS), end="")
