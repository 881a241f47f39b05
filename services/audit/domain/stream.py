"""The auditors' live stream: where a follower starts, how each message is framed as a server-sent
event (WHATWG HTML, "Server-sent events"), and the record an entry makes on the entries topic.

A follower names the last entry it holds by its index, the event `id` it last received
(`Last-Event-ID`), or the first index it wants (`from`); with neither it starts at the end of the
log and sees only what is appended from then on.
"""

from __future__ import annotations

import base64
import json
import re

from services.audit.domain.entry import LogEntry

LAST_INDEX = 2**63 - 2
"""The largest leaf index: its sequence number, one more, is MongoDB's largest integer."""
_INDEX = re.compile(r"[0-9]{1,19}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

HEARTBEAT = ": keep-alive\n\n"
"""A comment line: clients ignore it, proxies see traffic and keep the connection open."""


class InvalidResume(ValueError):
    """Where to resume was given, but it names no place in the log; `field` says which input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


LAST_EVENT_ID = "header.last-event-id"
FROM = "query.from"


def first_index(*, last_event_id: str | None, start: int | None) -> int | None:
    """The index of the first entry to send, or None for the end of the log.

    `Last-Event-ID` wins over `from`: a browser's EventSource reconnects to the same address (its
    `from` included) and adds the id of the last event it received. An empty `Last-Event-ID`
    means none, as the standard has it.
    """
    if last_event_id:
        if not _INDEX.fullmatch(last_event_id) or int(last_event_id) > LAST_INDEX:
            raise InvalidResume(
                LAST_EVENT_ID, f"Harus berupa indeks entri: bilangan bulat 0 sampai {LAST_INDEX}."
            )
        return int(last_event_id) + 1
    return start


def check_within(first: int, size: int, *, field: str) -> None:
    """Refuses to start past the end of a log of `size` entries: no entry there was ever sent,
    so the follower is following some other log."""
    if first > size:
        last = "belum ada entri" if size == 0 else f"indeks terakhir {size - 1}"
        raise InvalidResume(field, f"Log baru memuat {size} entri ({last}).")


def entry_event(index: int, data: str) -> str:
    """One entry as an event: `id` its index, type `entry`, `data` its JSON, a line per line."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"id: {index}\nevent: entry\n{lines}\n"


def reconnect_after(milliseconds: int) -> str:
    """How long a client waits before reconnecting once the stream ends."""
    return f"retry: {milliseconds}\n\n"


def topic_key(entry: LogEntry) -> bytes:
    return str(entry.index).encode()


def topic_record(entry: LogEntry) -> bytes:
    """An entry as the entries topic carries it: its index, its leaf hash (base64, as the API
    gives it) and the entry's fields, whose canonical JSON is the leaf."""
    record = {
        "index": entry.index,
        "leaf_hash": base64.b64encode(entry.leaf_hash()).decode(),
        "entry": entry.field_values(),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
