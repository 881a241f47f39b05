"""Who a caller is, as the services' rules see it: roles and the authenticated principal.

Plain values, so domain rules can name roles without importing how tokens are checked
(`shared/auth.py`, which brings HTTP and JWT libraries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    CITIZEN = "citizen"
    VILLAGE_OPERATOR = "village_operator"
    COUNTER_OFFICER = "counter_officer"
    VERIFIER = "verifier"
    OPERATOR = "operator"
    SIGNER = "signer"
    SUPERVISOR = "supervisor"
    LETTER_CLERK = "letter_clerk"
    AUDITOR = "auditor"
    ADMIN = "admin"


STAFF_ROLES: Final = frozenset(Role) - {Role.CITIZEN}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as its token describes it."""

    subject: str
    roles: frozenset[Role]
    village: str | None = None
    service_point: str | None = None
    phone_number: str | None = None
    name: str | None = field(default=None, repr=False)
