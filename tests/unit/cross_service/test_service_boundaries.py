"""Services talk only through Kafka: no service imports another's code; what they share lives in
`shared/`."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_service_imports_another_services_code() -> None:
    crossings = {
        f"{path.relative_to(SERVICES)} imports {module}"
        for service in (p for p in SERVICES.iterdir() if (p / "__init__.py").exists())
        for path in service.rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("services.") and not module.startswith(f"services.{service.name}")
    }

    assert len(list(SERVICES.glob("*/bootstrap.py"))) == 4
    assert not crossings, sorted(crossings)


IO_MODULES = ("shared.auth", "shared.mongo", "shared.kafka", "shared.http", "httpx", "jwt")
"""Modules that talk to engines or the network, or bring libraries that do."""


DOMAIN_MODULES = ("*/domain/*.py", "*/*/domain.py", "processing/letters/report.py")
"""A service's `domain/` folder, and the rules of its feature packages (`letters/domain.py`, and
`letters/report.py`, the letters section of the monthly report)."""


def test_domain_modules_import_no_io() -> None:
    domain = [path for pattern in DOMAIN_MODULES for path in SERVICES.glob(pattern)]
    reaching = {
        f"{path.relative_to(SERVICES)} imports {module}"
        for path in domain
        for module in imported_modules(path)
        if module.startswith(IO_MODULES)
    }

    assert {path.parent.name for path in domain} >= {"domain", "letters", "appointments"}
    assert not reaching, sorted(reaching)
