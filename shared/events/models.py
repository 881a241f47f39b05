"""Version 1 of the events on the requests, cases, notifications and identity topics.

Fields marked `personal_data` (NIK, names, phone numbers) travel sealed on Kafka
(`shared/events/sealing.py`), are pseudonymised before they reach the audit log, and are never
logged.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import Event, RequestEvent, registered_events
from shared.events.topics import (
    APPOINTMENTS,
    CASES,
    COMPLAINTS,
    CONVERSATIONS,
    IDENTITY,
    INTEGRITY,
    LETTERS,
    NOTIFICATIONS,
    REQUESTS,
    Topic,
)

PERSONAL: dict[str, Any] = {"personal_data": True}
SEALED_FOR_NOTIFY: dict[str, Any] = {**PERSONAL, "sealed_for": "notify"}
"""A secret only notify may read: sealed to notify's public key, so not even its writer opens it."""


class NotificationChannel(StrEnum):
    """How a citizen wants to hear from the office."""

    WHATSAPP = "WHATSAPP"
    SMS = "SMS"


class DeliveryChannel(StrEnum):
    """How a message goes out: a citizen's channels, and e-mail for staff."""

    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"

    @classmethod
    def of(cls, channel: NotificationChannel) -> DeliveryChannel:
        return cls(channel.value)


class Applicant(BaseModel):
    """The citizen a request is for, as given at submission."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: str = Field(description="16-digit national identity number.", json_schema_extra=PERSONAL)
    name: str = Field(description="Full name as on the KK.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="Mobile number in E.164 form; none for a citizen without a phone, helped by "
        "a village operator, who is then notified instead.",
        json_schema_extra=PERSONAL,
    )
    preferred_channel: NotificationChannel = Field(description="Where notifications go.")


class RequestSubmitted(RequestEvent):
    """A citizen's request was accepted by intake."""

    event_type: ClassVar[str] = "id.go.adminduk.request.submitted.v1"
    topic: ClassVar[Topic] = REQUESTS

    service_code: str = Field(description="Catalogue code of the service asked for, e.g. KK_BARU.")
    tracking_number: str = Field(
        description="What the citizen quotes to follow the request up, e.g. K7M2Q9XP."
    )
    applicant: Applicant = Field(description="Who the request is for and how to reach them.")
    form: dict[str, str] = Field(
        default_factory=dict,
        description="The service's own form fields as checked against the catalogue, by name.",
        json_schema_extra=PERSONAL,
    )
    assisted_contact: str | None = Field(
        default=None,
        description="For a citizen without a phone: the phone of the village operator or "
        "counter officer who submitted for them (their token's phone_number), where news of the "
        "request goes instead.",
        json_schema_extra=PERSONAL,
    )
    consent_recorded: bool = Field(
        default=False,
        description="A village operator or counter officer submitted it, and recorded that the "
        "citizen agreed to it.",
    )
    submitted_at: datetime = Field(description="When intake accepted the request (UTC).")
    deadline_working_days: int = Field(
        ge=1, description="The service's deadline in working days, from the catalogue."
    )
    expected_at: datetime = Field(
        description="When the citizen was told to expect the document (UTC): the deadline on "
        "the office's working-day calendar."
    )
    missing_documents: list[str] = Field(
        default_factory=list,
        description="Catalogue codes of the mandatory documents not yet sent; a "
        "`RequestCompleted` follows once they are all there.",
    )
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the tracking number, the expected date and what is missing; "
        "notify then sends no receipt. None: notify sends one.",
    )


class RequestCancelled(RequestEvent):
    """The citizen (or who submitted for them) withdrew the request before verification."""

    event_type: ClassVar[str] = "id.go.adminduk.request.cancelled.v1"
    topic: ClassVar[Topic] = REQUESTS

    cancelled_at: datetime = Field(description="When intake took the withdrawal (UTC).")


class RequestResubmitted(RequestEvent):
    """The citizen fixed what the office asked for and sent the request back."""

    event_type: ClassVar[str] = "id.go.adminduk.request.resubmitted.v1"
    topic: ClassVar[Topic] = REQUESTS

    resubmitted_at: datetime = Field(description="When intake took it back (UTC).")


class DocumentAttached(RequestEvent):
    """A document for the request was received and stored by intake."""

    event_type: ClassVar[str] = "id.go.adminduk.request.document_attached.v1"
    topic: ClassVar[Topic] = REQUESTS

    document_id: str = Field(description="Intake's id of the stored file.")
    requirement: str = Field(description="Catalogue code of the document it fulfils, e.g. KK.")
    media_type: str = Field(description="The type sniffed from the file's bytes.")
    size_bytes: int = Field(ge=1, description="The file's size.")
    sha256: str = Field(description="SHA-256 of the file's bytes, hex.")
    replaces: str | None = Field(
        default=None,
        description="The document id it replaces, which intake removed: one sent before an "
        "officer began to verify the request, or one a send-back asked for again.",
    )
    attached_at: datetime = Field(description="When intake stored it (UTC).")


class DocumentViewed(RequestEvent):
    """Someone other than the citizen opened a document of the request; auditors see who read
    whose papers."""

    event_type: ClassVar[str] = "id.go.adminduk.request.document_viewed.v1"
    topic: ClassVar[Topic] = REQUESTS

    document_id: str = Field(description="Intake's id of the file that was read.")
    requirement: str = Field(description="Catalogue code of the document.")
    viewed_at: datetime = Field(description="When it was handed out (UTC).")


class RequestCompleted(RequestEvent):
    """Every mandatory document of the request is present: the office can verify it."""

    event_type: ClassVar[str] = "id.go.adminduk.request.completed.v1"
    topic: ClassVar[Topic] = REQUESTS

    documents: dict[str, str] = Field(
        description="Document id by catalogue code, for every document present."
    )
    completed_at: datetime = Field(description="When the last mandatory document came (UTC).")


class AppointmentBooked(Event):
    """A visit to a service point was booked for an in-person service."""

    event_type: ClassVar[str] = "id.go.adminduk.appointment.booked.v1"
    topic: ClassVar[Topic] = APPOINTMENTS

    appointment_id: str = Field(description="Intake's id of the appointment; the event's key.")
    booking_number: str = Field(description="What the citizen shows at the counter.")
    service_code: str = Field(description="Catalogue code of the in-person service.")
    service_point: str = Field(description="Where the visit takes place.")
    starts_at: datetime = Field(description="Start of the booked time slot (UTC).")
    ends_at: datetime = Field(description="End of the booked time slot (UTC).")
    nik: str = Field(description="The citizen's NIK.", json_schema_extra=PERSONAL)
    name: str = Field(description="The citizen's name.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="Where to confirm and remind, in E.164 form.", json_schema_extra=PERSONAL
    )
    contact_channel: NotificationChannel = Field(description="Channel to confirm and remind on.")
    rescheduled_from: str | None = Field(
        default=None, description="The appointment this one replaces, when rescheduled."
    )
    booked_at: datetime = Field(description="When it was booked (UTC).")
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the booking number, when and where; notify then sends no "
        "confirmation (the reminder still comes). None: notify sends one.",
    )

    @property
    def subject(self) -> str:
        return self.appointment_id


class AppointmentCancelled(Event):
    """A booked visit was cancelled, or replaced by a rescheduled one; its slot is free again."""

    event_type: ClassVar[str] = "id.go.adminduk.appointment.cancelled.v1"
    topic: ClassVar[Topic] = APPOINTMENTS

    appointment_id: str = Field(description="The cancelled appointment; the event's key.")
    booking_number: str = Field(description="The cancelled visit's booking number.")
    service_code: str = Field(description="Catalogue code of the in-person service.")
    service_point: str = Field(description="Where the visit was to take place.")
    starts_at: datetime = Field(description="Start of the cancelled time slot (UTC).")
    ends_at: datetime = Field(description="End of the cancelled time slot (UTC).")
    name: str = Field(description="The citizen's name.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="The phone the visit was booked with (E.164), told of the cancellation as "
        "it was of the booking; none for a visit booked at the counter without one.",
        json_schema_extra=PERSONAL,
    )
    contact_channel: NotificationChannel = Field(description="Channel to tell it on.")
    rescheduled_to: str | None = Field(
        default=None, description="The appointment that replaces it, when rescheduled."
    )
    cancelled_at: datetime = Field(description="When it was cancelled (UTC).")

    @property
    def subject(self) -> str:
        return self.appointment_id


class ComplaintCategory(StrEnum):
    ILLEGAL_FEE = "ILLEGAL_FEE"
    """Pungli: someone asked for money for a free service."""
    RUDENESS = "RUDENESS"
    DELAY = "DELAY"
    OTHER = "OTHER"


class ComplaintFiled(Event):
    """A citizen complained about an illegal fee, rudeness or a delay; audit follows it up."""

    event_type: ClassVar[str] = "id.go.adminduk.complaint.filed.v1"
    topic: ClassVar[Topic] = COMPLAINTS

    complaint_id: str = Field(description="Intake's id of the complaint; the event's key.")
    complaint_number: str = Field(description="What the citizen quotes to follow it up.")
    category: ComplaintCategory = Field(description="What the complaint is about.")
    description: str = Field(description="The citizen's own words.", json_schema_extra=PERSONAL)
    request_id: str | None = Field(
        default=None, description="The request it is about, when a tracking number was given."
    )
    anonymous: bool = Field(description="Whether the citizen withheld who they are.")
    phone: str | None = Field(
        default=None,
        description="Where to answer, unless anonymous, in E.164 form.",
        json_schema_extra=PERSONAL,
    )
    filed_at: datetime = Field(description="When intake took it (UTC).")
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the complaint number; notify then sends no acknowledgement. None: "
        "notify sends one.",
    )

    @property
    def subject(self) -> str:
        return self.complaint_id


class ConversationReply(Event):
    """Intake's answer to a citizen's WhatsApp or SMS message; notify sends it as it is."""

    event_type: ClassVar[str] = "id.go.adminduk.conversation.reply.v1"
    topic: ClassVar[Topic] = CONVERSATIONS

    reply_id: str = Field(description="Intake's id of the reply; the event's key.")
    phone: str = Field(description="Who to answer, in E.164 form.", json_schema_extra=PERSONAL)
    channel: NotificationChannel = Field(description="The channel the citizen wrote on.")
    text: str = Field(description="The reply, in plain Indonesian.", json_schema_extra=PERSONAL)
    in_reply_to: str = Field(description="The provider's id of the citizen's message.")

    @property
    def subject(self) -> str:
        return self.reply_id


class CaseOpened(RequestEvent):
    """Processing opened a case for a submitted request."""

    event_type: ClassVar[str] = "id.go.adminduk.case.opened.v1"
    topic: ClassVar[Topic] = CASES

    service_code: str = Field(description="Catalogue code of the service.")
    state: str = Field(description="The case's state after opening.")
    opened_at: datetime = Field(description="When the case was opened (UTC).")
    due_at: datetime = Field(description="When the office must have finished (UTC).")
    service_point: str = Field(description="The office whose queues the case is in.")
    applicant_name: str = Field(
        description="Name to greet the citizen by.", json_schema_extra=PERSONAL
    )
    contact_phone: str | None = Field(
        description="Where to notify the citizen; none for a citizen without a phone, whose "
        "village operator or counter officer (the event's submitter) follows the request.",
        json_schema_extra=PERSONAL,
    )
    contact_channel: NotificationChannel = Field(description="Channel to notify the citizen on.")


class CaseStage(StrEnum):
    """The work a case waits for, and so whose queue it is in."""

    VERIFICATION = "VERIFICATION"
    APPROVAL = "APPROVAL"
    ISSUANCE = "ISSUANCE"
    COMPLETION = "COMPLETION"


class CollectionMethod(StrEnum):
    """How the citizen gets an issued document."""

    PRINT_AT_HOME = "PRINT_AT_HOME"
    OFFICE = "OFFICE"
    VILLAGE = "VILLAGE"


class CaseEvent(RequestEvent):
    """A step in a case's life; `state` is where the case stands after it."""

    state: str = Field(description="The case's state after the step.")
    at: datetime = Field(description="When the step was taken (UTC).")


class CaseClaimed(CaseEvent):
    """An officer took a case from a work queue."""

    event_type: ClassVar[str] = "id.go.adminduk.case.claimed.v1"
    topic: ClassVar[Topic] = CASES

    stage: CaseStage = Field(description="The work the officer took the case for.")
    out_of_order: bool = Field(description="Taken ahead of older cases waiting in the queue.")
    reason_code: str | None = Field(description="Why it was taken out of order.")


class CaseReleased(CaseEvent):
    """An officer put a claimed case back in its queue, untouched."""

    event_type: ClassVar[str] = "id.go.adminduk.case.released.v1"
    topic: ClassVar[Topic] = CASES

    stage: CaseStage = Field(description="The queue the case went back to.")


class CaseViewed(CaseEvent):
    """Someone read a case's personal data."""

    event_type: ClassVar[str] = "id.go.adminduk.case.viewed.v1"
    topic: ClassVar[Topic] = CASES


class RevisionRequested(CaseEvent):
    """The case went back to the citizen to fix something; its deadline clock stopped."""

    event_type: ClassVar[str] = "id.go.adminduk.case.revision_requested.v1"
    topic: ClassVar[Topic] = CASES

    items: list[str] = Field(description="What to fix, in Indonesian, one item each.")
    documents: list[str] = Field(
        default_factory=list,
        description="Catalogue codes of the documents to send again; only these may be replaced.",
    )


class CaseResubmitted(CaseEvent):
    """The citizen fixed what was asked; the case is back in verification, the clock running."""

    event_type: ClassVar[str] = "id.go.adminduk.case.resubmitted.v1"
    topic: ClassVar[Topic] = CASES

    due_at: datetime = Field(description="The deadline, moved by the time the citizen took.")


class CaseVerified(CaseEvent):
    """A verifier found the request and its documents in order."""

    event_type: ClassVar[str] = "id.go.adminduk.case.verified.v1"
    topic: ClassVar[Topic] = CASES


class CaseApproved(CaseEvent):
    """The head of office approved the document's issuance."""

    event_type: ClassVar[str] = "id.go.adminduk.case.approved.v1"
    topic: ClassVar[Topic] = CASES


class DocumentIssued(CaseEvent):
    """The document exists, and the citizen is told how to get it."""

    event_type: ClassVar[str] = "id.go.adminduk.case.document_issued.v1"
    topic: ClassVar[Topic] = CASES

    document_number: str = Field(description="The issued document's number.")
    collection: CollectionMethod = Field(description="How the citizen gets it.")


class CaseRejected(CaseEvent):
    """The request cannot be granted, for the reason given."""

    event_type: ClassVar[str] = "id.go.adminduk.case.rejected.v1"
    topic: ClassVar[Topic] = CASES

    reason: str = Field(description="Why, in Indonesian, for the citizen.")


class CaseCompleted(CaseEvent):
    """The citizen has the document."""

    event_type: ClassVar[str] = "id.go.adminduk.case.completed.v1"
    topic: ClassVar[Topic] = CASES

    on_time: bool = Field(description="Whether it was done by the deadline.")


class CaseCancelled(CaseEvent):
    """The citizen withdrew the request before verification began."""

    event_type: ClassVar[str] = "id.go.adminduk.case.cancelled.v1"
    topic: ClassVar[Topic] = CASES


class CaseReassigned(CaseEvent):
    """A supervisor gave a claimed case to another officer."""

    event_type: ClassVar[str] = "id.go.adminduk.case.reassigned.v1"
    topic: ClassVar[Topic] = CASES

    from_officer: str = Field(description="Who held the case.")
    to_officer: str = Field(description="Who holds it now.")


class DeadlineWarning(CaseEvent):
    """A share of the case's time has passed; its holder and the supervisor are warned."""

    event_type: ClassVar[str] = "id.go.adminduk.case.deadline_warning.v1"
    topic: ClassVar[Topic] = CASES

    percent: int = Field(description="How much of the working time has passed, e.g. 50 or 80.")
    due_at: datetime = Field(description="The deadline (UTC).")
    holder: str | None = Field(description="The officer who holds the case, if anyone.")
    service_point: str | None = Field(
        default=None, description="The case's service point, whose supervisors are warned."
    )


class DeadlineBreached(CaseEvent):
    """The deadline passed before the case was finished."""

    event_type: ClassVar[str] = "id.go.adminduk.case.deadline_breached.v1"
    topic: ClassVar[Topic] = CASES

    due_at: datetime = Field(description="The deadline that passed (UTC).")
    holder: str | None = Field(description="The officer who holds the case, if anyone.")
    service_point: str | None = Field(
        default=None, description="The case's service point, whose supervisors are told."
    )


class NotificationSent(Event):
    """A message reached the provider for delivery to a citizen."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.sent.v1"
    topic: ClassVar[Topic] = NOTIFICATIONS

    notification_id: str = Field(description="Notify's id of the message.")
    about: str = Field(description="The request or sign-in the message is about; the event's key.")
    channel: DeliveryChannel = Field(description="Channel the message went out on.")
    template: str = Field(description="Name of the message template used.")
    provider_message_id: str = Field(description="The provider's id for the message.")
    sent_at: datetime = Field(description="When the provider accepted the message (UTC).")

    @property
    def subject(self) -> str:
        return self.about


class ChannelTried(BaseModel):
    """One channel a message was tried on before notify moved on from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: DeliveryChannel = Field(description="The channel tried.")
    attempts: int = Field(description="How many deliveries were tried on it.")
    reason: str = Field(description="Its last error, without personal data.")


class NotificationFailed(Event):
    """Notify gave up on a message after its retries on every channel of its route."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.failed.v1"
    topic: ClassVar[Topic] = NOTIFICATIONS

    notification_id: str = Field(description="Notify's id of the message.")
    about: str = Field(description="The request or sign-in the message is about; the event's key.")
    channel: DeliveryChannel = Field(description="Channel that was tried.")
    attempts: int = Field(description="How many deliveries were tried.")
    reason: str = Field(description="The last error, without personal data.")
    failed_at: datetime = Field(description="When notify gave up (UTC).")
    tried: list[ChannelTried] = Field(
        default_factory=list,
        description="Every channel of the route in the order tried, the last one included.",
    )

    @property
    def subject(self) -> str:
        return self.about


class NotificationHistoryViewed(RequestEvent):
    """An officer read the messages sent about a request (templates, channels, masked numbers):
    like every staff read of a record, auditors see who looked."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.history_viewed.v1"
    topic: ClassVar[Topic] = NOTIFICATIONS

    messages: int = Field(description="How many messages the history held.")
    viewed_at: datetime = Field(description="When it was read (UTC).")


class DeliveryStatus(StrEnum):
    """What a provider reports of a message it accepted, in the order it can happen."""

    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"


class NotificationStatusChanged(Event):
    """A provider reported a delivery status notify had not seen for the message: sent,
    delivered, read, or failed for good."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.status_changed.v1"
    topic: ClassVar[Topic] = NOTIFICATIONS

    notification_id: str | None = Field(
        description="Notify's id of the message; none when the report named no message notify "
        "knows."
    )
    about: str | None = Field(
        description="The request or sign-in the message is about, when known; the event's key."
    )
    channel: DeliveryChannel = Field(description="Channel the message went out on.")
    provider_message_id: str = Field(description="The provider's id for the message.")
    status: DeliveryStatus = Field(description="The status reported.")
    current_status: DeliveryStatus = Field(
        description="The message's status after this report: a late `DELIVERED` after `READ` "
        "leaves it `READ`."
    )
    at: datetime = Field(description="When the provider says it happened (UTC).")
    error_code: str | None = Field(
        description="The provider's error code of a failure, e.g. WhatsApp's `131026`."
    )

    @property
    def subject(self) -> str:
        return self.about or f"{self.channel.value}:{self.provider_message_id}"


class DeliveryReported(Event):
    """A provider reported, on intake's webhook, the delivery status of a message notify sent;
    intake passes it on once per message and status, and notify records it. Meta calls one
    callback URL for citizens' messages and for these statuses, and that URL is intake's."""

    event_type: ClassVar[str] = "id.go.adminduk.conversation.delivery_reported.v1"
    topic: ClassVar[Topic] = CONVERSATIONS

    channel: DeliveryChannel = Field(description="The channel the message went out on.")
    provider_message_id: str = Field(
        description="The provider's id for the message (WhatsApp's wamid); the event's key."
    )
    status: DeliveryStatus = Field(description="The status reported.")
    at: datetime = Field(description="When the provider says it happened (UTC).")
    idempotency_key: str | None = Field(
        default=None,
        description="The key notify sent the message under, as the provider echoed it "
        "(WhatsApp's `biz_opaque_callback_data`).",
    )
    error_code: str | None = Field(
        default=None, description="The provider's error code of a failure, e.g. `131026`."
    )
    error_title: str | None = Field(
        default=None,
        description="The provider's fixed title of the error (e.g. `Message undeliverable`), "
        "never its free text, which may quote the message or the number.",
    )

    @property
    def subject(self) -> str:
        return self.provider_message_id


class SignInCodeRequested(Event):
    """A citizen asked for a one-time code to sign in; notify sends it to their phone."""

    event_type: ClassVar[str] = "id.go.adminduk.identity.sign_in_code_requested.v1"
    topic: ClassVar[Topic] = IDENTITY

    challenge_id: str = Field(description="Intake's id of this sign-in attempt; the event's key.")
    phone: str = Field(
        description="Where the code goes, in E.164 form.", json_schema_extra=PERSONAL
    )
    channel: NotificationChannel = Field(description="How the code goes.")
    code: str = Field(
        description="The one-time code, sealed to notify alone; audit logs a pseudonym of the "
        "sealed text, never the code.",
        json_schema_extra=SEALED_FOR_NOTIFY,
    )
    expires_at: datetime = Field(description="When the code stops working (UTC).")

    @property
    def subject(self) -> str:
        return self.challenge_id


class LetterEvent(Event):
    """A step in an official letter's life; `state` is where the letter stands after it."""

    letter_id: str = Field(
        description="The letter's id, `{year}-{agenda number:05d}`; the key of all its events."
    )
    state: str = Field(description="The letter's state after the step.")
    at: datetime = Field(description="When the step was taken (UTC).")

    @property
    def subject(self) -> str:
        return self.letter_id


class LetterRegistered(LetterEvent):
    """A letter clerk registered an incoming letter and it got its agenda number."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.registered.v1"
    topic: ClassVar[Topic] = LETTERS

    agenda_number: int = Field(description="The office's agenda number, in order within the year.")
    sender: str = Field(
        description="Who sent the letter; may be a person.", json_schema_extra=PERSONAL
    )
    reference_number: str = Field(description="The sender's own number of the letter.")
    letter_date: date = Field(description="The date the sender gave the letter.")
    regarding: str = Field(
        description="What the letter is about (perihal); may name people.",
        json_schema_extra=PERSONAL,
    )
    classification: str = Field(description="The filing classification code, e.g. 470.")
    urgency: str = Field(description="biasa, segera or sangat_segera.")
    confidentiality: str = Field(description="biasa, terbatas or rahasia.")
    due_at: datetime = Field(description="When the reply is due (UTC).")
    service_point: str = Field(description="The office that received the letter.")


class LetterScanAttached(LetterEvent):
    """The scanned letter was stored."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.scan_attached.v1"
    topic: ClassVar[Topic] = LETTERS

    media_type: str = Field(description="The sniffed type of the scan.")
    size_bytes: int = Field(description="Size of the scan in bytes.")


class LetterDisposed(LetterEvent):
    """The letter was disposed to an official, by the head of office or down a chain."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposed.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition's id within the letter, e.g. D2.")
    parent_id: str | None = Field(description="The disposition it passes on, if any.")
    to_official: str = Field(description="Who must act on it (token subject).")
    to_unit: str = Field(description="The official's unit (service point).")
    instruction: str = Field(description="The instruction's code from the office's list.")
    note: str | None = Field(
        description="Free text with the instruction; may name people.", json_schema_extra=PERSONAL
    )
    due_at: datetime = Field(description="When it must be followed up (UTC).")


class DispositionRead(LetterEvent):
    """The official opened the disposition given to them."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_read.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition read.")


class DispositionWithdrawn(LetterEvent):
    """The one who disposed took back a disposition before it was read."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_withdrawn.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition withdrawn.")


class DispositionFollowedUp(LetterEvent):
    """The official reported what they did."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_followed_up.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition followed up.")
    note: str = Field(description="What was done; may name people.", json_schema_extra=PERSONAL)
    on_time: bool = Field(description="Whether it was followed up by its deadline.")


class DispositionClosed(LetterEvent):
    """The official closed the disposition: nothing (more) to do."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_closed.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition closed.")


class LetterAnswered(LetterEvent):
    """An outgoing reply was registered; the letter is closed."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.answered.v1"
    topic: ClassVar[Topic] = LETTERS

    reply_number: str = Field(description="The outgoing letter's own number.")
    reply_date: date = Field(description="The date of the outgoing letter.")
    on_time: bool = Field(description="Whether the reply was registered by the letter's deadline.")


class LetterClosed(LetterEvent):
    """The head of office closed the letter without a reply."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.closed.v1"
    topic: ClassVar[Topic] = LETTERS

    reason: str = Field(description="Why no reply is needed.", json_schema_extra=PERSONAL)


class LetterViewed(LetterEvent):
    """Someone allowed to read a confidential letter read it."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.viewed.v1"
    topic: ClassVar[Topic] = LETTERS

    confidentiality: str = Field(description="biasa, terbatas or rahasia.")


class LetterAccessRefused(LetterEvent):
    """Someone neither its clerk, the head of its office nor on its chain tried to take a step on
    a letter, or to read a confidential one."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.access_refused.v1"
    topic: ClassVar[Topic] = LETTERS

    confidentiality: str = Field(description="biasa, terbatas or rahasia.")


class DispositionReminded(LetterEvent):
    """The holder of a disposition was reminded: its deadline nears, or it lies unread."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_reminded.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition.")
    holder: str = Field(description="Who holds it (token subject).")
    reason: str = Field(description="`due_soon` or `unread` (one working day).")
    due_at: datetime = Field(description="Its deadline (UTC).")


class DispositionEscalated(LetterEvent):
    """A disposition's deadline passed unfollowed: the one who disposed it is told, and auditors
    see the breach."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_escalated.v1"
    topic: ClassVar[Topic] = LETTERS

    disposition_id: str = Field(description="The disposition.")
    holder: str = Field(description="Who held it.")
    holder_unit: str = Field(description="The holder's unit.")
    escalated_to: str = Field(description="Who disposed it, told now.")
    due_at: datetime = Field(description="The deadline that passed (UTC).")


class IntegrityAlert(Event):
    """An integrity rule found something in the audit log that auditors must follow up."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_raised.v1"
    topic: ClassVar[Topic] = INTEGRITY

    alert_id: str = Field(description="`{rule}-{index}`: the rule and the entry that triggered it.")
    rule: str = Field(description="The rule, e.g. QUEUE_JUMP, SELF_DEALING, ILLEGAL_FEE.")
    index: int = Field(description="The audit log index of the entry that triggered it.")
    evidence: list[int] = Field(description="Audit log indexes of the entries that show it.")
    officers: list[str] = Field(description="The officers it is about (token subjects).")
    service_point: str | None = Field(description="The service point it is counted for.")
    about: str = Field(description="The request, letter or complaint it is about.")
    summary: str = Field(description="What happened, in Indonesian.")
    occurred_at: datetime = Field(description="When the triggering event happened (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id


class IntegrityAlertAcknowledged(Event):
    """An auditor took up an integrity alert."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_acknowledged.v1"
    topic: ClassVar[Topic] = INTEGRITY

    alert_id: str = Field(description="The alert; the event's key.")
    at: datetime = Field(description="When it was acknowledged (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id


class IntegrityAlertResolved(Event):
    """An auditor closed an integrity alert with a note of what was found or done."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_resolved.v1"
    topic: ClassVar[Topic] = INTEGRITY

    alert_id: str = Field(description="The alert; the event's key.")
    note: str = Field(
        description="What the auditor found or did; may name people.", json_schema_extra=PERSONAL
    )
    at: datetime = Field(description="When it was resolved (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id


EVENT_TYPES = registered_events()
"""Every event type of the system; importing this module registers them."""
