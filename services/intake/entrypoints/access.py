"""Who may call intake's HTTP API.

Anyone may read the catalogue, submit a request (citizens need not sign in) and sign in; a
citizen without a token follows one request with its tracking number and the NIK's last digits.
Reading a request by id needs a token: the citizen's own, or a village operator's or counter
officer's within their village or service point (checked by the use case); the same callers
send its documents. Its documents are read by them and by the verifiers, operators and
supervisors of the service point working on its case. Anyone may see the free places for
visits; citizens (with or without a token) and counter officers book them, and cancel or move one
with its booking number (a citizen without a token adds the NIK's last four digits; an officer
only at their service point). Citizens complain, anonymously if they wish. Public routes are rate
limited per client address, and for signed-in staff per person.
"""

from __future__ import annotations

from shared.access import AccessTable, public, roles
from shared.identity import Role

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
    ("POST", "/v1/requests/{request_id}/documents"): roles(
        Role.CITIZEN, Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER
    ),
    ("GET", "/v1/requests/{request_id}/documents/{document_id}"): roles(
        Role.CITIZEN,
        Role.VILLAGE_OPERATOR,
        Role.COUNTER_OFFICER,
        Role.VERIFIER,
        Role.OPERATOR,
        Role.SUPERVISOR,
    ),
    ("POST", "/v1/lookup"): public(rate_limit="lookups"),
    # Visits and complaints count against the same per-client limits: booking or complaining
    # as submitting, and the free places or a booking number tried with a NIK ending as lookups.
    ("POST", "/v1/appointments"): roles(
        Role.CITIZEN, Role.COUNTER_OFFICER, anonymous=True, rate_limit="submissions"
    ),
    ("GET", "/v1/appointments/availability"): public(rate_limit="lookups"),
    ("POST", "/v1/appointments/{booking_number}/cancel"): roles(
        Role.CITIZEN, Role.COUNTER_OFFICER, anonymous=True, rate_limit="lookups"
    ),
    ("POST", "/v1/appointments/{booking_number}/reschedule"): roles(
        Role.CITIZEN, Role.COUNTER_OFFICER, anonymous=True, rate_limit="lookups"
    ),
    ("POST", "/v1/complaints"): roles(Role.CITIZEN, anonymous=True, rate_limit="submissions"),
    ("POST", "/v1/auth/otp"): public(rate_limit="sign_ins"),
    ("POST", "/v1/auth/otp/verify"): public(rate_limit="sign_ins"),
    # Meta and the SMS gateway call their webhooks without a token: deliveries prove
    # themselves with their signature, Meta's set-up challenge with the verify token (checked
    # by the routes).
    ("GET", "/v1/channels/whatsapp/webhook"): public(),
    ("POST", "/v1/channels/whatsapp/webhook"): public(),
    ("POST", "/v1/channels/sms/webhook"): public(),
}
