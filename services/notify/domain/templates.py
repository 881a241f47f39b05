"""Message templates, one set per channel, and how a message is rendered with them.

A template names its parameters; its texts use them as `{tracking_number}`. Values are set on
one line (WhatsApp refuses parameters with line breaks), and an SMS is kept to GSM-7 characters,
which a feature phone shows and which fit 160 to a segment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.notify.domain.notification import ApprovedTemplate
from shared.errors import Kind, Refusal
from shared.events.models.cases import CollectionMethod
from shared.events.models.values import DeliveryChannel
from shared.gsm7 import segments, to_gsm7

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
FORWARDED_NAME = 18
"""The most of a citizen's name a forwarded SMS opens with (a longer one is cut, with "...")."""


def placeholders(text: str) -> list[str]:
    """The parameters a text uses, in the order they first appear."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def forwarding_preface(*, name: str, tracking_number: str) -> str:
    """Opens an SMS for a village operator or counter officer to pass on: whom it is for. The
    name is cut to `FORWARDED_NAME` characters because a full one (some run past 50 characters)
    would leave too little of the one 160-character segment the message must fit; the tracking
    number tells apart two citizens whose names begin alike."""
    name = " ".join(name.split())
    if len(name) > FORWARDED_NAME:
        name = name[: FORWARDED_NAME - 3].rstrip() + "..."
    return f"Utk {name} ({tracking_number}): "


@dataclass(frozen=True)
class Message:
    """What to tell someone: a template's name and its parameters' values."""

    template: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class WhatsAppTemplate:
    """The template as Meta approved it (name, language, parameters in order) and its text."""

    name: str
    language: str
    parameters: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SmsTemplate:
    text: str
    max_segments: int = 1
    """More than one only where the file says why (an officer's own words, a long list)."""
    forwarded: SmsTemplate | None = None
    """The shorter text a village operator or counter officer passes on to a citizen without a
    phone, which `forwarding_preface` opens; the templates of receipts and case steps have one."""


@dataclass(frozen=True)
class EmailTemplate:
    subject: str
    text: str


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    parameters: tuple[str, ...]
    sample: Mapping[str, str]
    """Values to preview it with."""
    whatsapp: WhatsAppTemplate
    sms: SmsTemplate
    email: EmailTemplate


@dataclass(frozen=True)
class Rendered:
    text: str
    subject: str | None = None
    approved_template: ApprovedTemplate | None = None

    @property
    def segments(self) -> int:
        """SMS segments the text takes."""
        return segments(self.text)


@dataclass(frozen=True)
class Labels:
    """Short Indonesian names for codes in messages, where the catalogue's are too long for an
    SMS; a code without a label is shown as it is."""

    services: Mapping[str, str]
    documents: Mapping[str, str]
    service_points: Mapping[str, str]
    collection: Mapping[CollectionMethod, str]
    collection_by_service: Mapping[str, Mapping[CollectionMethod, str]] = field(
        default_factory=dict
    )

    def service(self, code: str) -> str:
        return self.services.get(code, code)

    def collection_for(self, method: CollectionMethod, service_code: str) -> str:
        """How to get the document, and what to bring: a KTP-el reprint's citizen may have
        lost theirs, so it says to bring the family card instead."""
        return self.collection_by_service.get(service_code, {}).get(method, self.collection[method])

    def document_list(self, codes: list[str]) -> str:
        return ", ".join(self.documents.get(code, code) for code in codes)

    def service_point(self, code: str) -> str:
        return self.service_points.get(code, code)


class UnknownTemplate(Refusal, KeyError):
    """No template has this name."""

    def __init__(self, name: str) -> None:
        super().__init__("unknown_template", "Templat pesan tidak dikenal.", Kind.NOT_FOUND)
        self.name = name


@dataclass(frozen=True)
class Templates:
    """Every template, checked when loaded, and the labels messages use."""

    templates: Mapping[str, MessageTemplate]
    labels: Labels

    def get(self, name: str) -> MessageTemplate:
        try:
            return self.templates[name]
        except KeyError:
            raise UnknownTemplate(name) from None

    def render(self, message: Message, channel: DeliveryChannel) -> Rendered:
        template = self.get(message.template)
        values = {name: " ".join(message.values[name].split()) for name in template.parameters}
        if channel is DeliveryChannel.WHATSAPP:
            whatsapp = template.whatsapp
            approved = ApprovedTemplate(
                name=whatsapp.name,
                language=whatsapp.language,
                parameters=tuple(values[name] for name in whatsapp.parameters),
            )
            return Rendered(text=fill(whatsapp.text, values), approved_template=approved)
        if channel is DeliveryChannel.SMS:
            return Rendered(text=to_gsm7(fill(template.sms.text, values)))
        return Rendered(
            text=fill(template.email.text, values), subject=fill(template.email.subject, values)
        )

    def render_forwarded(self, message: Message, *, name: str, tracking_number: str) -> Rendered:
        """The SMS a village operator or counter officer passes on to the citizen `name`: the
        template's forwarded text, or its citizen's text if it has none, opened with whom it is
        for."""
        template = self.get(message.template)
        sms = template.sms.forwarded or template.sms
        values = {key: " ".join(message.values[key].split()) for key in template.parameters}
        preface = forwarding_preface(name=name, tracking_number=tracking_number)
        return Rendered(text=to_gsm7(preface + fill(sms.text, values)))

    def preview(self, name: str, channel: DeliveryChannel) -> Rendered:
        """The template rendered with the sample values its file declares."""
        template = self.get(name)
        return self.render(Message(template=name, values=template.sample), channel)
