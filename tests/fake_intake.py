"""Intake's whole HTTP app on fakes, every context in place, for tests that call any route."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from fastapi import FastAPI

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import citizen_subject
from services.intake.appointments.agenda import Agenda
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.routes import AppointmentsContext
from services.intake.appointments.service_points_file import load_service_points
from services.intake.bootstrap import token_signer
from services.intake.config import IntakeSettings
from services.intake.conversations.routes import SmsWebhookContext, WhatsAppContext
from services.intake.conversations.service_layer import (
    ConversationContext,
    DeliveryReportContext,
)
from services.intake.domain.message_caps import MessageCapRules
from services.intake.entrypoints.api import IntakeContext
from services.intake.entrypoints.complaints_api import ComplaintsContext
from services.intake.entrypoints.documents_api import DocumentsContext
from services.intake.service_layer.commands import CommandContext
from services.intake.service_layer.message_caps import MessageCaps
from services.intake.service_layer.ports import CitizenTokens
from services.intake.service_layer.sign_in import SignInContext
from shared.access import Counting
from shared.calendar import WorkingCalendar
from shared.dependencies import provide
from tests.builders import T0, cipher
from tests.fakes import (
    CallCounter,
    FakeClock,
    FakeCounts,
    FakeDocumentStore,
    FakeIdempotencyKeys,
    FakeRequestRepository,
    FakeSignInRepository,
    message_caps,
)
from tests.fakes_appointments import (
    FakeAppointmentRepository,
    FakeComplaintRepository,
    FakeSlotPlaces,
)
from tests.fakes_conversations import (
    FakeConversationRepository,
    FakeInboundMessages,
    FakeMediaSource,
)

CATALOGUE = load_catalogue()
SETTINGS = IntakeSettings(submissions_per_minute=10**6, lookups_per_minute=10**6)
WHATSAPP_APP_SECRET = "whatsapp-app-secret-for-tests"
WHATSAPP_VERIFY_TOKEN = "whatsapp-verify-token-for-tests"
SMS_SECRET = "sms-gateway-secret-for-tests"


@dataclass
class FakeIntake:
    """The fakes behind every route; tests read what the routes stored in them."""

    citizen_tokens: CitizenTokens = field(default_factory=lambda: token_signer(SETTINGS, cipher()))
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    requests: FakeRequestRepository = field(default_factory=FakeRequestRepository)
    idempotency_keys: FakeIdempotencyKeys = field(default_factory=FakeIdempotencyKeys)
    sign_ins: FakeSignInRepository = field(default_factory=FakeSignInRepository)
    counts: FakeCounts = field(default_factory=FakeCounts)
    message_cap_rules: MessageCapRules = field(
        default_factory=lambda: MessageCapRules(per_phone_day=10**6, per_minute=10**6)
    )
    """Lifted, as are the rate limits in SETTINGS: the tests send many forms from one phone."""
    documents: FakeDocumentStore = field(default_factory=FakeDocumentStore)
    conversations: FakeConversationRepository = field(default_factory=FakeConversationRepository)
    inbound: FakeInboundMessages = field(default_factory=FakeInboundMessages)
    media: FakeMediaSource = field(default_factory=FakeMediaSource)
    appointments: FakeAppointmentRepository = field(default_factory=FakeAppointmentRepository)
    places: FakeSlotPlaces = field(default_factory=FakeSlotPlaces)
    complaints: FakeComplaintRepository = field(default_factory=FakeComplaintRepository)
    outbox_ready: CallCounter = field(default_factory=CallCounter)
    """The relay of every store's outbox."""
    wrong_lookups_per_hour: int = SETTINGS.wrong_lookups_per_hour

    def __post_init__(self) -> None:
        for store in (
            self.requests,
            self.sign_ins,
            self.conversations,
            self.inbound,
            self.appointments,
            self.complaints,
        ):
            store.outgoing.register(self.outbox_ready)

    def agenda(self) -> Agenda:
        return Agenda(
            appointments=self.appointments,
            places=self.places,
            rules=BookingRules(
                service_points=load_service_points(CATALOGUE), calendar=WorkingCalendar()
            ),
        )

    def commands(self) -> CommandContext:
        """What `JANJI`, `ADUAN` and the SMS commands work with."""
        return CommandContext(
            catalogue=CATALOGUE,
            calendar=WorkingCalendar(),
            requests=self.requests,
            idempotency_keys=self.idempotency_keys,
            agenda=self.agenda(),
            complaints=self.complaints,
            subject_of=partial(citizen_subject, cipher()),
            sign_in=self.sign_in(),
        )

    @property
    def message_caps(self) -> MessageCaps:
        return message_caps(self.counts, self.message_cap_rules)

    def sign_in(self) -> SignInContext:
        return SignInContext(
            repository=self.sign_ins,
            hash_code=lambda challenge_id, code: f"{challenge_id}:{code}",
            counts=self.counts,
            rules=SETTINGS.sign_in_rules(),
        )

    def install(self, app: FastAPI) -> None:
        calendar = WorkingCalendar()
        subject_of = partial(citizen_subject, cipher())
        provide(
            app,
            IntakeContext(
                repository=self.requests,
                idempotency_keys=self.idempotency_keys,
                catalogue=CATALOGUE,
                sign_in=self.sign_in(),
                citizen_tokens=self.citizen_tokens,
                calendar=calendar,
                clock=self.clock,
                counts=self.counts,
                message_caps=self.message_caps,
                wrong_lookups_per_hour=self.wrong_lookups_per_hour,
            ),
        )
        provide(app, Counting(counts=self.counts, clock=self.clock))
        provide(app, DocumentsContext(store=self.documents, default_service_point="KANTOR_DINAS"))
        provide(
            app,
            WhatsAppContext(
                app_secret=WHATSAPP_APP_SECRET.encode(),
                verify_token=WHATSAPP_VERIFY_TOKEN,
                conversations=ConversationContext(
                    conversations=self.conversations,
                    inbound=self.inbound,
                    media=self.media,
                    requests=self.requests,
                    idempotency_keys=self.idempotency_keys,
                    documents=self.documents,
                    catalogue=CATALOGUE,
                    calendar=calendar,
                    citizen_id=subject_of,
                    commands=self.commands(),
                ),
                reports=DeliveryReportContext(inbound=self.inbound),
                clock=self.clock,
            ),
        )
        provide(
            app,
            AppointmentsContext(
                agenda=self.agenda(),
                catalogue=CATALOGUE,
                clock=self.clock,
                message_caps=self.message_caps,
            ),
        )
        provide(
            app,
            ComplaintsContext(
                complaints=self.complaints,
                requests=self.requests,
                clock=self.clock,
                message_caps=self.message_caps,
            ),
        )
        provide(
            app,
            SmsWebhookContext(
                secret=SMS_SECRET.encode(),
                inbound=self.inbound,
                commands=self.commands(),
                clock=self.clock,
            ),
        )
