"""Who may call intake's HTTP API.

Anyone may read the catalogue, submit a request (citizens need not sign in) and sign in; a
citizen without a token follows one request with its tracking number and the NIK's last digits.
Reading a request by id needs a token: the citizen's own, or a village operator's or counter
officer's within their village or service point (checked by the use case). Public routes are
rate limited per client.
"""

from __future__ import annotations

from shared.access import AccessTable, public, roles
from shared.auth import Role

ACCESS: AccessTable = {
    ("GET", "/v1/services"): public(),
    ("GET", "/v1/services/{service_code}"): public(),
    ("POST", "/v1/requests"): roles(
        Role.CITIZEN,
        Role.VILLAGE_OPERATOR,
        Role.COUNTER_OFFICER,
        anonymous=True,
        rate_limit="submissions",
    ),
    ("GET", "/v1/requests/{request_id}"): roles(
        Role.CITIZEN, Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER
    ),
    ("POST", "/v1/requests/{request_id}/cancel"): roles(
        Role.CITIZEN, Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER
    ),
    ("POST", "/v1/requests/{request_id}/resubmit"): roles(
        Role.CITIZEN, Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER
    ),
    ("POST", "/v1/lookup"): public(rate_limit="lookups"),
    ("POST", "/v1/auth/otp"): public(rate_limit="sign_ins"),
    ("POST", "/v1/auth/otp/verify"): public(rate_limit="sign_ins"),
}
