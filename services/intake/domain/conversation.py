"""A guided conversation that fills in a request by chat (WhatsApp, SMS): the rules, free of I/O.

Per phone number: a menu of the online services and the other actions, then the chosen
service's form one question at a time (NIK, name, each field of the catalogue), its documents
as photos or PDFs one message each, a summary, and a confirmation. Every answer is checked as it
comes, with the same rules as every other channel, and a wrong one is asked again with the reason.
`BATAL`, `STATUS <nomor>`, `BANTUAN` and `MENU` work at any step, in any case and spacing.
A conversation left alone for `IDLE_LIMIT` starts again from the menu.

Each message gives a `Turn`: the conversation as it is to be stored, the one reply to send, and
what the service layer must do around it (hold a fetched document, drop held ones, submit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.intake.domain.catalogue import (
    DocumentRequirement,
    FieldType,
    FormField,
    IntakeChannel,
    ServiceCatalogue,
    ServiceDefinition,
    UnknownService,
)
from services.intake.domain.citizen_request import RequestStatus, SubmissionForm
from services.intake.domain.forms import InvalidForm, check_field
from services.intake.domain.identity import (
    InvalidIdentity,
    check_resident,
    normalize_phone,
    validate_nik,
)
from services.intake.domain.text import InvalidText, normalize_name
from services.intake.domain.tracking import TRACKING_PATTERN, normalize_tracking_number
from shared.calendar import JAKARTA
from shared.events.models.values import NotificationChannel
from shared.files import MediaType
from shared.wib import moment_label

IDLE_LIMIT = timedelta(minutes=30)
MAX_NAME_LENGTH = 120
SKIP = "LEWATI"
CONFIRM = "YA"

_TRACKING = re.compile(TRACKING_PATTERN)
_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_MEDIA_NAMES = {MediaType.PDF: "file PDF", MediaType.JPEG: "foto JPG", MediaType.PNG: "gambar PNG"}
_STATUS_TEXT = {
    RequestStatus.SUBMITTED: "sudah diterima dan menunggu diperiksa petugas",
    RequestStatus.IN_VERIFICATION: "sedang diperiksa petugas",
    RequestStatus.NEEDS_REVISION: "perlu Anda perbaiki; rinciannya ada di aplikasi Adminduk",
    RequestStatus.APPROVED: "sudah disetujui dan dokumennya sedang dibuat",
    RequestStatus.ISSUED: "dokumennya sudah terbit",
    RequestStatus.COMPLETED: "selesai",
    RequestStatus.REJECTED: "ditolak; alasannya ada di aplikasi Adminduk",
    RequestStatus.CANCELLED: "dibatalkan",
}
_OPEN = frozenset({RequestStatus.SUBMITTED, RequestStatus.IN_VERIFICATION, RequestStatus.APPROVED})
_INTAKE_CHANNELS = {
    NotificationChannel.WHATSAPP: IntakeChannel.WHATSAPP,
    NotificationChannel.SMS: IntakeChannel.SMS,
}


class Step(StrEnum):
    """What the conversation waits for."""

    IDLE = "IDLE"
    """Nothing asked yet (new, finished, cancelled or expired): a menu number (typed from an
    earlier menu, or sent by a list row or button) is taken as the choice, anything else gets
    the menu."""
    MENU = "MENU"
    NIK = "NIK"
    NAME = "NAME"
    FIELD = "FIELD"
    DOCUMENT = "DOCUMENT"
    CONFIRM = "CONFIRM"


@dataclass(frozen=True)
class HeldDocument:
    """A document received and held (by the service layer) until the request is submitted."""

    media_type: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Conversation:
    """One phone number's conversation; `position` indexes the field or document asked for."""

    step: Step
    last_active: datetime
    service_code: str | None = None
    nik: str | None = None
    name: str | None = None
    answers: Mapping[str, str] = field(default_factory=dict)
    position: int = 0
    documents: Mapping[str, HeldDocument] = field(default_factory=dict)
    """Held documents by catalogue code."""


class FetchProblem(StrEnum):
    TOO_LARGE = "TOO_LARGE"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class FetchedFile:
    """A photo or file fetched for the document `requirement`; its type read from its bytes."""

    requirement: str
    media_type: MediaType | None
    size_bytes: int
    sha256: str
    unreadable: str | None = None
    """Why the whole file does not open as the type it begins as, in Indonesian, if it does not."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Media:
    """A photo or file. `fetched` is None when no document was awaited, so none was fetched."""

    fetched: FetchedFile | FetchProblem | None = None


@dataclass(frozen=True)
class Unsupported:
    """A voice note, sticker, location, contact card…: nothing a form can use."""

    kind: str


Content = Text | Media | Unsupported


@dataclass(frozen=True)
class LookedUp:
    """A request found by its tracking number and owned by the phone asking."""

    status: RequestStatus
    expected_at: datetime


@dataclass(frozen=True)
class Turn:
    """The outcome of one message."""

    conversation: Conversation
    reply: str
    hold: str | None = None
    """Catalogue code of the fetched file to hold with the conversation."""
    drop: tuple[str, ...] = ()
    """Catalogue codes of held documents no longer needed."""
    submit: SubmissionForm | None = None
    """The form to submit; then `submitted` or `refused` gives the turn to store."""


def tracking_number_asked(content: Content) -> str | None:
    """The tracking number of a `STATUS <nomor>` message, if a valid one is given."""
    if not isinstance(content, Text):
        return None
    words = content.text.split()
    if len(words) < 2 or words[0].upper() != "STATUS":
        return None
    number = normalize_tracking_number("".join(words[1:]))
    return number if _TRACKING.fullmatch(number) else None


KEYWORD_COMMANDS = frozenset({"JANJI", "ADUAN", "MASUK"})
"""Commands the conversation hands to the keyword channel: booking a visit, filing a complaint,
proving the phone to end a sign-in lockout."""
VISIT_HOW = (
    "Perekaman KTP-el dan aktivasi IKD dilakukan langsung di kantor. Untuk membuat janji, "
    "ketik:\nJANJI <layanan> <tanggal> <NIK> <nama>\n"
    "misalnya: JANJI KTP_REKAM 31-12-2026 3516091204800001 Budi Santoso"
)
COMPLAINT_HOW = (
    "Untuk mengadu, ketik:\nADUAN <PUNGLI/KASAR/LAMBAT/LAIN> <cerita singkat>\n"
    "misalnya: ADUAN PUNGLI petugas meminta uang. Identitas pelapor dirahasiakan."
)


def keyword_command(content: Content) -> bool:
    """Whether the message is a `JANJI`, `ADUAN` or `MASUK` command, answered outside the
    conversation."""
    if not isinstance(content, Text):
        return False
    words = content.text.split()
    return bool(words) and words[0].upper() in KEYWORD_COMMANDS


def answered(conversation: Conversation | None, reply: str, *, now: datetime) -> Turn:
    """A keyword command's answer; the conversation stays where it was."""
    state = _current(conversation, now) or Conversation(step=Step.IDLE, last_active=now)
    return Turn(_touched(state, now), reply)


def awaited_document(
    conversation: Conversation | None, catalogue: ServiceCatalogue, *, now: datetime
) -> DocumentRequirement | None:
    """The document the conversation waits for, so that a photo or file is fetched only then."""
    current = _current(conversation, now)
    if current is None or current.step is not Step.DOCUMENT:
        return None
    service = _service(current, catalogue)
    return None if service is None else service.documents[current.position]


def receive(
    conversation: Conversation | None,
    content: Content,
    *,
    phone: str,
    channel: NotificationChannel,
    catalogue: ServiceCatalogue,
    now: datetime,
    looked_up: LookedUp | None = None,
) -> Turn:
    """Answers one message from `phone` (E.164). For `STATUS <nomor>`, `looked_up` is the
    request found, or None when there is none this phone may see."""
    flow = _Flow(catalogue, _INTAKE_CHANNELS[channel], channel, phone, now)
    current = _current(conversation, now)
    expired = conversation is not None and current is None and _in_form(conversation)
    state = current or Conversation(step=Step.IDLE, last_active=now)
    dropped = tuple(conversation.documents) if conversation and current is None else ()
    try:
        normalize_phone(phone)
    except InvalidIdentity:
        return Turn(_touched(state, now), FOREIGN_NUMBER, drop=dropped)
    turn = flow.answer(_touched(state, now), content, looked_up=looked_up, expired=expired)
    return replace(turn, drop=tuple(dict.fromkeys(dropped + turn.drop)))


def submitted(
    conversation: Conversation,
    catalogue: ServiceCatalogue,
    *,
    tracking_number: str,
    expected_at: datetime,
    missing_documents: Sequence[str],
    now: datetime,
) -> Turn:
    """The conversation ends with the tracking number, the expected date and a reminder that the
    service is free; documents that could not be attached are named."""
    service = _service(conversation, catalogue)
    name = service.name if service else conversation.service_code
    lines = [
        f"Pengajuan {name} Anda sudah kami terima.",
        f"Nomor permohonan: {tracking_number}",
        f"Perkiraan selesai: {moment_label(expected_at)}.",
    ]
    if missing_documents:
        names = [_document_name(service, code) for code in missing_documents]
        lines.append(
            "Dokumen ini belum kami terima; kirimkan lewat aplikasi Adminduk: "
            + "; ".join(names)
            + "."
        )
    lines += [
        f"Untuk melihat statusnya, ketik STATUS {tracking_number}.",
        FREE_OF_CHARGE,
    ]
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        "\n".join(lines),
        drop=tuple(conversation.documents),
    )


def refused(conversation: Conversation, *, reason: str, now: datetime) -> Turn:
    """The office's rules refused the form (e.g. the catalogue changed meanwhile): start over."""
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        f"Maaf, pengajuan tidak dapat kami terima: {reason}\nKetik MENU untuk memulai lagi.",
        drop=tuple(conversation.documents),
    )


def already_open(
    conversation: Conversation,
    catalogue: ServiceCatalogue,
    *,
    tracking_number: str,
    shown: bool,
    now: datetime,
) -> Turn:
    """The NIK has a request for the service still open: the conversation ends with its number
    (in full only to the phone that owns it) instead of a second request."""
    service = _service(conversation, catalogue)
    name = service.name if service else conversation.service_code
    if shown:
        how = f"Untuk melihat statusnya, ketik STATUS {tracking_number}."
    else:
        how = "Nomor lengkapnya ada di pesan tanda terima ke nomor HP yang didaftarkan."
    lines = [
        f"Maaf, NIK ini masih memiliki permohonan {name} yang sedang diproses, nomor "
        f"permohonan {tracking_number}. Permohonan baru dapat diajukan setelah yang ini selesai.",
        how,
    ]
    return Turn(
        Conversation(step=Step.IDLE, last_active=now),
        "\n".join(lines),
        drop=tuple(conversation.documents),
    )


FREE_OF_CHARGE = (
    "Layanan ini GRATIS. Jangan berikan uang kepada siapa pun; bila ada yang meminta, "
    "laporkan kepada kami."
)
FOREIGN_NUMBER = "Maaf, layanan ini hanya untuk nomor seluler Indonesia (+62 8…)."
UNSUPPORTED = "Maaf, kami hanya dapat membaca pesan teks, pilihan menu, foto, dan file PDF."
EXPIRED = (
    "Percakapan sebelumnya kami akhiri karena tidak ada balasan selama "
    f"{IDLE_LIMIT.seconds // 60} menit; isian yang belum dikirim tidak disimpan."
)
STATUS_HOW = "Ketik STATUS diikuti nomor permohonan Anda, misalnya: STATUS K7M2Q9XP"
STATUS_UNKNOWN = (
    "Kami tidak menemukan permohonan dengan nomor itu untuk nomor WhatsApp atau HP ini. Bila "
    "permohonan diajukan dari nomor lain, cek statusnya di aplikasi Adminduk dengan nomor "
    "permohonan dan 4 angka terakhir NIK."
)


def _current(conversation: Conversation | None, now: datetime) -> Conversation | None:
    """The conversation, unless it was left alone too long."""
    if conversation is None or now - conversation.last_active >= IDLE_LIMIT:
        return None
    return conversation


def _in_form(conversation: Conversation) -> bool:
    return conversation.step not in (Step.IDLE, Step.MENU)


def _touched(conversation: Conversation, now: datetime) -> Conversation:
    return replace(conversation, last_active=now)


def _service(conversation: Conversation, catalogue: ServiceCatalogue) -> ServiceDefinition | None:
    """The conversation's service, unless the catalogue no longer has it or its question."""
    if conversation.service_code is None:
        return None
    try:
        service = catalogue.get(conversation.service_code)
    except UnknownService:
        return None
    asked = {Step.FIELD: service.fields, Step.DOCUMENT: service.documents}.get(conversation.step)
    if asked is not None and conversation.position >= len(asked):
        return None
    return service


def _document_name(service: ServiceDefinition | None, code: str) -> str:
    return code if service is None else service.document_name(code)


def _command(content: Content) -> str | None:
    if not isinstance(content, Text):
        return None
    words = content.text.upper().split()
    if words and words[0] == "STATUS":
        return "STATUS"
    if len(words) == 1 and words[0] in ("BATAL", "BANTUAN", "MENU"):
        return words[0]
    return None


@dataclass(frozen=True)
class _Flow:
    """The questions and answers of one message, for one catalogue, channel and moment."""

    catalogue: ServiceCatalogue
    intake_channel: IntakeChannel
    channel: NotificationChannel
    phone: str
    now: datetime

    @property
    def services(self) -> list[ServiceDefinition]:
        return [
            service
            for service in self.catalogue.all()
            if service.online and self.intake_channel in service.channels
        ]

    def answer(
        self,
        state: Conversation,
        content: Content,
        *,
        looked_up: LookedUp | None,
        expired: bool,
    ) -> Turn:
        command = _command(content)
        if command == "STATUS":
            return self._status(state, content, looked_up)
        if command == "BANTUAN":
            return Turn(state, self._with_prompt(state, self._help()))
        if command == "BATAL":
            return self._cancel(state)
        if command == "MENU":
            note = "Pengajuan yang sedang diisi dibatalkan.\n\n" if _in_form(state) else ""
            return self._show_menu(state, note)
        if isinstance(content, Unsupported):
            return Turn(state, self._with_prompt(state, UNSUPPORTED))
        if expired:
            return self._show_menu(state, EXPIRED + "\n\n")
        if state.step is Step.IDLE:
            if isinstance(content, Text) and self._choice(content.text) is not None:
                menu = Conversation(step=Step.MENU, last_active=self.now)
                return replace(self._choose(menu, content.text), drop=tuple(state.documents))
            return self._show_menu(state, "")
        if state.step is Step.DOCUMENT:
            return self._document(state, content)
        if not isinstance(content, Text):
            return Turn(state, self._with_prompt(state, "Saat ini kami tidak menunggu dokumen."))
        match state.step:
            case Step.MENU:
                return self._choose(state, content.text)
            case Step.NIK:
                return self._nik(state, content.text)
            case Step.NAME:
                return self._name(state, content.text)
            case Step.FIELD:
                return self._field(state, content.text)
        return self._confirm(state, content.text)

    # Menu

    def _show_menu(self, state: Conversation, note: str) -> Turn:
        fresh = Conversation(step=Step.MENU, last_active=self.now)
        return Turn(fresh, note + self._menu(), drop=tuple(state.documents))

    def _menu(self) -> str:
        services = self.services
        lines = [
            f"Selamat datang di layanan Dispendukcapil {self.catalogue.regency.name}. "
            "Semua layanan GRATIS.",
            "",
            "Balas dengan angka pilihan Anda:",
        ]
        lines += [f"{number}. {service.name}" for number, service in enumerate(services, 1)]
        lines.append(f"{len(services) + 1}. Cek status permohonan")
        lines.append(f"{len(services) + 2}. Bantuan dan pengaduan")
        lines.append(f"{len(services) + 3}. Janji kunjungan (perekaman KTP-el, aktivasi IKD)")
        return "\n".join(lines)

    def _choice(self, text: str) -> int | None:
        """The number of a menu entry, as typed or as a list row or button sends it."""
        choice = text.strip().rstrip(".")
        number = int(choice) if choice.isdigit() and len(choice) <= 3 else 0
        return number if 1 <= number <= len(self.services) + 3 else None

    def _choose(self, state: Conversation, text: str) -> Turn:
        services = self.services
        number = self._choice(text) or 0
        if 1 <= number <= len(services):
            service = services[number - 1]
            chosen = replace(state, step=Step.NIK, service_code=service.code)
            intro = [f"Anda memilih: {service.name}.", service.help]
            if service.requirements:
                intro.append("Siapkan foto atau PDF: " + "; ".join(service.requirements) + ".")
            intro.append("Ketik BATAL kapan saja untuk membatalkan.")
            return Turn(chosen, "\n".join(intro) + "\n\n" + self._prompt(chosen))
        if number == len(services) + 1:
            return Turn(state, STATUS_HOW)
        if number == len(services) + 2:
            return Turn(state, self._help() + "\n\n" + COMPLAINT_HOW)
        if number == len(services) + 3:
            return Turn(state, VISIT_HOW)
        return Turn(state, "Maaf, pilihan itu tidak ada.\n\n" + self._menu())

    # Global commands

    def _status(self, state: Conversation, content: Content, looked_up: LookedUp | None) -> Turn:
        if tracking_number_asked(content) is None:
            reply = STATUS_HOW
        elif looked_up is None:
            reply = STATUS_UNKNOWN
        else:
            reply = f"Permohonan Anda {_STATUS_TEXT[looked_up.status]}."
            if looked_up.status in _OPEN:
                reply += f" Perkiraan selesai: {moment_label(looked_up.expected_at)}."
        return Turn(state, self._with_prompt(state, reply))

    def _cancel(self, state: Conversation) -> Turn:
        if not _in_form(state):
            return Turn(state, "Tidak ada pengajuan yang sedang diisi. Ketik MENU untuk memulai.")
        return Turn(
            Conversation(step=Step.IDLE, last_active=self.now),
            "Pengajuan dibatalkan; isian Anda tidak disimpan. Ketik MENU untuk memulai lagi.",
            drop=tuple(state.documents),
        )

    def _help(self) -> str:
        return "\n".join(
            [
                f"Layanan Dispendukcapil {self.catalogue.regency.name}:",
                "- Ketik MENU untuk memilih layanan dan mengajukan permohonan.",
                "- Ketik STATUS diikuti nomor permohonan untuk melihat statusnya.",
                "- Ketik BATAL untuk membatalkan pengajuan yang sedang diisi.",
                "- Ketik JANJI <layanan> <tanggal> <NIK> <nama> untuk janji kunjungan "
                "(KTP_REKAM, IKD_AKTIVASI).",
                "Semua layanan GRATIS, tanpa biaya apa pun. Bila ada yang meminta uang atau Anda "
                "ingin mengadu, ketik ADUAN PUNGLI <cerita> (atau KASAR, LAMBAT, LAIN); "
                "identitas pelapor dirahasiakan.",
            ]
        )

    def _with_prompt(self, state: Conversation, reply: str) -> str:
        """The reply, then the question still open, so the citizen knows how to go on."""
        if state.step is Step.IDLE:
            return reply
        if state.step is Step.MENU:
            return reply + "\n\n" + self._menu()
        return reply + "\n\n" + self._prompt(state)

    # The form

    def _prompt(self, state: Conversation) -> str:
        service = _service(state, self.catalogue)
        if service is None:
            return "Maaf, layanan itu tidak lagi tersedia. Ketik MENU untuk memulai lagi."
        steps = 2 + len(service.fields) + len(service.documents)
        match state.step:
            case Step.NIK:
                return f"(1/{steps}) Ketik NIK pemohon: 16 angka yang tertera di KTP-el atau KK."
            case Step.NAME:
                return f"(2/{steps}) Ketik nama lengkap pemohon sesuai KK."
            case Step.FIELD:
                number = 3 + state.position
                return f"({number}/{steps}) " + _field_prompt(service.fields[state.position])
            case Step.DOCUMENT:
                number = 3 + len(service.fields) + state.position
                return f"({number}/{steps}) " + _document_prompt(service.documents[state.position])
            case Step.CONFIRM:
                return self._summary(state, service)
        raise AssertionError(f"no question at step {state.step}")

    def _nik(self, state: Conversation, text: str) -> Turn:
        service = _service(state, self.catalogue)
        try:
            nik = validate_nik(text)
            if service is not None and service.residents_only:
                check_resident(nik, self.catalogue.regency.code)
        except InvalidIdentity as exc:
            return self._again(state, str(exc))
        return self._next(replace(state, step=Step.NAME, nik=nik))

    def _name(self, state: Conversation, text: str) -> Turn:
        try:
            name = normalize_name(text)
        except InvalidText as exc:
            return self._again(state, str(exc))
        if len(name) > MAX_NAME_LENGTH:
            return self._again(state, f"Nama paling panjang {MAX_NAME_LENGTH} karakter.")
        return self._after_fields(replace(state, name=name), position=-1)

    def _field(self, state: Conversation, text: str) -> Turn:
        service = _service(state, self.catalogue)
        if service is None:
            return self._lost(state)
        form_field = service.fields[state.position]
        if text.strip().upper() == SKIP:
            if form_field.required:
                return self._again(state, f"{form_field.label} wajib diisi.")
            return self._after_fields(state, position=state.position)
        try:
            value = check_field(form_field, _as_answer(form_field, text), today=self._today)
        except InvalidForm as exc:
            reason = str(exc)
            if form_field.type is FieldType.CHOICE:
                reason = (
                    f"Pilihan itu tidak ada; balas dengan angka 1 sampai {len(form_field.choices)}."
                )
            return self._again(state, reason)
        answered = replace(state, answers={**state.answers, form_field.name: value})
        return self._after_fields(answered, position=state.position)

    def _after_fields(self, state: Conversation, *, position: int) -> Turn:
        """The field after `position` (-1: the first), else the first document, else the
        summary."""
        service = _service(state, self.catalogue)
        if service is None:
            return self._lost(state)
        if position + 1 < len(service.fields):
            return self._next(replace(state, step=Step.FIELD, position=position + 1))
        return self._after_documents(state, position=-1)

    def _after_documents(self, state: Conversation, *, position: int) -> Turn:
        service = _service(state, self.catalogue)
        if service is None:
            return self._lost(state)
        if position + 1 < len(service.documents):
            return self._next(replace(state, step=Step.DOCUMENT, position=position + 1))
        return self._next(replace(state, step=Step.CONFIRM, position=0))

    def _document(self, state: Conversation, content: Content) -> Turn:
        service = _service(state, self.catalogue)
        if service is None:
            return self._lost(state)
        requirement = service.documents[state.position]
        if isinstance(content, Text):
            if content.text.strip().upper() != SKIP:
                return self._again(
                    state, f"Silakan kirim {requirement.name} sebagai foto atau file PDF."
                )
            if requirement.mandatory:
                return self._again(state, f"{requirement.name} wajib dikirim.")
            return self._after_documents(state, position=state.position)
        fetched = content.fetched if isinstance(content, Media) else None
        if isinstance(fetched, FetchedFile) and fetched.requirement != requirement.code:
            fetched = FetchProblem.UNAVAILABLE
        too_large = isinstance(fetched, FetchedFile) and fetched.size_bytes > requirement.max_bytes
        if fetched is FetchProblem.TOO_LARGE or too_large:
            limit = requirement.max_bytes // (1024 * 1024)
            return self._again(state, f"File terlalu besar; paling besar {limit} MB.")
        if not isinstance(fetched, FetchedFile):
            return self._again(
                state, "Maaf, file Anda gagal kami ambil. Silakan kirim sekali lagi."
            )
        media_type = fetched.media_type
        if media_type is None or media_type not in requirement.media_types:
            allowed = " atau ".join(_MEDIA_NAMES[kind] for kind in requirement.media_types)
            return self._again(state, f"File ini tidak dapat kami terima; kirim sebagai {allowed}.")
        if fetched.unreadable is not None:
            return self._again(state, fetched.unreadable)
        held = HeldDocument(
            media_type=media_type.value,
            size_bytes=fetched.size_bytes,
            sha256=fetched.sha256,
        )
        received = replace(state, documents={**state.documents, requirement.code: held})
        turn = self._after_documents(received, position=state.position)
        return replace(
            turn,
            reply=f"Terima kasih, {requirement.name} sudah kami terima.\n\n{turn.reply}",
            hold=requirement.code,
        )

    def _confirm(self, state: Conversation, text: str) -> Turn:
        if text.strip().upper() != CONFIRM:
            return self._again(state, "Balas YA untuk mengirim, atau BATAL untuk membatalkan.")
        if state.service_code is None or state.nik is None or state.name is None:
            return self._lost(state)
        form = SubmissionForm(
            service_code=state.service_code,
            nik=state.nik,
            name=state.name,
            phone=normalize_phone(self.phone),
            preferred_channel=self.channel,
            fields=dict(state.answers),
        )
        return Turn(state, "", submit=form)

    def _summary(self, state: Conversation, service: ServiceDefinition) -> str:
        lines = [
            "Periksa kembali pengajuan Anda:",
            f"Layanan: {service.name}",
            f"NIK: {state.nik}",
            f"Nama: {state.name}",
        ]
        lines += [
            f"{form_field.label}: {_shown(form_field, state.answers[form_field.name])}"
            for form_field in service.fields
            if form_field.name in state.answers
        ]
        lines += [
            f"{document.name}: {'terkirim' if document.code in state.documents else 'tidak ada'}"
            for document in service.documents
        ]
        lines += ["", "Balas YA untuk mengirim pengajuan, atau BATAL untuk membatalkan."]
        return "\n".join(lines)

    def _next(self, state: Conversation) -> Turn:
        return Turn(state, self._prompt(state))

    def _again(self, state: Conversation, reason: str) -> Turn:
        return Turn(state, reason + "\n\n" + self._prompt(state))

    def _lost(self, state: Conversation) -> Turn:
        """The service left the catalogue mid-conversation."""
        return self._show_menu(state, "Maaf, layanan itu tidak lagi tersedia.\n\n")

    @property
    def _today(self) -> date:
        return self.now.astimezone(JAKARTA).date()


def _field_prompt(form_field: FormField) -> str:
    lines = [f"{form_field.label}: {form_field.help}"]
    if form_field.type is FieldType.CHOICE:
        lines += [
            f"{number}. {choice.label}" for number, choice in enumerate(form_field.choices, 1)
        ]
        lines.append("Balas dengan angka pilihan.")
    elif form_field.type is FieldType.DATE:
        lines.append("Ketik tanggal, misalnya 31-05-2020.")
    if not form_field.required:
        lines.append(f"Ketik {SKIP} bila tidak ada.")
    return "\n".join(lines)


def _document_prompt(requirement: DocumentRequirement) -> str:
    names = " atau ".join((requirement.name, *requirement.alternatives))
    kinds = " atau ".join(_MEDIA_NAMES[kind] for kind in requirement.media_types)
    line = f"Kirim {names}, sebagai {kinds} (satu dokumen satu pesan)."
    if not requirement.mandatory:
        line += f" Dokumen ini tidak wajib: ketik {SKIP} untuk melewatinya."
    return line


def _as_answer(form_field: FormField, text: str) -> str:
    """What the citizen typed, in the form `check_field` reads: a choice's number as its key, a
    day-first date (31-05-2020, 31/05/2020) as ISO."""
    answer = text.strip()
    if form_field.type is FieldType.CHOICE:
        if answer.isdigit() and 1 <= int(answer) <= len(form_field.choices):
            return form_field.choices[int(answer) - 1].key
        by_label = {choice.label.upper(): choice.key for choice in form_field.choices}
        return by_label.get(answer.upper(), answer)
    if form_field.type is FieldType.DATE and (match := _DAY_FIRST.fullmatch(answer)):
        day, month, year = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return answer


def _shown(form_field: FormField, value: str) -> str:
    choice = form_field.choice(value) if form_field.type is FieldType.CHOICE else None
    return choice.label if choice else value
