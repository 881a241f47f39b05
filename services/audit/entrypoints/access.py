"""Who may call audit's HTTP API: auditors read the log; nobody writes it over HTTP.

The log holds pseudonyms, never raw personal data, so what an auditor reads here reveals no NIK,
name or phone number. Entries are only ever appended by audit's own consumer, and checkpoints
only signed by its own checkpointer.
"""

from __future__ import annotations

from shared.access import AccessTable, roles
from shared.identity import Role

ACCESS: AccessTable = {
    ("GET", "/v1/audit/entries"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/checkpoint"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/key"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/proofs/inclusion"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/proofs/consistency"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/export"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/verify"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/alerts"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/alerts/{alert_id}"): roles(Role.AUDITOR),
    ("POST", "/v1/audit/alerts/{alert_id}/acknowledge"): roles(Role.AUDITOR),
    ("POST", "/v1/audit/alerts/{alert_id}/resolve"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/integrity-summary"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/integrity-summary.html"): roles(Role.AUDITOR),
    ("GET", "/v1/audit/stream"): roles(Role.AUDITOR),
}
