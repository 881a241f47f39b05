"""Who may call processing's HTTP API: the staff console, for the officers who work on cases.

Which step each role may take on a case, and only on their own service point's cases, is the
case's and the use case's business (403 or 404 there).
"""

from __future__ import annotations

from shared.access import AccessTable, roles
from shared.auth import Role

OFFICERS = (Role.VERIFIER, Role.SIGNER, Role.OPERATOR, Role.COUNTER_OFFICER)

ACCESS: AccessTable = {
    ("POST", "/v1/queues/claim-next"): roles(*OFFICERS),
    ("GET", "/v1/cases/{request_id}"): roles(*OFFICERS, Role.SUPERVISOR),
    ("GET", "/v1/supervision/at-risk"): roles(Role.SUPERVISOR),
    ("GET", "/v1/reports/monthly"): roles(Role.SUPERVISOR, Role.ADMIN),
    ("POST", "/v1/cases/{request_id}/reassign"): roles(Role.SUPERVISOR),
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
