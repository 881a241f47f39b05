"""One MessageProvider for every channel: WhatsApp through the Cloud API, SMS through the
gateway, e-mail over SMTP. Delivery hands it a notification and never asks which one sent it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from services.notify.adapters.sms_gateway import SmsGatewayAccount, SmsGatewayProvider, sms_client
from services.notify.adapters.smtp_email import SmtpEmailProvider, SmtpServer
from services.notify.adapters.whatsapp_cloud import (
    WhatsAppAccount,
    WhatsAppCloudProvider,
    whatsapp_client,
)
from services.notify.domain.notification import Notification
from services.notify.service_layer.ports import MessageProvider
from shared.clock import Clock, system_clock
from shared.events.models.values import DeliveryChannel


@dataclass(frozen=True)
class ChannelProviders:
    """Routes each notification to the provider of its channel."""

    whatsapp: MessageProvider
    sms: MessageProvider
    email: MessageProvider

    async def send(self, notification: Notification) -> str:
        provider = {
            DeliveryChannel.WHATSAPP: self.whatsapp,
            DeliveryChannel.SMS: self.sms,
            DeliveryChannel.EMAIL: self.email,
        }[notification.channel]
        return await provider.send(notification)


@dataclass(frozen=True)
class ProviderAccounts:
    whatsapp: WhatsAppAccount
    sms: SmsGatewayAccount
    smtp: SmtpServer


@asynccontextmanager
async def open_providers(
    accounts: ProviderAccounts, *, clock: Clock = system_clock
) -> AsyncIterator[ChannelProviders]:
    """The providers with their HTTP clients, closed when the service stops."""
    async with AsyncExitStack() as clients:
        whatsapp = await clients.enter_async_context(whatsapp_client(accounts.whatsapp))
        sms = await clients.enter_async_context(sms_client(accounts.sms))
        yield ChannelProviders(
            whatsapp=WhatsAppCloudProvider(whatsapp, accounts.whatsapp, clock=clock),
            sms=SmsGatewayProvider(sms, clock=clock),
            email=SmtpEmailProvider(accounts.smtp, clock=clock),
        )
