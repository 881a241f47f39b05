"""Wires notify: the templates file, Mongo notifications and recipients, the consumer of requests,
cases, visits, complaints, sign-ins and chats, the delivery loop, the outbox relay and the
templates preview."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.notify.adapters.http_provider import HttpMessageProvider, provider_client
from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.notify.adapters.mongo_recipients import MongoRecipientDirectory
from services.notify.adapters.templates_file import load_templates
from services.notify.config import NotifySettings
from services.notify.domain.notification import Notification
from services.notify.domain.templates import Templates
from services.notify.entrypoints import templates_api
from services.notify.entrypoints.access import ACCESS
from services.notify.entrypoints.consumer import subscription
from services.notify.service_layer.delivery import Delivery
from services.notify.service_layer.messages import MessageContext
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
from shared.polling import PollingLoop
from shared.runtime import Worker, connected, running


@asynccontextmanager
async def connect(
    settings: NotifySettings, templates: Templates, app: FastAPI, *, clock: Clock = system_clock
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics("notify", subscription=subscription, group_id=settings.consumer_group)
    token = settings.provider_token.get_secret_value() if settings.provider_token else None
    async with (
        connected(settings, topics) as infra,
        provider_client(
            settings.provider_url, token=token, timeout_s=settings.provider_timeout_s
        ) as http,
    ):
        collection = infra.db["notifications"]
        cipher = settings.cipher()
        repository = MongoNotificationRepository(collection, cipher)
        await repository.ensure_indexes()
        relay = OutboxRelay(collection=collection, producer=infra.producer, cipher=cipher)
        quiet_hours = settings.quiet()
        delivery = Delivery(
            repository=repository,
            provider=HttpMessageProvider(http),
            outbox_ready=relay.wake,
            max_attempts=settings.max_delivery_attempts,
            now=clock,
            concurrency=settings.delivery_concurrency,
            quiet_hours=quiet_hours,
        )
        delivery_loop = PollingLoop(
            name="delivery",
            handle=delivery.deliver,
            sweep=delivery.deliver_due,
            sweep_interval_s=settings.retry_sweep_interval_s,
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
            ),
            clock=clock,
            producer=infra.producer,
        )
        workers: dict[str, Worker] = {
            "outbox_relay": relay,
            "delivery": delivery_loop,
            "consumer": consumer,
        }
        async with running(workers) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(
    settings: NotifySettings, wiring: Wiring | None = None, *, staff_keys: KeySource | None = None
) -> FastAPI:
    templates = load_templates(settings.templates_file)
    app = build_app(
        title="Adminduk Go Digital: notify",
        settings=settings,
        wiring=wiring or partial(connect, settings, templates),
        routers=[templates_api.router],
        access=ACCESS,
        staff_keys=staff_keys,
    )
    app.state.templates = templates
    return app
