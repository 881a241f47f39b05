"""The visit and complaint contracts, on the in-memory fakes the unit tests use."""

from __future__ import annotations

import pytest

from tests.contracts.appointments import (
    AppointmentRepositoryContract,
    ComplaintRepositoryContract,
    SlotPlacesContract,
)
from tests.fakes_appointments import (
    FakeAppointmentRepository,
    FakeComplaintRepository,
    FakeSlotPlaces,
)


class TestFakeAppointmentRepository(AppointmentRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeAppointmentRepository:
        return FakeAppointmentRepository()


class TestFakeSlotPlaces(SlotPlacesContract):
    @pytest.fixture
    def places(self) -> FakeSlotPlaces:
        return FakeSlotPlaces()


class TestFakeComplaintRepository(ComplaintRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeComplaintRepository:
        return FakeComplaintRepository()
