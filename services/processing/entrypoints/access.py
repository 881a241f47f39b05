"""Who may call processing's HTTP API: the staff console, for the officers who work on cases.

Which step each role may take on a case, and only on their own service point's cases, is the
case's and the use case's business (403 or 404 there).
"""

from __future__ import annotations

from shared.access import AccessTable, roles
from shared.identity import Role

OFFICERS = (Role.VERIFIER, Role.SIGNER, Role.OPERATOR, Role.COUNTER_OFFICER)
LETTER_STAFF = (*OFFICERS, Role.SUPERVISOR, Role.LETTER_CLERK)
"""Who works with official letters: any official with a unit; which letter and step is the
letter's business (its confidentiality and chain)."""

ACCESS: AccessTable = {
    ("POST", "/v1/queues/claim-next"): roles(*OFFICERS),
    ("GET", "/v1/cases/{request_id}"): roles(*OFFICERS, Role.SUPERVISOR),
    ("GET", "/v1/supervision/at-risk"): roles(Role.SUPERVISOR),
    ("GET", "/v1/reports/monthly"): roles(Role.SUPERVISOR, Role.ADMIN),
    ("POST", "/v1/cases/{request_id}/reassign"): roles(Role.SUPERVISOR),
    ("POST", "/v1/letters"): roles(Role.LETTER_CLERK),
    ("PUT", "/v1/letters/{letter_id}/scan"): roles(Role.LETTER_CLERK),
    ("GET", "/v1/letters/inbox"): roles(*LETTER_STAFF),
    ("GET", "/v1/letters/overdue"): roles(Role.SIGNER, Role.SUPERVISOR),
    ("GET", "/v1/letters/{letter_id}"): roles(*LETTER_STAFF),
    ("GET", "/v1/letters/{letter_id}/scan"): roles(*LETTER_STAFF),
    ("POST", "/v1/letters/{letter_id}/dispositions"): roles(*LETTER_STAFF),
    ("POST", "/v1/letters/{letter_id}/reply"): roles(*LETTER_STAFF),
    ("POST", "/v1/letters/{letter_id}/close"): roles(Role.SIGNER),
    **{
        ("POST", f"/v1/letters/{{letter_id}}/dispositions/{{disposition_id}}/{step}"): roles(
            *LETTER_STAFF
        )
        for step in ("read", "withdraw", "follow-up", "close")
    },
    **{
        ("POST", f"/v1/cases/{{request_id}}/{step}"): roles(*OFFICERS)
        for step in (
            "claim",
            "release",
            "verify",
            "request-revision",
            "approve",
            "issue",
            "reject",
            "complete",
        )
    },
}
