"""Loopback stand-ins for notify's three providers, for local runs and tests. They speak the real
protocols, keep what they were sent, and log that a message arrived without its recipient or
text, which are personal data.

HTTP (`--port`):

- `POST /{version}/{phone-number-id}/messages`: the WhatsApp Cloud API. Wants a bearer token
  (else 401, Graph code 190) and Meta's body shape: `messaging_product: "whatsapp"`, `to` in
  digits, `type` `text` (`text.body`) or `template` (`template.name`, `language.code`, one `body`
  component of `text` parameters). A template must be one notify's templates file approves
  (the "approved templates", `--templates`), in its language, with as many parameters, none
  with a line break (Graph codes 132001, 132000, 132018); any other malformed body is a 400 with
  Graph code 100. Answers `{"messaging_product", "contacts", "messages": [{"id": "wamid.…"}]}`.
  Like Meta, it takes no idempotency key: a message sent twice is recorded twice.
- `POST /v1/sms`: the SMS gateway (README, "SMS gateway"): a bearer token, `{to, text,
  reference}`, answers 202 `{"message_id"}`; the same `Idempotency-Key` answers the same id
  and records nothing new, before any fault applies (and after a `delay`, should a copy sent
  meanwhile have been taken).
- `GET /v1/received[?channel=][&to=]`: every message taken (to `to` only, if given), in
  arrival order: `channel`, `to` (E.164 for phones, whatever the Cloud API's digits; the
  address for e-mail), `text` (for a WhatsApp template, its approved text filled in, as the
  citizen reads it), `template` (`name`,
  `language`, `parameters`) or null, `subject` (e-mail), `reference` (the sender's key: the SMS
  `Idempotency-Key`, WhatsApp's `biz_opaque_callback_data`, the e-mail's `Message-ID`) and
  `message_id` (the provider id it answered) and `received_at` (when it was taken).
- `POST /v1/faults`, `GET /v1/faults`, `DELETE /v1/faults`: see below.
- `POST /v1/media`: keeps a photo or file (the raw body, its `Content-Type`, at most
  `MAX_MEDIA_BYTES`) as if a citizen had sent it on WhatsApp; answers 201 `{"id", "mime_type",
  "sha256", "file_size"}`, the `id` to name in a webhook's `image` or `document`.
- `GET /{version}/{media-id}`: the Graph API's media lookup, for intake. Wants intake's access
  token as bearer (`MESSAGE_SINK_GRAPH_ACCESS_TOKEN`, which the stack sets; else 401, Graph code
  190; with none set, every token is refused) and answers Meta's `{"messaging_product":
  "whatsapp", "url", "mime_type", "sha256" (hex), "file_size", "id"}`, an unknown id a 400 with
  Graph code 100, subcode 33. The `url` is `GET /whatsapp_business/attachments/?mid={media-id}`
  on this server (the Graph API's own origin, which intake accepts): the bytes, for the same
  token.

SMTP (`--smtp-port`, aiosmtpd, no TLS, no AUTH): takes any e-mail and records it once per
`Message-ID` (a second copy is answered 250 and not recorded).

Faults make the next messages of one channel misbehave, so tests can watch notify retry, wait
and fall back. `POST /v1/faults` with:

- `channel`: `WHATSAPP`, `SMS` or `EMAIL` (required);
- `count`: how many of the next messages (default 1);
- `to`: only messages to this recipient (E.164 or e-mail address), if given;
- `kind`: `fail` (default) refuses; `delay` waits `delay_s` seconds, then takes the message as
  usual (to provoke a client timeout); `hang` takes and records it, then never answers;
- `status`: for `fail`, the HTTP status, or for `EMAIL` the SMTP reply code (default 503, and
  451 for e-mail; 400 with a `graph_code`);
- `retry_after`: for `fail` over HTTP, sent as `Retry-After` as given (seconds or HTTP date);
- `graph_code`, `graph_subcode`: for `fail` on `WHATSAPP`, the Graph error's code and subcode
  (e.g. 131026 undeliverable, 131047 outside the 24-hour window, 130429 throughput);
- `delay_s`: for `delay`.

A refused WhatsApp message gets a Graph error object (`{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`; without a `graph_code`, 130429 for a 429, 2 for a 5xx, 100
otherwise), a refused SMS `{"error": {"code": "injected_fault", "message"}}`. Faults queue in
the order they were set; each message uses up one of the first that matches it. `GET` lists
those left, `DELETE` drops them all.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devstack.process import free_port
from services.notify.adapters.templates_file import DEFAULT_TEMPLATES, load_templates
from services.notify.domain.templates import fill
from shared.events.models.values import DeliveryChannel

log = logging.getLogger("message_sink")

HANG_S = 3600.0
MAX_MEDIA_BYTES = 16 * 1024 * 1024
"""WhatsApp's largest photo or video; more than any document intake takes."""
GRAPH_TOKEN_VARIABLE = "MESSAGE_SINK_GRAPH_ACCESS_TOKEN"
"""Where `main` reads the Graph token from, so that it shows in no process listing."""
MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
API_VERSION = re.compile(r"^v\d+\.\d+$")
E164 = r"^\+[1-9]\d{7,14}$"


class TemplateUse(BaseModel):
    name: str
    language: str
    parameters: list[str]


class ReceivedMessage(BaseModel):
    channel: DeliveryChannel
    to: str
    text: str
    template: TemplateUse | None = None
    subject: str | None = None
    reference: str | None = None
    message_id: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When it was taken, to time delivery from the event that caused it."""


class FaultKind(StrEnum):
    FAIL = "fail"
    DELAY = "delay"
    HANG = "hang"


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: DeliveryChannel
    count: int = Field(default=1, ge=1)
    to: str | None = None
    kind: FaultKind = FaultKind.FAIL
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: str | None = Field(default=None, min_length=1, max_length=64)
    graph_code: int | None = None
    graph_subcode: int | None = None
    delay_s: float = Field(default=0.0, ge=0, le=600)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.graph_code is not None and self.channel is not DeliveryChannel.WHATSAPP:
            raise ValueError("graph_code is for WHATSAPP only")
        if self.retry_after is not None and self.channel is DeliveryChannel.EMAIL:
            raise ValueError("SMTP has no Retry-After")
        if self.kind is FaultKind.DELAY and self.delay_s <= 0:
            raise ValueError("a delay needs delay_s")
        return self

    @property
    def reply_status(self) -> int:
        if self.status is not None:
            return self.status
        if self.channel is DeliveryChannel.EMAIL:
            return 451
        return 400 if self.graph_code is not None else 503

    def matches(self, channel: DeliveryChannel, to: str) -> bool:
        return self.channel is channel and self.to in (None, to)


# --- the Cloud API's request body, as Meta validates it ---------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextBody(_Strict):
    body: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class TextParameter(_Strict):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=32768)


class BodyComponent(_Strict):
    type: Literal["body"]
    parameters: list[TextParameter]


class Language(_Strict):
    code: str = Field(min_length=2, max_length=15)
    policy: Literal["deterministic"] | None = None


class TemplateBody(_Strict):
    name: str = Field(min_length=1, max_length=512)
    language: Language
    components: list[BodyComponent] = Field(default_factory=list, max_length=1)


class CloudApiMessage(_Strict):
    messaging_product: Literal["whatsapp"]
    recipient_type: Literal["individual"] = "individual"
    to: str = Field(pattern=r"^\d{8,15}$")
    type: Literal["text", "template"]
    text: TextBody | None = None
    template: TemplateBody | None = None
    biz_opaque_callback_data: str | None = Field(default=None, max_length=512)

    @model_validator(mode="after")
    def _content_of_its_type(self) -> Self:
        if (self.type == "text") != (self.text is not None) or (self.type == "template") != (
            self.template is not None
        ):
            raise ValueError("the message's content must match its type")
        return self


class SmsMessage(BaseModel):
    to: str = Field(pattern=E164)
    text: str = Field(min_length=1, max_length=1600)
    reference: str | None = Field(default=None, max_length=200)


@dataclass(frozen=True)
class ApprovedTemplate:
    language: str
    parameters: tuple[str, ...]
    text: str

    def render(self, values: list[str]) -> str:
        return fill(self.text, dict(zip(self.parameters, values, strict=True)))


def approved_templates(path: Path) -> dict[str, ApprovedTemplate]:
    """The WhatsApp templates of notify's file, as Meta would hold them once approved."""
    return {
        template.whatsapp.name: ApprovedTemplate(
            language=template.whatsapp.language,
            parameters=template.whatsapp.parameters,
            text=template.whatsapp.text,
        )
        for template in load_templates(path).templates.values()
    }


class GraphRefusal(Exception):
    def __init__(self, status: int, code: int, kind: str, message: str, subcode: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.kind, self.subcode = status, code, kind, subcode


def graph_error(refusal: GraphRefusal, retry_after: str | None = None) -> JSONResponse:
    error = {
        "message": str(refusal),
        "type": refusal.kind,
        "code": refusal.code,
        "error_subcode": refusal.subcode,
        "fbtrace_id": base64.b64encode(uuid.uuid4().bytes).decode()[:22],
    }
    headers = {"Retry-After": retry_after} if retry_after else None
    return JSONResponse({"error": error}, status_code=refusal.status, headers=headers)


def fault_refusal(fault: Fault) -> GraphRefusal:
    status = fault.reply_status
    code = fault.graph_code
    if code is None:
        code = 130429 if status == 429 else 2 if status >= 500 else 100
    return GraphRefusal(
        status, code, "OAuthException", "Injected fault", subcode=fault.graph_subcode or 0
    )


def template_use(body: TemplateBody, approved: dict[str, ApprovedTemplate]) -> TemplateUse:
    """The template message as Meta checks it against what it approved."""
    parameters = [
        parameter.text for component in body.components for parameter in component.parameters
    ]
    template = approved.get(body.name)
    if template is None or template.language != body.language.code:
        raise GraphRefusal(
            404,
            132001,
            "OAuthException",
            "(#132001) Template name does not exist in the translation",
        )
    if len(parameters) != len(template.parameters):
        raise GraphRefusal(
            400, 132000, "OAuthException", "(#132000) Number of parameters does not match"
        )
    if any("\n" in value or "\t" in value or "     " in value for value in parameters):
        raise GraphRefusal(
            400, 132018, "OAuthException", "(#132018) There was an issue with the parameters"
        )
    return TemplateUse(name=body.name, language=body.language.code, parameters=parameters)


@dataclass(frozen=True)
class StoredMedia:
    """A photo or file put in for the Graph API to serve, as Meta describes it."""

    id: str
    content: bytes
    mime_type: str

    def description(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mime_type": self.mime_type,
            "sha256": hashlib.sha256(self.content).hexdigest(),
            "file_size": len(self.content),
        }


@dataclass
class Sink:
    """What the stand-ins were sent, the media they serve, and the faults still to inject."""

    approved: dict[str, ApprovedTemplate]
    received: list[ReceivedMessage] = field(default_factory=list)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    by_key: dict[tuple[DeliveryChannel, str], ReceivedMessage] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def known(self, channel: DeliveryChannel, key: str | None) -> ReceivedMessage | None:
        return None if key is None else self.by_key.get((channel, key))

    def record(self, message: ReceivedMessage, key: str | None = None) -> ReceivedMessage:
        if key is not None:
            self.by_key[(message.channel, key)] = message
        self.received.append(message)
        log.info(
            "%s message %s taken (%d characters)",
            message.channel.value,
            message.message_id,
            len(message.text),
        )
        return message

    def next_fault(self, channel: DeliveryChannel, to: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.matches(channel, to):
                if fault.count == 1:
                    del self.faults[index]
                else:
                    self.faults[index] = fault.model_copy(update={"count": fault.count - 1})
                return fault
        return None

    async def admit(
        self, channel: DeliveryChannel, to: str, take: Callable[[], ReceivedMessage]
    ) -> ReceivedMessage | Fault:
        """Runs one message through the next matching fault: a `fail` fault is returned for the
        caller to refuse with; otherwise the message is taken (after a `delay`), and after a
        `hang` never answered."""
        fault = self.next_fault(channel, to)
        if fault is not None and fault.kind is FaultKind.FAIL:
            log.info("%s message refused by a fault (%d)", channel.value, fault.reply_status)
            return fault
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay_s)
        message = take()
        if fault is not None and fault.kind is FaultKind.HANG:
            log.info("%s message %s taken, answer withheld", channel.value, message.message_id)
            await asyncio.wait_for(self.closing.wait(), HANG_S)
        return message


def bearer(authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def bearer_is(authorization: str | None, expected: str | None) -> bool:
    """Whether `authorization` carries exactly the `expected` token (never when there is none)."""
    scheme, _, token = (authorization or "").partition(" ")
    return (
        expected is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    )


INVALID_TOKEN = GraphRefusal(401, 190, "OAuthException", "Invalid OAuth access token")


class MediaRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_media(request: Request) -> bytes:
    """The upload's body, refused past MAX_MEDIA_BYTES before more is read."""
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_MEDIA_BYTES:
            raise MediaRefusal(413, f"A file may hold at most {MAX_MEDIA_BYTES} bytes")
    if not content:
        raise MediaRefusal(400, "The body must hold the photo or file")
    return bytes(content)


def create_app(
    *,
    smtp_port: int | None = None,
    templates: Path = DEFAULT_TEMPLATES,
    graph_access_token: str | None = None,
) -> FastAPI:
    """`graph_access_token` is the one token the Graph API's media routes accept: intake's."""
    sink = Sink(approved=approved_templates(templates))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(sink.closing.set)
            if smtp_port is not None:
                await stack.enter_async_context(smtp_server(sink, smtp_port))
            yield

    app = FastAPI(title="Loopback message providers", lifespan=lifespan)
    app.state.sink = sink

    @app.post("/{version}/{phone_number_id}/messages", response_model=None)
    async def whatsapp(
        version: str,
        phone_number_id: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        try:
            if not bearer(authorization):
                raise GraphRefusal(401, 190, "OAuthException", "Invalid OAuth access token")
            if not API_VERSION.match(version) or not phone_number_id.isdigit():
                raise GraphRefusal(
                    400, 100, "GraphMethodException", "Unsupported post request", subcode=33
                )
            try:
                message = CloudApiMessage.model_validate_json(await request.body())
            except ValidationError as exc:
                fields = ".".join(str(part) for part in exc.errors()[0]["loc"])
                raise GraphRefusal(
                    400, 100, "OAuthException", f"(#100) Invalid parameter: {fields}"
                ) from None
            template = template_use(message.template, sink.approved) if message.template else None
        except GraphRefusal as refusal:
            return graph_error(refusal)
        to = f"+{message.to}"
        text = (
            sink.approved[template.name].render(template.parameters)
            if template is not None
            else message.text.body
            if message.text is not None
            else ""
        )

        def take() -> ReceivedMessage:
            wamid = "wamid." + base64.b64encode(uuid.uuid4().bytes * 2).decode().rstrip("=")
            return sink.record(
                ReceivedMessage(
                    channel=DeliveryChannel.WHATSAPP,
                    to=to,
                    text=text,
                    template=template,
                    reference=message.biz_opaque_callback_data,
                    message_id=wamid,
                )
            )

        outcome = await sink.admit(DeliveryChannel.WHATSAPP, to, take)
        if isinstance(outcome, Fault):
            return graph_error(fault_refusal(outcome), outcome.retry_after)
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": message.to, "wa_id": message.to}],
            "messages": [{"id": outcome.message_id}],
        }
        if template is not None:
            answer["messages"][0]["message_status"] = "accepted"
        return JSONResponse(answer)

    @app.post("/v1/sms", response_model=None)
    async def sms(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> JSONResponse:
        if not bearer(authorization):
            return plain_error(401, "unauthorized", "A bearer token is required")
        try:
            message = SmsMessage.model_validate_json(await request.body())
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, error["loc"])) for error in exc.errors())
            return plain_error(422, "invalid_request", f"Invalid fields: {fields}")
        if (known := sink.known(DeliveryChannel.SMS, idempotency_key)) is not None:
            return JSONResponse({"message_id": known.message_id}, status_code=202)

        def take() -> ReceivedMessage:
            """Looks the key up again: a retry may have been taken while a fault delayed this."""
            if (taken := sink.known(DeliveryChannel.SMS, idempotency_key)) is not None:
                return taken
            return sink.record(
                ReceivedMessage(
                    channel=DeliveryChannel.SMS,
                    to=message.to,
                    text=message.text,
                    reference=idempotency_key or message.reference,
                    message_id=f"sms-{uuid.uuid4().hex}",
                ),
                key=idempotency_key,
            )

        outcome = await sink.admit(DeliveryChannel.SMS, message.to, take)
        if isinstance(outcome, Fault):
            return plain_error(
                outcome.reply_status, "injected_fault", "Injected fault", outcome.retry_after
            )
        return JSONResponse({"message_id": outcome.message_id}, status_code=202)

    @app.get("/v1/received")
    async def received(
        channel: DeliveryChannel | None = None, to: str | None = None
    ) -> list[ReceivedMessage]:
        return [
            m
            for m in sink.received
            if (channel is None or m.channel is channel) and (to is None or m.to == to)
        ]

    @app.post("/v1/faults", status_code=204)
    async def add_fault(fault: Fault) -> None:
        sink.faults.append(fault)

    @app.get("/v1/faults")
    async def pending_faults() -> list[Fault]:
        return sink.faults

    @app.delete("/v1/faults", status_code=204)
    async def clear_faults() -> None:
        sink.faults.clear()

    @app.post("/v1/media", status_code=201, response_model=None)
    async def put_media(
        request: Request, content_type: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        mime_type = (content_type or "").split(";", 1)[0].strip().lower()
        try:
            if not MIME_TYPE.fullmatch(mime_type):
                raise MediaRefusal(415, "Content-Type must name the file's type, e.g. image/jpeg")
            content = await read_media(request)
        except MediaRefusal as refusal:
            return plain_error(refusal.status, "invalid_media", str(refusal))
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        media = StoredMedia(id=media_id, content=content, mime_type=mime_type)
        sink.media[media.id] = media
        log.info("media %s kept (%d bytes, %s)", media.id, len(content), mime_type)
        return JSONResponse(media.description(), status_code=201)

    @app.get("/whatsapp_business/attachments/", response_model=None)
    async def media_download(
        mid: str, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        if not bearer_is(authorization, graph_access_token):
            return graph_error(INVALID_TOKEN)
        media = sink.media.get(mid)
        if media is None:
            return Response(status_code=404)
        return Response(media.content, media_type=media.mime_type)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/{version}/{media_id}", response_model=None)
    async def media_location(
        version: str,
        media_id: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Registered last: its two free segments would take any other route's path."""
        if not bearer_is(authorization, graph_access_token):
            return graph_error(INVALID_TOKEN)
        media = sink.media.get(media_id)
        if not API_VERSION.match(version) or media is None:
            return graph_error(
                GraphRefusal(
                    400,
                    100,
                    "GraphMethodException",
                    f"Unsupported get request. Object with ID '{media_id}' does not exist",
                    subcode=33,
                )
            )
        url = request.url_for("media_download").include_query_params(mid=media.id)
        location = {"messaging_product": "whatsapp", "url": str(url)} | media.description()
        return JSONResponse(location)

    return app


def plain_error(
    status: int, code: str, message: str, retry_after: str | None = None
) -> JSONResponse:
    """An error in the SMS gateway's shape, which the sink's own routes answer too."""
    headers = {"Retry-After": retry_after} if retry_after else None
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


@asynccontextmanager
async def smtp_server(sink: Sink, port: int) -> AsyncIterator[None]:
    """aiosmtpd on the app's own event loop, so both stand-ins share the sink without locks.
    aiosmtpd logs every command line, recipients included, at INFO: its log is kept to
    warnings."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(SmtpHandler(sink), hostname="message-sink.local", loop=loop),
        host="127.0.0.1",
        port=port,
    )
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


class SmtpHandler:
    """aiosmtpd's DATA hook: records each e-mail once per Message-ID, through the faults."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        email = BytesParser(EmailMessage, policy=policy.default).parsebytes(content)
        message_id = str(email["Message-ID"] or f"<{uuid.uuid4().hex}@message-sink.local>")
        if self._sink.known(DeliveryChannel.EMAIL, message_id) is not None:
            return "250 2.0.0 Already taken"
        to = ", ".join(envelope.rcpt_tos)
        body = email.get_body(preferencelist=("plain",))
        text = body.get_content().replace("\r\n", "\n") if isinstance(body, EmailMessage) else ""

        def take() -> ReceivedMessage:
            return self._sink.record(
                ReceivedMessage(
                    channel=DeliveryChannel.EMAIL,
                    to=to,
                    text=text,
                    subject=str(email["Subject"] or ""),
                    reference=message_id,
                    message_id=message_id,
                ),
                key=message_id,
            )

        outcome = await self._sink.admit(DeliveryChannel.EMAIL, to, take)
        if isinstance(outcome, Fault):
            code = outcome.reply_status
            return f"{code} {code // 100}.0.0 Injected fault"
        return "250 2.0.0 Taken"


@dataclass(frozen=True)
class Running:
    url: str
    smtp_port: int
    sink: Sink


@asynccontextmanager
async def running(templates: Path = DEFAULT_TEMPLATES) -> AsyncIterator[Running]:
    """The stand-ins on free loopback ports inside the caller's event loop (for tests)."""
    port, smtp_port = free_port(), free_port()
    app = create_app(smtp_port=smtp_port, templates=templates)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    try:
        yield Running(url=f"http://127.0.0.1:{port}", smtp_port=smtp_port, sink=app.state.sink)
    finally:
        server.should_exit = True
        await serving


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback WhatsApp, SMS and SMTP providers.")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s message-sink %(message)s")
    app = create_app(
        smtp_port=args.smtp_port,
        templates=args.templates,
        graph_access_token=os.environ.get(GRAPH_TOKEN_VARIABLE),
    )
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=1
    )


if __name__ == "__main__":
    main()
