"""One open application per NIK and service on the real engine: racing submissions of the same
form, from two channels at once, store exactly one request."""

from __future__ import annotations

import asyncio

from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.domain.citizen_request import SubmissionForm, Submitter
from services.intake.domain.open_applications import AlreadyOpen
from services.intake.service_layer.submission import SubmissionOutcome, submit_request
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.values import NotificationChannel
from shared.mongo import Document
from tests.builders import FORM_FIELDS, MOBILE, T0, VALID_NIK, cipher

FORM = SubmissionForm(
    service_code="KTP_CETAK",
    nik=VALID_NIK,
    name="Siti Aminah",
    phone=MOBILE,
    preferred_channel=NotificationChannel.SMS,
    fields=FORM_FIELDS["KTP_CETAK"],
)
RACERS = 6


async def test_of_racing_submissions_of_one_nik_and_service_exactly_one_is_stored(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoRequestRepository(
        mongo_db["requests"], mongo_db["tracking_sequence"], mongo_db["open_applications"], cipher()
    )
    await repository.ensure_indexes()
    keys = MongoIdempotencyKeys(mongo_db["idempotency_keys"])

    async def submit(n: int) -> SubmissionOutcome:
        channel = (Channel.API, Channel.SMS)[n % 2]
        return await submit_request(
            form=FORM,
            submitter=Submitter(
                actor=Actor(kind=ActorKind.CITIZEN, id="citizen-1", channel=channel),
                owner_phone=MOBILE,
            ),
            idempotency_key=f"key-{n}",
            repository=repository,
            idempotency_keys=keys,
            catalogue=load_catalogue(),
            calendar=WorkingCalendar(),
            now=T0,
        )

    outcomes = await asyncio.gather(*(submit(n) for n in range(RACERS)), return_exceptions=True)

    stored = [outcome for outcome in outcomes if isinstance(outcome, SubmissionOutcome)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, AlreadyOpen)]
    assert len(stored) == 1, outcomes
    assert len(refused) == RACERS - 1, outcomes
    number = stored[0].request.tracking_number
    assert {refusal.tracking_number for refusal in refused} <= {number, "*****" + number[-3:]}
    assert await mongo_db["requests"].count_documents({}) == 1
    [hold] = await mongo_db["open_applications"].find().to_list()
    assert hold["request_id"] == stored[0].request.request_id
