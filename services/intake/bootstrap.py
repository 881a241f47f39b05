"""Wires intake: Mongo repositories, outbox relays to Kafka, the consumer of case steps, the
catalogue file, citizens' token signing, and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import (
    CitizenTokenSigner,
    citizen_subject,
    load_signing_key,
)
from services.intake.adapters.mongo_complaints import MongoComplaintRepository
from services.intake.adapters.mongo_conversations import MongoConversationRepository
from services.intake.adapters.mongo_documents import MongoDocumentStore
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_inbound import MongoInboundMessages
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.adapters.mongo_sign_in import MongoSignInRepository
from services.intake.adapters.whatsapp_media import WhatsAppMedia, media_client
from services.intake.appointments import routes as appointments_api
from services.intake.appointments.domain import BookingRules, ServicePoints
from services.intake.appointments.mongo import MongoAppointmentRepository, MongoSlotPlaces
from services.intake.appointments.service_layer import Agenda
from services.intake.appointments.service_points_file import load_service_points
from services.intake.config import IntakeSettings
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.entrypoints import (
    api,
    complaints_api,
    documents_api,
    sign_in_api,
    sms_api,
    whatsapp_api,
)
from services.intake.entrypoints.access import ACCESS
from services.intake.entrypoints.consumer import Dependencies, subscription
from services.intake.service_layer.commands import CommandContext
from services.intake.service_layer.conversations import ConversationContext
from services.intake.service_layer.delivery_reports import DeliveryReportContext
from services.intake.service_layer.message_caps import MESSAGE_CAP_PURPOSE, MessageCaps
from services.intake.service_layer.sign_in import SignInContext
from shared.access import Counting
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.crypto import Cipher
from shared.events.sealing import event_keys
from shared.http import ReadinessCheck, StreamedBody, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
from shared.mongo_counts import MongoCounts
from shared.runtime import Worker, connected, running

CODE_PURPOSE = "sign-in-code"


def token_signer(settings: IntakeSettings, cipher: Cipher) -> CitizenTokenSigner:
    key = settings.secret("INTAKE_CITIZEN_SIGNING_KEY", settings.citizen_signing_key)
    return CitizenTokenSigner(
        key=load_signing_key(key.get_secret_value()),
        issuer=settings.citizen_issuer,
        audience=settings.oidc_audience,
        subject_of=partial(citizen_subject, cipher),
    )


@asynccontextmanager
async def connect(
    settings: IntakeSettings,
    cipher: Cipher,
    signer: CitizenTokenSigner,
    catalogue: ServiceCatalogue,
    app: FastAPI,
    *,
    service_points: ServicePoints,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics("intake", subscription=subscription, group_id=settings.consumer_group)
    keys = event_keys(
        settings,
        service="intake",
        handled=subscription.events,
        recipients={"notify": settings.sign_in_code_sealer()},
    )
    async with (
        connected(settings, topics) as infra,
        media_client(timeout_s=settings.whatsapp_media_timeout_s) as media_http,
    ):
        requests = infra.db["requests"]
        sign_ins = infra.db["sign_in_codes"]
        relay = OutboxRelay(collection=requests, producer=infra.producer, cipher=cipher, keys=keys)
        sign_in_relay = OutboxRelay(
            collection=sign_ins, producer=infra.producer, cipher=cipher, keys=keys
        )
        repository = MongoRequestRepository(
            requests, infra.db["tracking_numbers"], infra.db["open_applications"], cipher
        )
        repository.outgoing.register(relay.wake)
        idempotency_keys = MongoIdempotencyKeys(infra.db["idempotency_keys"])
        calendar = settings.calendar()
        counts = MongoCounts(infra.db["counts"])
        await counts.ensure_indexes()
        message_caps = MessageCaps.of(
            counts,
            partial(cipher.lookup_hash, purpose=MESSAGE_CAP_PURPOSE),
            settings.message_cap_rules(),
        )
        app.state.counting = Counting(counts=counts, clock=clock)
        sign_in_repository = MongoSignInRepository(sign_ins, cipher)
        sign_in_repository.outgoing.register(sign_in_relay.wake)
        sign_in = SignInContext(
            repository=sign_in_repository,
            hash_code=lambda challenge_id, code: cipher.lookup_hash(
                f"{challenge_id}:{code}", purpose=CODE_PURPOSE
            ),
            counts=counts,
            rules=settings.sign_in_rules(),
        )
        app.state.context = api.IntakeContext(
            repository=repository,
            idempotency_keys=idempotency_keys,
            catalogue=catalogue,
            sign_in=sign_in,
            citizen_tokens=signer,
            calendar=calendar,
            clock=clock,
            counts=counts,
            message_caps=message_caps,
            wrong_lookups_per_hour=settings.wrong_lookups_per_hour,
        )
        document_store = MongoDocumentStore(
            infra.db["documents"], infra.db["document_chunks"], cipher
        )
        app.state.documents = documents_api.DocumentsContext(
            store=document_store, default_service_point=settings.default_service_point
        )
        appointments = infra.db["appointments"]
        appointment_relay = OutboxRelay(
            collection=appointments, producer=infra.producer, cipher=cipher, keys=keys
        )
        appointment_repository = MongoAppointmentRepository(
            appointments, infra.db["appointment_holders"], cipher
        )
        appointment_repository.outgoing.register(appointment_relay.wake)
        app.state.appointments = appointments_api.AppointmentsContext(
            agenda=Agenda(
                appointments=appointment_repository,
                places=MongoSlotPlaces(infra.db["appointment_slots"]),
                rules=BookingRules(
                    service_points=service_points,
                    calendar=calendar,
                    horizon_days=settings.booking_horizon_days,
                ),
            ),
            catalogue=catalogue,
            clock=clock,
            message_caps=message_caps,
        )
        complaints = infra.db["complaints"]
        complaint_relay = OutboxRelay(
            collection=complaints, producer=infra.producer, cipher=cipher, keys=keys
        )
        complaint_repository = MongoComplaintRepository(complaints, cipher)
        complaint_repository.outgoing.register(complaint_relay.wake)
        app.state.complaints = complaints_api.ComplaintsContext(
            complaints=complaint_repository,
            requests=repository,
            clock=clock,
            message_caps=message_caps,
        )
        commands = CommandContext(
            catalogue=catalogue,
            calendar=calendar,
            requests=repository,
            idempotency_keys=idempotency_keys,
            agenda=app.state.appointments.agenda,
            complaints=app.state.complaints.complaints,
            subject_of=partial(citizen_subject, cipher),
            sign_in=sign_in,
        )
        inbound_messages = infra.db["inbound_messages"]
        inbound = MongoInboundMessages(inbound_messages, cipher)
        inbound_relay = OutboxRelay(
            collection=inbound_messages, producer=infra.producer, cipher=cipher, keys=keys
        )
        inbound.outgoing.register(inbound_relay.wake)
        conversations = infra.db["conversations"]
        conversation_relay = OutboxRelay(
            collection=conversations, producer=infra.producer, cipher=cipher, keys=keys
        )
        conversation_repository = MongoConversationRepository(
            conversations, infra.db["conversation_documents"], cipher
        )
        conversation_repository.outgoing.register(conversation_relay.wake)
        app.state.whatsapp = whatsapp_api.WhatsAppContext(
            app_secret=settings.secret("INTAKE_WHATSAPP_APP_SECRET", settings.whatsapp_app_secret)
            .get_secret_value()
            .encode(),
            verify_token=settings.secret(
                "INTAKE_WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token
            ).get_secret_value(),
            conversations=ConversationContext(
                conversations=conversation_repository,
                inbound=inbound,
                media=WhatsAppMedia(
                    media_http,
                    graph_url=settings.whatsapp_graph_url,
                    access_token=settings.secret(
                        "INTAKE_WHATSAPP_ACCESS_TOKEN", settings.whatsapp_access_token
                    ).get_secret_value(),
                    total_timeout_s=settings.whatsapp_media_timeout_s,
                    media_hosts=settings.whatsapp_media_hosts,
                ),
                requests=repository,
                idempotency_keys=idempotency_keys,
                documents=document_store,
                catalogue=catalogue,
                calendar=calendar,
                citizen_id=partial(citizen_subject, cipher),
                commands=commands,
            ),
            reports=DeliveryReportContext(inbound=inbound),
            clock=clock,
        )
        app.state.sms = sms_api.SmsWebhookContext(
            secret=settings.secret("INTAKE_SMS_WEBHOOK_SECRET", settings.sms_webhook_secret)
            .get_secret_value()
            .encode(),
            inbound=inbound,
            commands=commands,
            clock=clock,
        )
        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=Dependencies(repository=repository),
            clock=clock,
            producer=infra.producer,
            keys=keys,
        )
        workers: dict[str, Worker] = {
            "outbox_relay": relay,
            "sign_in_outbox_relay": sign_in_relay,
            "conversation_outbox_relay": conversation_relay,
            "inbound_outbox_relay": inbound_relay,
            "appointment_outbox_relay": appointment_relay,
            "complaint_outbox_relay": complaint_relay,
            "consumer": consumer,
        }
        async with running(workers) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(
    settings: IntakeSettings, wiring: Wiring | None = None, *, staff_keys: KeySource | None = None
) -> FastAPI:
    settings.check_production()
    cipher = settings.cipher()
    signer = token_signer(settings, cipher)
    catalogue = load_catalogue(settings.catalogue_file)
    service_points = load_service_points(catalogue, settings.service_points_file)
    return build_app(
        title="Adminduk Go Digital: intake",
        settings=settings,
        wiring=wiring
        or partial(connect, settings, cipher, signer, catalogue, service_points=service_points),
        routers=[
            api.router,
            sign_in_api.router,
            documents_api.router,
            whatsapp_api.router,
            sms_api.router,
            appointments_api.router,
            complaints_api.router,
        ],
        access=ACCESS,
        unbounded_paths=[whatsapp_api.WEBHOOK_PATH, sms_api.WEBHOOK_PATH],
        streamed_routes={
            documents_api.DOCUMENTS_PATH: StreamedBody(
                max_bytes=settings.max_document_bytes, timeout_s=settings.document_timeout_s
            )
        },
        staff_keys=staff_keys,
        rate_limits=settings.rate_limits(),
        extra_issuers=[signer.trusted_issuer()],
    )
