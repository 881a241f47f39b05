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
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.adapters.mongo_sign_in import MongoSignInRepository
from services.intake.config import IntakeSettings
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.entrypoints import api, sign_in_api
from services.intake.entrypoints.access import ACCESS
from services.intake.entrypoints.consumer import Dependencies, subscription
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.crypto import Cipher
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
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
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics("intake", subscription=subscription, group_id=settings.consumer_group)
    async with connected(settings, topics) as infra:
        requests = infra.db["requests"]
        sign_ins = infra.db["sign_in_codes"]
        relay = OutboxRelay(collection=requests, producer=infra.producer, cipher=cipher)
        sign_in_relay = OutboxRelay(collection=sign_ins, producer=infra.producer, cipher=cipher)
        repository = MongoRequestRepository(requests, infra.db["tracking_numbers"], cipher)
        app.state.context = api.IntakeContext(
            repository=repository,
            idempotency_keys=MongoIdempotencyKeys(infra.db["idempotency_keys"]),
            catalogue=catalogue,
            outbox_ready=relay.wake,
            sign_ins=MongoSignInRepository(sign_ins, cipher),
            sign_in_outbox_ready=sign_in_relay.wake,
            hash_code=lambda challenge_id, code: cipher.lookup_hash(
                f"{challenge_id}:{code}", purpose=CODE_PURPOSE
            ),
            citizen_tokens=signer,
            calendar=settings.calendar(),
            clock=clock,
        )
        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=Dependencies(repository=repository),
            clock=clock,
            producer=infra.producer,
        )
        workers: dict[str, Worker] = {
            "outbox_relay": relay,
            "sign_in_outbox_relay": sign_in_relay,
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
    return build_app(
        title="Adminduk Go Digital: intake",
        settings=settings,
        wiring=wiring or partial(connect, settings, cipher, signer, catalogue),
        routers=[api.router, sign_in_api.router],
        access=ACCESS,
        staff_keys=staff_keys,
        rate_limits=settings.rate_limits(),
        extra_issuers=[signer.trusted_issuer()],
    )
