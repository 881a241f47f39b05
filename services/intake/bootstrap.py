"""Wires intake, one function per feature (requests and sign-in, documents, appointments,
complaints, conversations on the WhatsApp and SMS webhooks), each adding its outbox relays; then
the consumer of case steps and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import (
    CitizenTokenSigner,
    citizen_subject,
    load_signing_key,
)
from services.intake.adapters.mongo_complaints import MongoComplaintRepository
from services.intake.adapters.mongo_documents import MongoDocumentStore
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.adapters.mongo_sign_in import MongoSignInRepository
from services.intake.appointments import routes as appointments_api
from services.intake.appointments.agenda import Agenda
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.domain.places import ServicePoints
from services.intake.appointments.mongo import MongoAppointmentRepository, MongoSlotPlaces
from services.intake.appointments.service_points_file import load_service_points
from services.intake.config import IntakeSettings
from services.intake.conversations import routes as conversations_api
from services.intake.conversations.mongo import MongoConversationRepository, MongoInboundMessages
from services.intake.conversations.service_layer import ConversationContext, DeliveryReportContext
from services.intake.conversations.whatsapp_media import WhatsAppMedia, media_client
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.entrypoints import (
    api,
    complaints_api,
    documents_api,
    requests_api,
    sign_in_api,
)
from services.intake.entrypoints.access import ACCESS
from services.intake.entrypoints.consumer import Dependencies, subscription
from services.intake.service_layer.commands import CommandContext
from services.intake.service_layer.message_caps import MESSAGE_CAP_PURPOSE, MessageCaps
from services.intake.service_layer.sign_in import SignInContext
from shared.access import Counting
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.crypto import Cipher
from shared.dependencies import provide
from shared.events.sealing import event_keys
from shared.http.app import ReadinessCheck, Wiring, build_app
from shared.http.middleware import StreamedBody
from shared.kafka import service_topics
from shared.mongo_counts import MongoCounts
from shared.runtime import ServiceProcess, connected

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
    """Connects the engines, then wires each feature in turn; the consumer comes last."""
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
        process = ServiceProcess(settings, settings.consumer_group, infra, cipher, keys, clock)
        requests = await wire_requests(app, process, settings, catalogue, signer)
        documents = wire_documents(app, process, settings)
        agenda = wire_appointments(app, process, settings, requests, service_points)
        complaints = wire_complaints(app, process, requests)
        commands = CommandContext(
            catalogue=catalogue,
            calendar=requests.calendar,
            requests=requests.repository,
            idempotency_keys=requests.idempotency_keys,
            agenda=agenda,
            complaints=complaints,
            subject_of=partial(citizen_subject, cipher),
            sign_in=requests.sign_in,
        )
        wire_conversations(app, process, settings, requests, commands, documents, media_http)
        process.consume(subscription, Dependencies(repository=requests.repository))
        async with process.running() as checks:
            yield checks


async def wire_requests(
    app: FastAPI,
    process: ServiceProcess,
    settings: IntakeSettings,
    catalogue: ServiceCatalogue,
    signer: CitizenTokenSigner,
) -> api.IntakeContext:
    """Requests and citizens' sign-in, with the counts behind rate limits and message caps;
    what the other features share."""
    cipher = process.cipher
    repository = MongoRequestRepository(
        process.db["requests"],
        process.db["tracking_sequence"],
        process.db["open_applications"],
        cipher,
    )
    await repository.ensure_indexes()
    process.relay("outbox_relay", "requests", repository.outgoing)
    sign_ins = MongoSignInRepository(process.db["sign_in_codes"], cipher)
    process.relay("sign_in_outbox_relay", "sign_in_codes", sign_ins.outgoing)
    counts = MongoCounts(process.db["counts"])
    await counts.ensure_indexes()
    context = api.IntakeContext(
        repository=repository,
        idempotency_keys=MongoIdempotencyKeys(process.db["idempotency_keys"]),
        catalogue=catalogue,
        sign_in=SignInContext(
            repository=sign_ins,
            hash_code=lambda challenge_id, code: cipher.lookup_hash(
                f"{challenge_id}:{code}", purpose=CODE_PURPOSE
            ),
            counts=counts,
            rules=settings.sign_in_rules(),
        ),
        citizen_tokens=signer,
        calendar=settings.calendar(),
        clock=process.clock,
        counts=counts,
        message_caps=MessageCaps.of(
            counts,
            partial(cipher.lookup_hash, purpose=MESSAGE_CAP_PURPOSE),
            settings.message_cap_rules(),
        ),
        wrong_lookups_per_hour=settings.wrong_lookups_per_hour,
    )
    provide(app, Counting(counts=counts, clock=process.clock), context)
    return context


def wire_documents(
    app: FastAPI, process: ServiceProcess, settings: IntakeSettings
) -> MongoDocumentStore:
    """Citizens' documents, uploaded to a request or sent in a chat."""
    store = MongoDocumentStore(
        process.db["documents"], process.db["document_chunks"], process.cipher
    )
    provide(
        app,
        documents_api.DocumentsContext(
            store=store, default_service_point=settings.default_service_point
        ),
    )
    return store


def wire_appointments(
    app: FastAPI,
    process: ServiceProcess,
    settings: IntakeSettings,
    requests: api.IntakeContext,
    service_points: ServicePoints,
) -> Agenda:
    """Visits booked for the services done in person."""
    appointments = MongoAppointmentRepository(
        process.db["appointments"], process.db["appointment_holders"], process.cipher
    )
    process.relay("appointment_outbox_relay", "appointments", appointments.outgoing)
    agenda = Agenda(
        appointments=appointments,
        places=MongoSlotPlaces(process.db["appointment_slots"]),
        rules=BookingRules(
            service_points=service_points,
            calendar=requests.calendar,
            horizon_days=settings.booking_horizon_days,
        ),
    )
    provide(
        app,
        appointments_api.AppointmentsContext(
            agenda=agenda,
            catalogue=requests.catalogue,
            clock=process.clock,
            message_caps=requests.message_caps,
        ),
    )
    return agenda


def wire_complaints(
    app: FastAPI, process: ServiceProcess, requests: api.IntakeContext
) -> MongoComplaintRepository:
    """Citizens' complaints, illegal fees among them."""
    complaints = MongoComplaintRepository(process.db["complaints"], process.cipher)
    process.relay("complaint_outbox_relay", "complaints", complaints.outgoing)
    provide(
        app,
        complaints_api.ComplaintsContext(
            complaints=complaints,
            requests=requests.repository,
            clock=process.clock,
            message_caps=requests.message_caps,
        ),
    )
    return complaints


def wire_conversations(
    app: FastAPI,
    process: ServiceProcess,
    settings: IntakeSettings,
    requests: api.IntakeContext,
    commands: CommandContext,
    documents: MongoDocumentStore,
    media_http: httpx.AsyncClient,
) -> None:
    """The WhatsApp and SMS webhooks: conversations, commands and providers' delivery reports."""
    inbound = MongoInboundMessages(process.db["inbound_messages"], process.cipher)
    process.relay("inbound_outbox_relay", "inbound_messages", inbound.outgoing)
    conversations = MongoConversationRepository(
        process.db["conversations"], process.db["conversation_documents"], process.cipher
    )
    process.relay("conversation_outbox_relay", "conversations", conversations.outgoing)
    whatsapp = conversations_api.WhatsAppContext(
        app_secret=settings.secret("INTAKE_WHATSAPP_APP_SECRET", settings.whatsapp_app_secret)
        .get_secret_value()
        .encode(),
        verify_token=settings.secret(
            "INTAKE_WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token
        ).get_secret_value(),
        conversations=ConversationContext(
            conversations=conversations,
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
            requests=requests.repository,
            idempotency_keys=requests.idempotency_keys,
            documents=documents,
            catalogue=requests.catalogue,
            calendar=requests.calendar,
            citizen_id=partial(citizen_subject, process.cipher),
            commands=commands,
        ),
        reports=DeliveryReportContext(inbound=inbound),
        clock=process.clock,
    )
    sms = conversations_api.SmsWebhookContext(
        secret=settings.secret("INTAKE_SMS_WEBHOOK_SECRET", settings.sms_webhook_secret)
        .get_secret_value()
        .encode(),
        inbound=inbound,
        commands=commands,
        clock=process.clock,
    )
    provide(app, whatsapp, sms)


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
            requests_api.router,
            sign_in_api.router,
            documents_api.router,
            conversations_api.router,
            appointments_api.router,
            complaints_api.router,
        ],
        access=ACCESS,
        unbounded_paths=[
            conversations_api.WHATSAPP_WEBHOOK_PATH,
            conversations_api.SMS_WEBHOOK_PATH,
        ],
        streamed_routes={
            documents_api.DOCUMENTS_PATH: StreamedBody(
                max_bytes=settings.max_document_bytes, timeout_s=settings.document_timeout_s
            )
        },
        staff_keys=staff_keys,
        rate_limits=settings.rate_limits(),
        extra_issuers=[signer.trusted_issuer()],
    )
