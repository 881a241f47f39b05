"""The edges intake's use cases talk to; Mongo adapters and test fakes implement them."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from services.intake.domain.complaints import Complaint
from services.intake.domain.documents import StoredDocument
from services.intake.domain.open_applications import OpenApplication
from services.intake.domain.sign_in import SignInChallenge
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class RequestRepository(Protocol):
    outgoing: Outbox

    async def new_tracking_number(self) -> str:
        """A tracking number no other request was or will be given."""
        ...

    async def find_by_tracking_number(self, tracking_number: str) -> CitizenRequest | None:
        """The request stored with this tracking number."""
        ...

    async def hold_open(
        self, nik: str, service_code: str, held: OpenApplication, *, replacing: str | None
    ) -> bool:
        """Makes `held` the NIK's open application for the service if it has none (`replacing`
        None) or its hold still names the request `replacing`; False otherwise, so of racing
        applications exactly one holds it."""
        ...

    async def open_application(self, nik: str, service_code: str) -> OpenApplication | None:
        """The NIK's hold on the service, if any."""
        ...

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        """Stores the request with its outgoing events in one write; False if the id exists."""
        ...

    async def get(self, request_id: str) -> CitizenRequest | None:
        """Loads a request by its id."""
        ...

    async def add_events(
        self,
        request_id: str,
        outbox: list[CloudEvent],
        *,
        status: RequestStatus | None,
        moved: StatusChange | None = None,
    ) -> bool:
        """Queues the request's events, if its status is still `status` (any, for None), and
        in the same write takes the step `moved` to its new status; False otherwise or if the
        request is unknown."""
        ...

    async def record_progress(
        self, request_id: str, event_id: str, change: StatusChange, *, even_if_current: bool
    ) -> bool:
        """Sets the new status and adds it to the history, once per event, unless a later case
        step was recorded already and, unless `even_if_current`, only if the request's status is
        another, in one write; False otherwise or if the request is unknown."""
        ...

    async def attach_document(
        self,
        request_id: str,
        *,
        requirement: str,
        document_id: str,
        seen: Mapping[str, str | None],
        status: RequestStatus,
        outbox: list[CloudEvent],
    ) -> bool:
        """Records the document under its requirement and queues its events in one write, if
        the status is still `status` and each requirement in `seen` still has the document named
        there (None: none yet); False otherwise."""
        ...


class DocumentStore(Protocol):
    async def write(self, document_id: str, content: AsyncIterable[bytes]) -> None:
        """Stores a new document's bytes as they come; if `content` raises, removes what it
        stored and raises the same."""
        ...

    async def commit(self, document: StoredDocument, *, stored_at: datetime) -> None:
        """Makes a written document readable; written last, so that only a whole file is."""
        ...

    async def discard(self, document_id: str) -> None:
        """Removes a document its request did not take, and its bytes, as far as the database
        lets it: one left behind is unreachable, since only a request's documents are read."""
        ...

    async def read(self, document_id: str) -> tuple[StoredDocument, bytes] | None:
        """A committed document and its bytes; None if there is none."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        """Ties the key to `request_id` unless it is tied already; returns the id it is tied to.

        Of concurrent claims of one key, exactly one ties it; all return the same id.
        """
        ...


class SignInRepository(Protocol):
    outgoing: Outbox

    def document_id(self, phone: str) -> str:
        """Where the phone's challenge is stored: never the number itself."""
        ...

    async def current(self, phone: str) -> tuple[SignInChallenge | None, int]:
        """The phone's challenge and the version to expect when replacing it (-1: none yet)."""
        ...

    async def replace(
        self,
        phone: str,
        challenge: SignInChallenge,
        *,
        version: int,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        """Stores `challenge` if the stored one is still at `version`; False if it changed."""
        ...


class CitizenTokens(Protocol):
    def issue(self, *, phone: str, now: datetime) -> tuple[str, int]:
        """A signed token for the citizen with this number, and its lifetime in seconds."""
        ...


class ComplaintRepository(Protocol):
    outgoing: Outbox

    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        """Stores the complaint with its outgoing events in one write; False if its number is
        taken."""
        ...
