"""docs/architecture.md names the files a change must touch; a file moved or renamed without the
page following would send a newcomer to a place that is not there. Its topic table is who writes
and reads what: an event or a reader missing from it would hide a flow."""

from __future__ import annotations

import re
from pathlib import Path

from services.asyncapi import SUBSCRIPTIONS
from shared.events.models import EVENT_TYPES

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


def topic_rows(text: str) -> dict[str, tuple[str, str]]:
    """The topic table's events and consumers cells by topic name."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `adminduk."):
            topic, _, events, consumers = (cell.strip() for cell in line.strip("|").split("|"))
            rows[topic.strip("`")] = (events, consumers)
    return rows


def test_the_topic_table_names_every_event_and_every_service_that_reads_it() -> None:
    rows = topic_rows(PAGE.read_text())
    unlisted = []
    for event in EVENT_TYPES.values():
        name = event.__name__
        events = re.findall(r"`(\w+)(\*?)`", rows[event.topic.name][0])
        if not any(name == word or (star and name.startswith(word)) for word, star in events):
            unlisted.append(f"{name} on {event.topic.name}")
    for subscription in SUBSCRIPTIONS:
        for topic in sorted({event.topic.name for event in subscription.events}):
            if subscription.service not in rows[topic][1]:
                unlisted.append(f"{subscription.service} reading {topic}")

    assert unlisted == []
