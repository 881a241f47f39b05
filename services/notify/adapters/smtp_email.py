"""E-mail over SMTP with aiosmtplib: plain UTF-8 text, one connection per message.

The `Message-ID` is derived from the notification's idempotency key, so a retry of a message
whose answer was lost carries the same id, and a server or mail client that keeps ids can tell
the copy. The provider's message id notify records is that `Message-ID`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

import aiosmtplib

from services.notify.domain.notification import Notification
from services.notify.service_layer.ports import ProviderError
from shared.clock import Clock, system_clock

TlsMode = Literal["none", "starttls", "tls"]
DEFAULT_SUBJECT = "Pemberitahuan Dispendukcapil"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: TlsMode
    sender: str
    """The `From` header and envelope sender."""
    timeout_s: float
    username: str | None = None
    password: str | None = None


def message_id(idempotency_key: str, sender: str) -> str:
    """A `Message-ID` that is the same for every try of one message and says nothing of it."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def email_message(notification: Notification, *, sender: str, clock: Clock) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notification.recipient
    message["Subject"] = notification.subject or DEFAULT_SUBJECT
    message["Date"] = format_datetime(clock())
    message["Message-ID"] = message_id(notification.idempotency_key, sender)
    message.set_content(notification.text, subtype="plain", charset="utf-8")
    return message


class SmtpEmailProvider:
    """Hands each e-mail to the configured SMTP server; a refusal becomes a ProviderError with
    the reply code only (a server's words may quote the address). Connection failures and
    timeouts (aiosmtplib's are OSErrors) are retried; a session the server cannot hold as
    configured (no STARTTLS, no AUTH) is not."""

    def __init__(self, server: SmtpServer, *, clock: Clock = system_clock) -> None:
        self._server = server
        self._clock = clock

    async def send(self, notification: Notification) -> str:
        server = self._server
        message = email_message(notification, sender=server.sender, clock=self._clock)
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                use_tls=server.tls == "tls",
                start_tls=server.tls == "starttls",
                username=server.username,
                password=server.password,
                timeout=server.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise refused([refusal.code for refusal in exc.recipients]) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise refused([exc.code]) from exc
        except OSError as exc:
            raise ProviderError(
                f"smtp server unreachable: {type(exc).__name__}",
                retryable=True,
                maybe_accepted=isinstance(exc, aiosmtplib.SMTPReadTimeoutError),
            ) from exc
        except aiosmtplib.SMTPException as exc:
            raise ProviderError(
                f"smtp session refused: {type(exc).__name__}", retryable=False
            ) from exc
        return str(message["Message-ID"])


def refused(codes: list[int]) -> ProviderError:
    """A 4xx reply is temporary (mailbox busy, greylisting, server short of room): retry; a 5xx
    is permanent."""
    code = codes[0] if codes else 0
    return ProviderError(f"smtp server answered {code}", retryable=400 <= code < 500)
