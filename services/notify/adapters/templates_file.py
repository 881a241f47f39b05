"""Loads the message templates from JSON, so the office can reword them without a code change.

The file is checked in full when notify starts: every template the code sends must be there, every
placeholder must be a declared parameter the code fills, a WhatsApp template's text must use its
parameters in their approved order, an SMS text only GSM-7 characters, and what a receipt or a
case step sends has a shorter SMS for the village operator or counter officer who passes it on. A
broken file stops the service with a message naming the file and every problem in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from services.notify.domain.messages import FORWARDED, PARAMETERS
from services.notify.domain.templates import (
    PLACEHOLDER,
    EmailTemplate,
    Labels,
    MessageTemplate,
    SmsTemplate,
    Templates,
    WhatsAppTemplate,
    placeholders,
)
from shared.errors import InvalidConfiguration
from shared.events.models.cases import CollectionMethod
from shared.gsm7 import is_gsm7

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates.json"

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]


class InvalidTemplates(InvalidConfiguration):
    """The templates file cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _stray_braces(text: str) -> bool:
    return "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text)


class _WhatsApp(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    parameters: list[Name]
    text: Text

    @model_validator(mode="after")
    def _in_approved_order(self) -> Self:
        if placeholders(self.text) != self.parameters:
            raise ValueError(
                "the text must use exactly the template's parameters, first appearing in their "
                f"order {self.parameters}, not {placeholders(self.text)}"
            )
        return self


class _SmsText(_Strict):
    text: Text
    max_segments: int = Field(default=1, ge=1, le=3)
    why_longer: Text | None = None

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if not is_gsm7(PLACEHOLDER.sub("", self.text)):
            raise ValueError("an SMS text may hold only GSM-7 characters")
        if (self.max_segments > 1) != (self.why_longer is not None):
            raise ValueError("an SMS longer than one segment says why (why_longer), and only then")
        return self


class _Sms(_SmsText):
    forwarded: _SmsText | None = None
    """What a village operator or counter officer passes on, after whom it is for."""


class _Email(_Strict):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    text: Text


class _Template(_Strict):
    description: Text
    parameters: list[Name]
    sample: dict[Name, Annotated[str, StringConstraints(min_length=1, max_length=200)]]
    whatsapp: _WhatsApp
    sms: _Sms
    email: _Email

    @model_validator(mode="after")
    def _placeholders_declared(self) -> Self:
        declared = set(self.parameters)
        if len(declared) != len(self.parameters):
            raise ValueError("parameters must be unique")
        if set(self.sample) != declared:
            raise ValueError("the sample gives a value for every parameter, and only those")
        texts = {
            "whatsapp.text": self.whatsapp.text,
            "sms.text": self.sms.text,
            "email.subject": self.email.subject,
            "email.text": self.email.text,
        }
        if self.sms.forwarded is not None:
            texts["sms.forwarded.text"] = self.sms.forwarded.text
        for where, text in texts.items():
            if undeclared := set(placeholders(text)) - declared:
                raise ValueError(f"{where} uses undeclared parameters {sorted(undeclared)}")
            if _stray_braces(text):
                raise ValueError(f"{where} has a brace that is not a {{parameter}}")
        return self


class _Labels(_Strict):
    services: dict[Code, Label]
    documents: dict[Code, Label]
    service_points: dict[Code, Label]
    collection: dict[CollectionMethod, Label]
    collection_by_service: dict[Code, dict[CollectionMethod, Label]] = {}
    """Where a service's citizen cannot bring what `collection` says (a lost KTP-el)."""

    @model_validator(mode="after")
    def _every_collection(self) -> Self:
        if missing := set(CollectionMethod) - set(self.collection):
            raise ValueError(f"collection needs a label for {sorted(missing)}")
        return self


class _File(_Strict):
    labels: _Labels
    templates: dict[Name, _Template]

    @model_validator(mode="after")
    def _what_the_code_sends(self) -> Self:
        if missing := set(PARAMETERS) - set(self.templates):
            raise ValueError(f"templates missing: {sorted(missing)}")
        if unknown := set(self.templates) - set(PARAMETERS):
            raise ValueError(f"templates nothing sends: {sorted(unknown)}")
        forwarded = {
            name for name, item in self.templates.items() if item.sms.forwarded is not None
        }
        if forwarded != FORWARDED:
            raise ValueError(
                "sms.forwarded is for the templates of receipts and case steps, "
                f"{sorted(FORWARDED)}; missing: {sorted(FORWARDED - forwarded)}, "
                f"never forwarded: {sorted(forwarded - FORWARDED)}"
            )
        for name, template in self.templates.items():
            if unfilled := set(template.parameters) - PARAMETERS[name]:
                raise ValueError(
                    f"{name} declares parameters the code does not fill: {sorted(unfilled)}; "
                    f"it fills {sorted(PARAMETERS[name])}"
                )
        return self


def load_templates(path: Path = DEFAULT_TEMPLATES) -> Templates:
    """Reads and checks the templates; raises InvalidTemplates naming the file and the faults."""
    try:
        raw = _File.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidTemplates(f"cannot read the message templates {path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise InvalidTemplates(f"the message templates {path} are broken: {problems}") from None
    return Templates(
        templates={name: _template(name, item) for name, item in raw.templates.items()},
        labels=Labels(
            services=raw.labels.services,
            documents=raw.labels.documents,
            service_points=raw.labels.service_points,
            collection=raw.labels.collection,
            collection_by_service=raw.labels.collection_by_service,
        ),
    )


def _template(name: str, item: _Template) -> MessageTemplate:
    return MessageTemplate(
        name=name,
        parameters=tuple(item.parameters),
        sample=item.sample,
        whatsapp=WhatsAppTemplate(
            name=item.whatsapp.name,
            language=item.whatsapp.language,
            parameters=tuple(item.whatsapp.parameters),
            text=item.whatsapp.text,
        ),
        sms=SmsTemplate(
            text=item.sms.text,
            max_segments=item.sms.max_segments,
            forwarded=_sms(item.sms.forwarded),
        ),
        email=EmailTemplate(subject=item.email.subject, text=item.email.text),
    )


def _sms(item: _SmsText | None) -> SmsTemplate | None:
    return None if item is None else SmsTemplate(text=item.text, max_segments=item.max_segments)
