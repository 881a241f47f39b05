"""Server-sent event framing of the auditors' stream, read back as a client reads it.

`parse_events` is the reading side (WHATWG HTML, "Server-sent events", event stream
interpretation), used by the stream's integration and end-to-end tests too.
"""

from __future__ import annotations

import re

from services.audit.domain.stream import HEARTBEAT, entry_event, reconnect_after

_LINE = re.compile(r"\r\n|\r|\n")


def parse_events(stream: str) -> list[dict[str, str]]:
    """The events of a complete stream text: `id`, `event` and `data` (lines joined by `\\n`).
    Comments and `retry` are not events."""
    events: list[dict[str, str]] = []
    for block in re.split(r"(?:\r\n|\r|\n){2}", stream):
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in _LINE.split(block):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name in ("id", "event"):
                fields[name] = value
        if data:
            events.append({**fields, "data": "\n".join(data)})
    return events


def test_an_entry_is_one_event_with_its_index_as_id() -> None:
    assert entry_event(12, '{"index":12}') == 'id: 12\nevent: entry\ndata: {"index":12}\n\n'


def test_every_line_of_the_data_is_a_data_line_and_reads_back_whole() -> None:
    data = "line one\r\nline two\rline three\nend \u2028 stays"

    (event,) = parse_events(entry_event(3, data))

    assert event == {"id": "3", "event": "entry", "data": "line one\nline two\nline three\n"
                     "end \u2028 stays"}  # fmt: skip


def test_heartbeats_and_the_reconnection_delay_are_not_events() -> None:
    stream = reconnect_after(3000) + HEARTBEAT + entry_event(0, "{}") + HEARTBEAT

    assert reconnect_after(3000) == "retry: 3000\n\n"
    assert HEARTBEAT.startswith(":")
    assert parse_events(stream) == [{"id": "0", "event": "entry", "data": "{}"}]
