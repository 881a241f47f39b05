from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from shared.logging import JsonFormatter

UTC_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("intake"))
    logger = logging.getLogger("tests.json_formatter")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_on_one_line(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.info("request %s accepted", "req-1")
    logger.warning("two\nlines")

    first, second = lines(stream)
    assert first["level"] == "INFO"
    assert first["service"] == "intake"
    assert first["logger"] == "tests.json_formatter"
    assert first["message"] == "request req-1 accepted"
    assert second["message"] == "two\nlines"
    assert second["level"] == "WARNING"


def test_the_time_is_utc_with_milliseconds(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    logger.info("tick")

    [entry] = lines(stream)
    assert isinstance(entry["time"], str)
    assert UTC_MILLISECONDS.match(entry["time"])


def test_extra_fields_are_included_and_unserialisable_ones_as_text(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    logger.info(
        "delivered", extra={"request_id": "req-1", "attempts": 2, "at": datetime(2025, 1, 1)}
    )

    [entry] = lines(stream)
    assert entry["request_id"] == "req-1"
    assert entry["attempts"] == 2
    assert entry["at"] == "2025-01-01 00:00:00"
    assert "args" not in entry
    assert "levelno" not in entry


def test_an_exception_is_included_with_its_traceback(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    try:
        raise RuntimeError("Nama wajib diisi")
    except RuntimeError:
        logger.exception("handler failed")

    [entry] = lines(stream)
    assert entry["level"] == "ERROR"
    assert isinstance(entry["exception"], str)
    assert "RuntimeError: Nama wajib diisi" in entry["exception"]
