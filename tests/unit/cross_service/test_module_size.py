"""Production modules stay small enough to read at a sitting: at most 400 lines a module and 60
lines a function. A module that outgrows this is split by concern, as the feature packages show."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PRODUCTION = ("services", "shared")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def production_modules() -> list[Path]:
    return sorted(path for folder in PRODUCTION for path in (REPO / folder).rglob("*.py"))


def test_no_production_module_is_over_its_length() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in production_modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }

    assert long == {}


def test_no_production_function_is_over_its_length() -> None:
    long: dict[str, int] = {}
    for path in production_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO)}:{node.name}"] = lines

    assert long == {}


def test_the_checks_see_the_whole_tree() -> None:
    modules = {str(path.relative_to(REPO)) for path in production_modules()}

    assert "services/intake/bootstrap.py" in modules
    assert "shared/outbox.py" in modules
    assert len(modules) > 200
