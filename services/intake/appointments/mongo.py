"""Visits in MongoDB: one document per visit, one per citizen's hold, one per slot's places.

Everything a booking decides is a conditional write by `_id`, the only lookup the local engine
does not answer by scanning:
- `appointments`: `_id` is the booking number; the citizen (NIK, name, phone) and the owner's
  phone are sealed; each carries its own outbox of events.
- `appointment_holders`: `_id` is a keyed hash of the NIK and the service code, so that a NIK
  holds one visit per service without being stored; it names the booking number.
- `appointment_slots`: `_id` is `service point|date|slot`; `bookings` lists the booking numbers
  holding a place. A place is taken only while the list is shorter than the capacity, and only
  once per booking number, so racing bookings never oversell and a retry never counts twice;
  a booking is refused only when it saw the list full.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.appointments.domain.appointment import Appointment, AppointmentStatus
from services.intake.appointments.domain.places import SlotKey
from shared.crypto import Cipher
from shared.events.envelope import Actor, CloudEvent
from shared.events.models.requests import Applicant
from shared.mongo import (
    Document,
    insert_new,
    outbox_fields,
    retry_write_conflicts,
    update_document,
    versioned,
    with_outbox,
)
from shared.outbox import Outbox

HOLDER_PURPOSE = "appointment-holder"
_SEPARATOR = "|"
_LAST = "\uffff"
"""Sorts after every character a slot code has: the end of a range of `_id`s by prefix."""
TAKE_ATTEMPTS = 10
"""Rounds a booking makes while the slot has room but changes under it; a slot that keeps
filling and emptying that often is refused as full."""


class MongoAppointmentRepository:
    def __init__(
        self,
        appointments: AsyncCollection[Document],
        holders: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self.outgoing = Outbox()
        self._appointments = appointments
        self._holders = holders
        self._cipher = cipher

    async def add(self, appointment: Appointment) -> bool:
        number = appointment.booking_number
        personal = {
            "citizen": appointment.citizen.model_dump(mode="json"),
            "owner_phone": appointment.owner_phone,
        }
        return await insert_new(
            self._appointments,
            {
                "_id": number,
                "appointment_id": appointment.appointment_id,
                "service_code": appointment.service_code,
                "service_point": appointment.slot.service_point,
                "day": appointment.slot.day.isoformat(),
                "slot": appointment.slot.slot,
                "starts_at": appointment.starts_at,
                "ends_at": appointment.ends_at,
                "personal": self._cipher.seal_json(personal, context=_personal(number)),
                "booked_by": appointment.booked_by.model_dump(mode="json"),
                "status": appointment.status.value,
                "created_at": appointment.created_at,
                "rescheduled_from": appointment.rescheduled_from,
                "replaced_by": appointment.replaced_by,
                **outbox_fields((), self._cipher),
            },
        )

    async def get(self, booking_number: str) -> Appointment | None:
        document = await self._appointments.find_one({"_id": booking_number}, {"outbox": 0})
        return None if document is None else self._appointment(document)

    def _appointment(self, document: Document) -> Appointment:
        number = document["_id"]
        personal: dict[str, Any] = self._cipher.open_json(
            document["personal"], context=_personal(number)
        )
        return Appointment(
            appointment_id=document["appointment_id"],
            booking_number=number,
            service_code=document["service_code"],
            slot=SlotKey(
                service_point=document["service_point"],
                day=date.fromisoformat(document["day"]),
                slot=document["slot"],
            ),
            starts_at=document["starts_at"],
            ends_at=document["ends_at"],
            citizen=Applicant.model_validate(personal["citizen"]),
            owner_phone=personal["owner_phone"],
            booked_by=Actor.model_validate(document["booked_by"]),
            status=AppointmentStatus(document["status"]),
            created_at=document["created_at"],
            rescheduled_from=document["rescheduled_from"],
            replaced_by=document["replaced_by"],
        )

    async def save(
        self,
        appointment: Appointment,
        outbox: Sequence[CloudEvent],
        *,
        expected: AppointmentStatus,
    ) -> bool:
        return await update_document(
            self._appointments,
            appointment.booking_number,
            with_outbox(
                {
                    "$set": {
                        "status": appointment.status.value,
                        "replaced_by": appointment.replaced_by,
                    }
                },
                outbox,
                self._cipher,
            ),
            expected={"status": expected.value},
        )

    async def discard(self, booking_number: str) -> None:
        await retry_write_conflicts(
            lambda: self._appointments.delete_one(
                {"_id": booking_number, "status": AppointmentStatus.HOLDING.value}
            )
        )

    def _holder_id(self, nik: str, service_code: str) -> str:
        return self._cipher.lookup_hash(nik, purpose=HOLDER_PURPOSE) + _SEPARATOR + service_code

    async def holder(self, nik: str, service_code: str) -> str | None:
        document = await self._holders.find_one({"_id": self._holder_id(nik, service_code)})
        return None if document is None else str(document["booking_number"])

    async def hold(
        self, nik: str, service_code: str, booking_number: str, *, replacing: str | None
    ) -> bool:
        holder_id = self._holder_id(nik, service_code)
        if replacing is None:
            return await insert_new(
                self._holders, {"_id": holder_id, "booking_number": booking_number}
            )
        return await update_document(
            self._holders,
            holder_id,
            {"$set": {"booking_number": booking_number}},
            expected={"booking_number": replacing},
        )

    async def release(self, nik: str, service_code: str, booking_number: str) -> None:
        holder_id = self._holder_id(nik, service_code)
        await retry_write_conflicts(
            lambda: self._holders.delete_one({"_id": holder_id, "booking_number": booking_number})
        )


class MongoSlotPlaces:
    def __init__(self, slots: AsyncCollection[Document]) -> None:
        self._slots = slots

    async def take(self, slot: SlotKey, booking_number: str, *, capacity: int) -> bool:
        """One update while there is room; only when it matches nothing is the slot read, to tell
        a full slot from a place held already or from a slot nobody booked yet, which has no
        document and which the first booking inserts. A slot with room at that read changed
        after the update (another booking inserted it, or a place was freed), so the booking
        goes round again: a bounded number of times, with a short random pause from the second
        time on, so that racers spread out."""
        slot_id = _slot_id(slot)
        room = {
            "_id": slot_id,
            f"bookings.{capacity - 1}": {"$exists": False},
            "bookings": {"$ne": booking_number},
        }
        update = versioned({"$push": {"bookings": booking_number}})
        for attempt in range(TAKE_ATTEMPTS):
            if attempt > 1:
                await asyncio.sleep(random.uniform(0, 0.001 * attempt))
            result = await retry_write_conflicts(lambda: self._slots.update_one(room, update))
            if result.modified_count == 1:
                return True
            document = await self._slots.find_one({"_id": slot_id}, {"bookings": 1})
            if document is None:
                if await insert_new(self._slots, {"_id": slot_id, "bookings": [booking_number]}):
                    return True
                continue
            bookings = document["bookings"]
            if booking_number in bookings:
                return True
            if len(bookings) >= capacity:
                return False
        return False

    async def release(self, slot: SlotKey, booking_number: str) -> None:
        await update_document(
            self._slots,
            _slot_id(slot),
            {"$pull": {"bookings": booking_number}},
            expected={"bookings": booking_number},
        )

    async def taken(self, slot: SlotKey) -> list[str]:
        document = await self._slots.find_one({"_id": _slot_id(slot)}, {"bookings": 1})
        return [] if document is None else list(document["bookings"])

    async def counts(self, service_point: str, first: date, last: date) -> dict[SlotKey, int]:
        """One range of `_id`s: MongoDB walks its index; the local engine scans the collection,
        which holds a few thousand small documents a year."""
        prefix = service_point + _SEPARATOR
        counts: dict[SlotKey, int] = {}
        cursor = self._slots.find(
            {
                "_id": {
                    "$gte": prefix + first.isoformat(),
                    "$lte": prefix + last.isoformat() + _LAST,
                }
            },
            {"bookings": 1},
        )
        async for document in cursor:
            if document["bookings"]:
                counts[_slot_key(document["_id"])] = len(document["bookings"])
        return counts


def _slot_id(slot: SlotKey) -> str:
    return _SEPARATOR.join((slot.service_point, slot.day.isoformat(), slot.slot))


def _slot_key(slot_id: str) -> SlotKey:
    service_point, day, slot = slot_id.split(_SEPARATOR)
    return SlotKey(service_point=service_point, day=date.fromisoformat(day), slot=slot)


def _personal(booking_number: str) -> str:
    return f"appointments/{booking_number}/personal"
