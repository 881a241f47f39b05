"""Wires notify, one function per feature (delivery over the providers, delivery statuses and
the SMS gateway's report webhook, the message history), each adding its outbox relays; then the
delivery loop, the consumer of every event that becomes a message, and the templates preview."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from services.notify.adapters.mongo_delivery_status import (
    MongoDeliveryStatusStore,
    MongoHistoryReads,
)
from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.notify.adapters.mongo_recipients import MongoRecipientDirectory
from services.notify.adapters.providers import open_providers
from services.notify.adapters.staff_contacts_file import load_staff_directory
from services.notify.adapters.templates_file import load_templates
from services.notify.config import NotifySettings
from services.notify.domain.notification import Notification
from services.notify.domain.staff import StaffDirectory
from services.notify.domain.templates import Templates
from services.notify.entrypoints import notifications_api, status_webhooks, templates_api
from services.notify.entrypoints.access import ACCESS
from services.notify.entrypoints.consumer import subscription
from services.notify.service_layer.delivery import Delivery, DeliveryLoop, DeliveryReady
from services.notify.service_layer.outgoing import MessageContext
from services.notify.service_layer.ports import MessageProvider
from services.notify.service_layer.statuses import HistoryContext, StatusContext
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.dependencies import provide
from shared.events.sealing import event_keys
from shared.http.app import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics
from shared.runtime import ServiceProcess, connected


@asynccontextmanager
async def connect(
    settings: NotifySettings,
    templates: Templates,
    app: FastAPI,
    *,
    staff: StaffDirectory,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    """Connects the engines and the providers, then wires each feature in turn; the consumer
    comes last."""
    topics = service_topics("notify", subscription=subscription, group_id=settings.consumer_group)
    keys = event_keys(
        settings, service="notify", handled=subscription.events, own=settings.sign_in_code_opener()
    )
    async with (
        connected(settings, topics) as infra,
        open_providers(settings.provider_accounts(), clock=clock) as providers,
    ):
        process = ServiceProcess(
            settings, settings.consumer_group, infra, settings.cipher(), keys, clock
        )
        delivery = await wire_delivery(process, settings, providers)
        statuses = wire_statuses(app, process, settings, delivery)
        recipients = MongoRecipientDirectory(process.db["recipients"], process.cipher)
        wire_history(app, process, settings, statuses, recipients)
        delivery_ready = deliver_in_background(process, settings, delivery)
        process.consume(
            subscription,
            MessageContext(
                repository=delivery.repository,
                recipients=recipients,
                templates=templates,
                delivery_ready=delivery_ready,
                claim_first_attempt=delivery.claim_first_attempt,
                quiet_hours=delivery.quiet_hours,
                survey_url=settings.survey_link,
                statuses=statuses,
                staff=staff,
            ),
        )
        async with process.running() as checks:
            yield checks


async def wire_delivery(
    process: ServiceProcess, settings: NotifySettings, providers: MessageProvider
) -> Delivery:
    """Notifications and their delivery over the providers, with retries and quiet hours."""
    repository = MongoNotificationRepository(process.db["notifications"], process.cipher)
    await repository.ensure_indexes()
    process.relay("outbox_relay", "notifications", repository.outgoing)
    return Delivery(
        repository=repository,
        provider=providers,
        max_attempts=settings.max_delivery_attempts,
        clock=process.clock,
        quiet_hours=settings.quiet(),
        limits=settings.channel_limits(),
        lease=timedelta(seconds=settings.delivery_lease_s),
        uncertain_window=timedelta(seconds=settings.uncertain_window_s),
    )


def wire_statuses(
    app: FastAPI, process: ServiceProcess, settings: NotifySettings, delivery: Delivery
) -> StatusContext:
    """Delivery statuses, from intake's events and the SMS gateway's report webhook."""
    store = MongoDeliveryStatusStore(
        process.db["delivery_statuses"], process.db["delivery_status_keys"], process.cipher
    )
    process.relay("status_relay", "delivery_statuses", store.outgoing)
    statuses = StatusContext(
        store=store,
        notifications=delivery.repository,
        clock=process.clock,
        uncertain=delivery,
        failures=delivery,
    )
    provide(app, signed_webhooks(settings, statuses, process.clock))
    return statuses


def wire_history(
    app: FastAPI,
    process: ServiceProcess,
    settings: NotifySettings,
    statuses: StatusContext,
    recipients: MongoRecipientDirectory,
) -> None:
    """A request's messages as citizens and staff read them; each staff read is an event."""
    reads = MongoHistoryReads(process.db["history_reads"], process.cipher)
    process.relay("reads_relay", "history_reads", reads.outgoing)
    provide(
        app,
        HistoryContext(
            reads=reads,
            notifications=statuses.notifications,
            store=statuses.store,
            recipients=recipients,
            clock=process.clock,
            default_service_point=settings.default_service_point,
        ),
    )


def deliver_in_background(
    process: ServiceProcess, settings: NotifySettings, delivery: Delivery
) -> DeliveryReady:
    """The loop that sends what is queued and sweeps for retries; returns how a newly queued
    notification is handed to it."""
    loop = DeliveryLoop(delivery, sweep_interval_s=settings.retry_sweep_interval_s)
    process.add("delivery", loop)

    def delivery_ready(notification: Notification) -> None:
        delivery.hold(notification)
        loop.wake(notification.notification_id)

    return delivery_ready


def signed_webhooks(
    settings: NotifySettings, statuses: StatusContext, clock: Clock
) -> status_webhooks.StatusWebhooks:
    """The SMS gateway's report webhook with the secret it signs with; made locally outside
    production. WhatsApp's statuses come through intake's webhook, as `DeliveryReported`."""
    sms_secret = settings.secret("NOTIFY_SMS_REPORT_SECRET", settings.sms_report_secret)
    return status_webhooks.StatusWebhooks(
        sms_secret=sms_secret.get_secret_value().encode(),
        statuses=statuses,
        clock=clock,
    )


def create_app(
    settings: NotifySettings, wiring: Wiring | None = None, *, staff_keys: KeySource | None = None
) -> FastAPI:
    settings.check_production()
    templates = load_templates(settings.templates_file)
    staff = load_staff_directory(settings.staff_directory_file)
    app = build_app(
        title="Adminduk Go Digital: notify",
        settings=settings,
        wiring=wiring or partial(connect, settings, templates, staff=staff),
        routers=[templates_api.router, notifications_api.router, status_webhooks.router],
        access=ACCESS,
        staff_keys=staff_keys,
        extra_issuers=[settings.citizen_tokens()],
    )
    provide(app, templates)
    return app
