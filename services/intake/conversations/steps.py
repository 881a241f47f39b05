"""The answer to each question, checked as it comes with the same rules as every other channel:
the menu's choice, the NIK and name, each field of the catalogue, each document, and the
confirmation. A wrong answer is asked again with the reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from services.intake.conversations import replies
from services.intake.conversations.domain import (
    CONFIRM,
    MAX_NAME_LENGTH,
    SKIP,
    Content,
    Conversation,
    FetchedFile,
    FetchProblem,
    HeldDocument,
    Media,
    Step,
    Text,
    Turn,
    service_of,
)
from services.intake.conversations.flow import Flow
from services.intake.domain.catalogue import DocumentRequirement, FieldType, FormField
from services.intake.domain.citizen_request import SubmissionForm
from services.intake.domain.forms import InvalidForm, check_field
from services.intake.domain.identity import (
    InvalidIdentity,
    check_resident,
    normalize_phone,
    validate_nik,
)
from services.intake.domain.text import InvalidText, normalize_name

_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def choose(flow: Flow, state: Conversation, text: str) -> Turn:
    """A menu entry: a service starts its form, the other entries say how to go on."""
    services = flow.services
    number = flow.choice(text) or 0
    if 1 <= number <= len(services):
        service = services[number - 1]
        chosen = replace(state, step=Step.NIK, service_code=service.code)
        intro = [f"Anda memilih: {service.name}.", service.help]
        if service.requirements:
            intro.append("Siapkan foto atau PDF: " + "; ".join(service.requirements) + ".")
        intro.append("Ketik BATAL kapan saja untuk membatalkan.")
        return Turn(chosen, "\n".join(intro) + "\n\n" + flow.prompt(chosen))
    if number == len(services) + 1:
        return Turn(state, replies.STATUS_HOW)
    if number == len(services) + 2:
        return Turn(state, replies.help_text(flow.catalogue) + "\n\n" + replies.COMPLAINT_HOW)
    if number == len(services) + 3:
        return Turn(state, replies.VISIT_HOW)
    return Turn(state, "Maaf, pilihan itu tidak ada.\n\n" + flow.menu())


def nik(flow: Flow, state: Conversation, text: str) -> Turn:
    service = service_of(state, flow.catalogue)
    try:
        valid = validate_nik(text)
        if service is not None and service.residents_only:
            check_resident(valid, flow.catalogue.regency.code)
    except InvalidIdentity as exc:
        return flow.again(state, str(exc))
    return flow.next(replace(state, step=Step.NAME, nik=valid))


def name(flow: Flow, state: Conversation, text: str) -> Turn:
    try:
        normalized = normalize_name(text)
    except InvalidText as exc:
        return flow.again(state, str(exc))
    if len(normalized) > MAX_NAME_LENGTH:
        return flow.again(state, f"Nama paling panjang {MAX_NAME_LENGTH} karakter.")
    return flow.after_fields(replace(state, name=normalized), position=-1)


def field(flow: Flow, state: Conversation, text: str) -> Turn:
    service = service_of(state, flow.catalogue)
    if service is None:
        return flow.lost(state)
    form_field = service.fields[state.position]
    if text.strip().upper() == SKIP:
        if form_field.required:
            return flow.again(state, f"{form_field.label} wajib diisi.")
        return flow.after_fields(state, position=state.position)
    try:
        value = check_field(form_field, _as_answer(form_field, text), today=flow.today)
    except InvalidForm as exc:
        reason = str(exc)
        if form_field.type is FieldType.CHOICE:
            reason = (
                f"Pilihan itu tidak ada; balas dengan angka 1 sampai {len(form_field.choices)}."
            )
        return flow.again(state, reason)
    answered = replace(state, answers={**state.answers, form_field.name: value})
    return flow.after_fields(answered, position=state.position)


def document(flow: Flow, state: Conversation, content: Content) -> Turn:
    """A photo or file for the document asked for, or `LEWATI` for one not mandatory."""
    service = service_of(state, flow.catalogue)
    if service is None:
        return flow.lost(state)
    requirement = service.documents[state.position]
    if isinstance(content, Text):
        if content.text.strip().upper() != SKIP:
            return flow.again(
                state, f"Silakan kirim {requirement.name} sebagai foto atau file PDF."
            )
        if requirement.mandatory:
            return flow.again(state, f"{requirement.name} wajib dikirim.")
        return flow.after_documents(state, position=state.position)
    fetched = content.fetched if isinstance(content, Media) else None
    if isinstance(fetched, FetchedFile) and fetched.requirement != requirement.code:
        fetched = FetchProblem.UNAVAILABLE
    held = _held(requirement, fetched)
    if isinstance(held, str):
        return flow.again(state, held)
    received = replace(state, documents={**state.documents, requirement.code: held})
    turn = flow.after_documents(received, position=state.position)
    return replace(
        turn,
        reply=f"Terima kasih, {requirement.name} sudah kami terima.\n\n{turn.reply}",
        hold=requirement.code,
    )


def confirm(flow: Flow, state: Conversation, text: str) -> Turn:
    """`YA` sends the form; the service layer submits it."""
    if text.strip().upper() != CONFIRM:
        return flow.again(state, "Balas YA untuk mengirim, atau BATAL untuk membatalkan.")
    if state.service_code is None or state.nik is None or state.name is None:
        return flow.lost(state)
    form = SubmissionForm(
        service_code=state.service_code,
        nik=state.nik,
        name=state.name,
        phone=normalize_phone(flow.phone),
        preferred_channel=flow.channel,
        fields=dict(state.answers),
    )
    return Turn(state, "", submit=form)


TEXT_STEPS: Mapping[Step, Callable[[Flow, Conversation, str], Turn]] = {
    Step.MENU: choose,
    Step.NIK: nik,
    Step.NAME: name,
    Step.FIELD: field,
    Step.CONFIRM: confirm,
}
"""The steps a text message answers, by the step the conversation waits at."""


def _held(
    requirement: DocumentRequirement, fetched: FetchedFile | FetchProblem | None
) -> HeldDocument | str:
    """The document to hold for the requirement, or why the file fetched for it is not taken."""
    too_large = isinstance(fetched, FetchedFile) and fetched.size_bytes > requirement.max_bytes
    if fetched is FetchProblem.TOO_LARGE or too_large:
        limit = requirement.max_bytes // (1024 * 1024)
        return f"File terlalu besar; paling besar {limit} MB."
    if not isinstance(fetched, FetchedFile):
        return "Maaf, file Anda gagal kami ambil. Silakan kirim sekali lagi."
    media_type = fetched.media_type
    if media_type is None or media_type not in requirement.media_types:
        allowed = " atau ".join(replies.MEDIA_NAMES[kind] for kind in requirement.media_types)
        return f"File ini tidak dapat kami terima; kirim sebagai {allowed}."
    if fetched.unreadable is not None:
        return fetched.unreadable
    return HeldDocument(
        media_type=media_type.value, size_bytes=fetched.size_bytes, sha256=fetched.sha256
    )


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
