"""The visit and complaint contracts on MongoDB (the real FerretDB), and what they keep sealed."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_appointments import (
    MongoAppointmentRepository,
    MongoSlotPlaces,
)
from services.intake.adapters.mongo_complaints import MongoComplaintRepository
from services.intake.domain.complaints import Complaint
from shared.events.models import ComplaintCategory
from shared.mongo import Document
from tests.builders import CITIZEN, T0, VALID_NIK, cipher
from tests.contracts.appointments import (
    AppointmentRepositoryContract,
    ComplaintRepositoryContract,
    SlotPlacesContract,
    appointment,
)


class TestMongoAppointmentRepository(AppointmentRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoAppointmentRepository:
        return MongoAppointmentRepository(
            mongo_db["appointments"], mongo_db["appointment_holders"], cipher()
        )


class TestMongoSlotPlaces(SlotPlacesContract):
    @pytest.fixture
    def places(self, mongo_db: AsyncDatabase[Document]) -> MongoSlotPlaces:
        return MongoSlotPlaces(mongo_db["appointment_slots"])


class TestMongoComplaintRepository(ComplaintRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoComplaintRepository:
        return MongoComplaintRepository(mongo_db["complaints"], cipher())


async def test_a_visit_and_its_hold_store_no_personal_data_in_clear(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoAppointmentRepository(
        mongo_db["appointments"], mongo_db["appointment_holders"], cipher()
    )
    await repository.add(appointment())
    await repository.hold(VALID_NIK, "KTP_REKAM", "K7M2Q9XP", replacing=None)

    stored = str(
        await mongo_db["appointments"].find().to_list()
        + await mongo_db["appointment_holders"].find().to_list()
    )

    assert "K7M2Q9XP" in stored
    for personal in (VALID_NIK, "Siti", "81234567890"):
        assert personal not in stored


async def test_a_complaint_keeps_its_words_and_phone_sealed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoComplaintRepository(mongo_db["complaints"], cipher())
    complaint = Complaint(
        complaint_id="c0b9c1a5-1d8e-4c0e-9a57-3f1d2e4b5c6d",
        complaint_number="ADU-K7M2Q9XP",
        category=ComplaintCategory.RUDENESS,
        description="Petugas Budi membentak saya",
        request_id="req-1",
        anonymous=False,
        phone="+6281234567890",
        filed_by=CITIZEN,
        filed_at=T0,
    )
    await repository.add(complaint, [])

    [stored] = await mongo_db["complaints"].find().to_list()

    assert stored["_id"] == "ADU-K7M2Q9XP"
    assert stored["request_id"] == "req-1"
    assert "Budi" not in str(stored)
    assert "81234567890" not in str(stored)
