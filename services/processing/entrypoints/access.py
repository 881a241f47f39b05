"""Who may call processing's HTTP API: only the probes every service has, for now."""

from __future__ import annotations

from shared.access import AccessTable

ACCESS: AccessTable = {}
