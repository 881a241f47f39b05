"""Wires notify: the templates file, the staff directory, Mongo notifications and recipients, the
consumer of requests, cases, deadlines, visits, complaints, sign-ins, chats, WhatsApp delivery
statuses and dispositions, the delivery loop, the outbox relay, the SMS gateway's report webhook
and the templates preview."""

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
from services.notify.adapters.staff_directory_file import load_staff_directory
from services.notify.adapters.templates_file import load_templates
from services.notify.config import NotifySettings
from services.notify.domain.notification import Notification
from services.notify.domain.staff import StaffDirectory
from services.notify.domain.templates import Templates
from services.notify.entrypoints import notifications_api, status_webhooks, templates_api
from services.notify.entrypoints.access import ACCESS
from services.notify.entrypoints.consumer import subscription
from services.notify.service_layer.delivery import Delivery, DeliveryLoop
from services.notify.service_layer.messages import MessageContext
from services.notify.service_layer.statuses import HistoryContext, StatusContext
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.events.sealing import event_keys
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
from shared.runtime import Worker, connected, running


@asynccontextmanager
async def connect(
    settings: NotifySettings,
    templates: Templates,
    app: FastAPI,
    *,
    staff: StaffDirectory,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics("notify", subscription=subscription, group_id=settings.consumer_group)
    keys = event_keys(
        settings, service="notify", handled=subscription.events, own=settings.sign_in_code_opener()
    )
    async with (
        connected(settings, topics) as infra,
        open_providers(settings.provider_accounts(), clock=clock) as providers,
    ):
        collection = infra.db["notifications"]
        cipher = settings.cipher()
        repository = MongoNotificationRepository(collection, cipher)
        await repository.ensure_indexes()
        relay = OutboxRelay(
            collection=collection, producer=infra.producer, cipher=cipher, keys=keys
        )
        repository.outgoing.register(relay.wake)
        quiet_hours = settings.quiet()
        delivery = Delivery(
            repository=repository,
            provider=providers,
            max_attempts=settings.max_delivery_attempts,
            clock=clock,
            quiet_hours=quiet_hours,
            limits=settings.channel_limits(),
            lease=timedelta(seconds=settings.delivery_lease_s),
            uncertain_window=timedelta(seconds=settings.uncertain_window_s),
        )
        delivery_loop = DeliveryLoop(delivery, sweep_interval_s=settings.retry_sweep_interval_s)
        status_records = infra.db["delivery_statuses"]
        statuses = MongoDeliveryStatusStore(
            status_records, infra.db["delivery_status_keys"], cipher
        )
        status_relay = OutboxRelay(
            collection=status_records, producer=infra.producer, cipher=cipher, keys=keys
        )
        statuses.outgoing.register(status_relay.wake)
        status_context = StatusContext(
            store=statuses,
            notifications=repository,
            clock=clock,
            uncertain=delivery,
            failures=delivery,
        )
        app.state.status_webhooks = signed_webhooks(settings, status_context, clock)
        history_reads = infra.db["history_reads"]
        reads_relay = OutboxRelay(
            collection=history_reads, producer=infra.producer, cipher=cipher, keys=keys
        )
        history_reads_store = MongoHistoryReads(history_reads, cipher)
        history_reads_store.outgoing.register(reads_relay.wake)
        app.state.history = HistoryContext(
            reads=history_reads_store,
            notifications=repository,
            store=statuses,
            recipients=MongoRecipientDirectory(infra.db["recipients"], cipher),
            clock=clock,
            default_service_point=settings.default_service_point,
        )

        def delivery_ready(notification: Notification) -> None:
            delivery.hold(notification)
            delivery_loop.wake(notification.notification_id)

        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=MessageContext(
                repository=repository,
                recipients=MongoRecipientDirectory(infra.db["recipients"], cipher),
                templates=templates,
                delivery_ready=delivery_ready,
                quiet_hours=quiet_hours,
                survey_url=settings.survey_link,
                statuses=status_context,
                staff=staff,
            ),
            clock=clock,
            producer=infra.producer,
            keys=keys,
        )
        workers: dict[str, Worker] = {
            "outbox_relay": relay,
            "status_relay": status_relay,
            "reads_relay": reads_relay,
            "delivery": delivery_loop,
            "consumer": consumer,
        }
        async with running(workers) as worker_checks:
            yield infra.readiness_checks() | worker_checks


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
    app.state.templates = templates
    return app
