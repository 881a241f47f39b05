"""Who may call notify's HTTP API: supervisors and admins preview the message templates."""

from __future__ import annotations

from shared.access import AccessTable, roles
from shared.auth import Role

ACCESS: AccessTable = {
    ("GET", "/v1/templates/{name}/preview"): roles(Role.SUPERVISOR, Role.ADMIN),
}
