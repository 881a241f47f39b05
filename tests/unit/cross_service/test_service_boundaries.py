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


IO_MODULES = (
    "shared.auth",
    "shared.mongo",
    "shared.kafka",
    "shared.http",
    "shared.transient",
    "httpx",
    "jwt",
    "aiokafka",
    "pymongo",
)
"""Modules that talk to engines or the network, or bring libraries that do."""

REPO = SERVICES.parent


DOMAIN_MODULES = (
    "*/domain/**/*.py",
    "*/*/domain.py",
    "*/*/domain/**/*.py",
    "processing/letters/report.py",
)
"""A service's `domain/` folder with its packages (audit's `integrity/`), and the rules of its
feature packages (the `appointments/domain/` and `letters/domain/` packages, and
`letters/report.py`, the letters section of the monthly report)."""


def domain_modules() -> list[Path]:
    return sorted(path for pattern in DOMAIN_MODULES for path in SERVICES.glob(pattern))


def _source(module: str) -> Path | None:
    """The file of one of the project's own modules, or None for a library."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imported_submodules(path: Path) -> list[str]:
    """`from shared import metrics` names the module `shared.metrics` too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    ]


def reached_modules(path: Path) -> set[str]:
    """What a module imports, and what the project's own modules among those import in turn."""
    found: set[str] = set()
    pending = [path]
    seen: set[Path] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for module in imported_modules(current):
            found.add(module)
            if module.startswith(("shared", "services")) and (source := _source(module)):
                pending.append(source)
        pending.extend(filter(None, map(_source, _imported_submodules(current))))
    return found


def test_domain_modules_import_no_io() -> None:
    """Not even through a shared module they use: a domain module raising a `Refusal` must not
    bring the Kafka or MongoDB client along."""
    reaching = {
        f"{path.relative_to(SERVICES)} reaches {module}"
        for path in domain_modules()
        for module in reached_modules(path)
        if module.startswith(IO_MODULES)
    }

    folders = {path.relative_to(SERVICES).parts[1] for path in domain_modules()}
    assert folders >= {"domain", "letters", "appointments"}
    assert not reaching, sorted(reaching)


FEATURE_ENTRYPOINTS = ("routes.py", "step_routes.py", "handlers.py")
"""A feature package's entry points: its routes and the handlers of its events."""


def test_entrypoints_reach_adapters_only_through_ports() -> None:
    """Routes and consumers call use cases; what an adapter is, bootstrap decides."""
    reaching = {
        f"{path.relative_to(SERVICES)} imports {module}"
        for path in SERVICES.rglob("*.py")
        if "entrypoints" in path.relative_to(SERVICES).parts[:-1]
        or path.name in FEATURE_ENTRYPOINTS
        for module in imported_modules(path)
        if module.startswith("services.") and (".adapters" in module or module.endswith(".mongo"))
    }

    assert not reaching, sorted(reaching)
