"""Valid domain objects and events with sensible defaults, for tests to vary one field at a time.

Times are whole seconds in UTC: MongoDB keeps milliseconds only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from services.notify.domain.notification import Notification, NotificationStatus
from services.processing.domain.case import Case, CaseState
from shared.crypto import Cipher
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models import EVENT_TYPES
from shared.events.models.cases import CaseOpened
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import DeliveryChannel, NotificationChannel
from shared.events.sealing import EventKeys, topic_sealed
from shared.recipient_crypto import RecipientOpener

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="anonymous", channel=Channel.API)
SYSTEM = Actor.system("test")


def cipher() -> Cipher:
    """A cipher with fixed test keys."""
    return Cipher(data_keys=[b"k" * 32], lookup_key=b"l" * 32)


def event_keys(service: str = "notify") -> EventKeys:
    """Fixed test keys of every personal topic; notify's private key for the sign-in code
    only when `service` is notify, as in the services' own wiring."""
    opener = RecipientOpener([b"c" * 32])
    topics = {cls.topic.name for cls in EVENT_TYPES.values() if topic_sealed(cls)}
    return EventKeys(
        service=service,
        topics={topic: Cipher(data_keys=[b"t" * 32], lookup_key=None) for topic in topics},
        recipients={"notify": opener.sealer},
        own=opener if service == "notify" else None,
    )


def opened(raw: bytes | None, keys: EventKeys | None = None) -> CloudEvent:
    """A published event as its readers see it, personal fields opened."""
    event = CloudEvent.from_json_bytes(raw)
    data = (keys or event_keys()).open(event, EVENT_TYPES[event.type])
    return event.model_copy(update={"data": data})


VALID_NIK = "3516091204800001"


def nik(n: int) -> str:
    """Another valid NIK of the regency (n from 1 to 9999; 1 is VALID_NIK), for a citizen who
    applies for a service while others' requests for it are open."""
    return VALID_NIK[:12] + f"{n:04d}"


FAMILY_CARD = "3516090101080001"
FORM_FIELDS: dict[str, dict[str, str]] = {
    "KK_BARU": {"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"},
    "KK_UBAH": {"family_card_number": FAMILY_CARD, "change": "Tambah anak bernama Budi"},
    "KK_HILANG": {"family_card_number": FAMILY_CARD, "cause": "HILANG"},
    "KTP_CETAK": {"family_card_number": FAMILY_CARD, "reason": "RUSAK"},
    "KIA": {
        "family_card_number": FAMILY_CARD,
        "child_name": "Budi Santoso",
        "child_date_of_birth": "2019-04-12",
    },
    "AKTA_LAHIR": {
        "family_card_number": FAMILY_CARD,
        "child_name": "Budi Santoso",
        "child_date_of_birth": "2025-02-20",
        "child_sex": "L",
        "place_of_birth": "Mojokerto",
    },
    "AKTA_MATI": {
        "family_card_number": FAMILY_CARD,
        "deceased_nik": "3516095005500002",
        "deceased_name": "Sumarni",
        "date_of_death": "2025-02-28",
    },
    "PINDAH_KELUAR": {
        "family_card_number": FAMILY_CARD,
        "destination_address": "Jl. Pahlawan 3, Surabaya",
        "reason": "PEKERJAAN",
    },
    "PINDAH_DATANG": {"skpwni_number": "474/123/2025", "address": "Jl. Majapahit 5, Sooko"},
    "UBAH_DATA": {
        "family_card_number": FAMILY_CARD,
        "element": "PEKERJAAN",
        "correct_value": "Guru",
    },
}
"""Valid answers to every online service's own form fields, as of the default catalogue."""
MOBILE = "+6281234567890"


def applicant(
    *,
    nik: str = VALID_NIK,
    name: str = "Siti Aminah",
    phone: str = MOBILE,
    channel: NotificationChannel = NotificationChannel.WHATSAPP,
) -> Applicant:
    return Applicant(nik=nik, name=name, phone=phone, preferred_channel=channel)


def request_submitted(
    request_id: str = "req-1",
    *,
    service_code: str = "KK_BARU",
    submitted_at: datetime = T0,
    tracking_number: str = "K7M2Q9XP",
) -> RequestSubmitted:
    return RequestSubmitted(
        actor=CITIZEN,
        request_id=request_id,
        service_code=service_code,
        tracking_number=tracking_number,
        applicant=applicant(),
        submitted_at=submitted_at,
        deadline_working_days=1,
        expected_at=submitted_at + timedelta(days=1),
    )


def case_opened(request_id: str = "req-1", *, opened_at: datetime = T0) -> CaseOpened:
    return CaseOpened(
        actor=SYSTEM,
        request_id=request_id,
        service_code="KK_BARU",
        state="SUBMITTED",
        opened_at=opened_at,
        due_at=opened_at + timedelta(days=1),
        service_point="KANTOR_DINAS",
        applicant_name="Siti Aminah",
        contact_phone=MOBILE,
        contact_channel=NotificationChannel.SMS,
    )


def citizen_request(
    request_id: str = "req-1",
    *,
    service_code: str = "KK_BARU",
    form_digest: str = "a" * 64,
    tracking_number: str = "K7M2Q9XP",
    owner_phone: str = MOBILE,
    village: str | None = None,
    service_point: str | None = None,
) -> CitizenRequest:
    return CitizenRequest(
        request_id=request_id,
        tracking_number=tracking_number,
        service_code=service_code,
        applicant=applicant(),
        owner_phone=owner_phone,
        submitted_by=CITIZEN,
        village=village,
        service_point=service_point,
        status=RequestStatus.SUBMITTED,
        submitted_at=T0,
        expected_at=T0 + timedelta(days=1),
        form_digest=form_digest,
    )


def case(request_id: str = "req-1", *, service_code: str = "KK_BARU") -> Case:
    return Case(
        request_id=request_id,
        service_code=service_code,
        applicant=applicant(channel=NotificationChannel.SMS),
        service_point="KANTOR_DINAS",
        state=CaseState.SUBMITTED,
        opened_at=T0,
        due_at=T0 + timedelta(days=1),
    )


def notification(
    notification_id: str = "evt-1:citizen",
    *,
    next_attempt_at: datetime = T0,
    created_at: datetime = T0,
    status: NotificationStatus = NotificationStatus.PENDING,
    attempts: int = 0,
    last_error: str | None = None,
    provider_message_id: str | None = None,
) -> Notification:
    return Notification(
        notification_id=notification_id,
        about="req-1",
        channel=DeliveryChannel.WHATSAPP,
        recipient=MOBILE,
        template="request_received",
        text="Yth. Siti Aminah, permohonan KK baru Anda sudah kami terima.",
        status=status,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        created_at=created_at,
        last_error=last_error,
        provider_message_id=provider_message_id,
    )


def wrapped(event: Event, *, source: str = "/test") -> CloudEvent:
    return CloudEvent.wrap(event, source=source, time=T0)
