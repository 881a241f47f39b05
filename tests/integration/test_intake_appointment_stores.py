"""The visit and complaint contracts on MongoDB (the real FerretDB), what they keep sealed, and
what taking a place costs and decides when the slot changes between the steps of a take."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_complaints import MongoComplaintRepository
from services.intake.appointments.mongo import (
    TAKE_ATTEMPTS,
    MongoAppointmentRepository,
    MongoSlotPlaces,
)
from services.intake.domain.complaints import Complaint
from shared.events.models.complaints import ComplaintCategory
from shared.mongo import Document
from tests.builders import CITIZEN, T0, VALID_NIK, cipher
from tests.contracts.appointments import (
    SLOT,
    AppointmentRepositoryContract,
    ComplaintRepositoryContract,
    SlotPlacesContract,
    appointment,
)

Step = Callable[[], Awaitable[object]]


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


class SteppedSlots(AsyncCollection[Document]):
    """The slots collection, naming each operation a take makes and running what `before` gives
    for it just ahead: other bookings act at a chosen point between a take's steps, which a race
    between real clients reaches only now and then."""

    def __init__(self, database: AsyncDatabase[Document], before: dict[str, Step]) -> None:
        super().__init__(database, "appointment_slots")
        self.before = before
        self.operations: list[str] = []

    async def _step(self, operation: str) -> None:
        self.operations.append(operation)
        if step := self.before.get(operation):
            await step()

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        await self._step("update")
        return await super().update_one(*args, **kwargs)

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        await self._step("find")
        return await super().find_one(*args, **kwargs)

    async def insert_one(self, *args: Any, **kwargs: Any) -> Any:
        await self._step("insert")
        return await super().insert_one(*args, **kwargs)


def once(step: Step) -> Step:
    """The step the first time it is due, nothing after."""

    done = False

    async def run() -> None:
        nonlocal done
        if not done:
            done = True
            await step()

    return run


class TestMongoSlotPlacesSteps:
    """What a take does when the slot changes between its update and its read of the slot."""

    @pytest.fixture
    def others(self, mongo_db: AsyncDatabase[Document]) -> MongoSlotPlaces:
        return MongoSlotPlaces(mongo_db["appointment_slots"])

    async def test_a_slot_with_room_costs_one_update(
        self, mongo_db: AsyncDatabase[Document], others: MongoSlotPlaces
    ) -> None:
        await others.take(SLOT, "AAAA2222", capacity=2)
        slots = SteppedSlots(mongo_db, {})

        assert await MongoSlotPlaces(slots).take(SLOT, "BBBB3333", capacity=2) is True
        assert slots.operations == ["update"]

    async def test_the_first_booking_of_a_slot_inserts_it(
        self, mongo_db: AsyncDatabase[Document]
    ) -> None:
        slots = SteppedSlots(mongo_db, {})

        assert await MongoSlotPlaces(slots).take(SLOT, "AAAA2222", capacity=2) is True
        assert slots.operations == ["update", "find", "insert"]

    async def test_a_slot_inserted_by_another_booking_after_the_update_is_taken_still(
        self, mongo_db: AsyncDatabase[Document], others: MongoSlotPlaces
    ) -> None:
        slots = SteppedSlots(
            mongo_db, {"find": once(lambda: others.take(SLOT, "AAAA2222", capacity=2))}
        )

        assert await MongoSlotPlaces(slots).take(SLOT, "BBBB3333", capacity=2) is True
        assert await others.taken(SLOT) == ["AAAA2222", "BBBB3333"]
        assert slots.operations == ["update", "find", "update"]

    async def test_a_place_freed_after_the_update_is_taken_still(
        self, mongo_db: AsyncDatabase[Document], others: MongoSlotPlaces
    ) -> None:
        await others.take(SLOT, "AAAA2222", capacity=2)
        await others.take(SLOT, "BBBB3333", capacity=2)
        slots = SteppedSlots(mongo_db, {"find": once(lambda: others.release(SLOT, "AAAA2222"))})

        assert await MongoSlotPlaces(slots).take(SLOT, "CCCC4444", capacity=2) is True
        assert await others.taken(SLOT) == ["BBBB3333", "CCCC4444"]
        assert slots.operations == ["update", "find", "update"]

    async def test_a_full_slot_or_a_place_held_already_costs_one_read(
        self, mongo_db: AsyncDatabase[Document], others: MongoSlotPlaces
    ) -> None:
        await others.take(SLOT, "AAAA2222", capacity=1)
        slots = SteppedSlots(mongo_db, {})

        assert await MongoSlotPlaces(slots).take(SLOT, "BBBB3333", capacity=1) is False
        assert await MongoSlotPlaces(slots).take(SLOT, "AAAA2222", capacity=1) is True
        assert slots.operations == ["update", "find"] * 2

    async def test_a_slot_that_keeps_filling_and_freeing_is_refused_after_a_few_rounds(
        self, mongo_db: AsyncDatabase[Document], others: MongoSlotPlaces
    ) -> None:
        await others.take(SLOT, "AAAA2222", capacity=1)
        slots = SteppedSlots(
            mongo_db,
            {
                "update": lambda: others.take(SLOT, "AAAA2222", capacity=1),
                "find": lambda: others.release(SLOT, "AAAA2222"),
            },
        )

        assert await MongoSlotPlaces(slots).take(SLOT, "BBBB3333", capacity=1) is False
        assert slots.operations == ["update", "find"] * TAKE_ATTEMPTS


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
