"""docs/architecture.md names the files a change must touch; a file moved or renamed without the
page following would send a newcomer to a place that is not there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "architecture.md"
ROOTS = ("services/", "shared/", "tests/", "devstack/", "docs/", "scripts/", "docker-compose.yml")


def named_paths(text: str) -> set[str]:
    """Every path from the repository's root the page quotes, without placeholders (`<name>`)."""
    quoted = re.findall(r"`([^`\s]+)`", text)
    return {
        path.split("#")[0]
        for path in quoted
        if path.startswith(ROOTS) and "<" not in path and "{" not in path
    }


def test_every_file_the_architecture_page_names_exists() -> None:
    paths = named_paths(PAGE.read_text())

    assert len(paths) > 40
    assert sorted(path for path in paths if not list(REPO.glob(path))) == []


def test_the_readme_links_the_architecture_page() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text()
