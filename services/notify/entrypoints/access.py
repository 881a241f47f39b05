"""Who may call notify's HTTP API: supervisors and admins preview the message templates.

A request's message history is read by the officers of the service point that works on its case
and by the citizen whose phone the request gives (checked by the use case; anyone else's request
is 404). The SMS gateway reports delivery statuses without a token: each report proves itself
with its signature (checked by the route); like intake's webhooks it is not rate limited, since a
provider's bursts come from few addresses and a refused report would only be sent again.
WhatsApp's statuses reach notify through intake's webhook and Kafka, never over HTTP.
"""

from __future__ import annotations

from shared.access import AccessTable, public, roles
from shared.identity import Role

HISTORY_READERS = (
    Role.CITIZEN,
    Role.VERIFIER,
    Role.OPERATOR,
    Role.SIGNER,
    Role.COUNTER_OFFICER,
    Role.SUPERVISOR,
)

ACCESS: AccessTable = {
    ("GET", "/v1/templates/{name}/preview"): roles(Role.SUPERVISOR, Role.ADMIN),
    ("GET", "/v1/notifications"): roles(*HISTORY_READERS),
    ("POST", "/v1/channels/sms/reports"): public(),
}
