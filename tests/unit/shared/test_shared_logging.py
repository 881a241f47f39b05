from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from devstack.process import free_port
from shared.events.models.requests import Applicant
from shared.logging import JsonFormatter, RedactPersonalData, configure_logging
from shared.redaction import describe_error, format_exception, redact
from tests.builders import MOBILE, VALID_NIK
from tests.polling import eventually_blocking

UTC_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
NAME = "Siti Aminah"


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


PHONES = ["+6281234567890", "6281234567890", "081234567890", "0812-3456-7890", "+62 812 3456 789"]


@pytest.mark.parametrize("phone", PHONES)
def test_redact_removes_indonesian_mobile_numbers(phone: str) -> None:
    assert redact(f"to {phone}, twice: {phone}.") == "to <phone>, twice: <phone>."


def test_redact_removes_niks_and_pydantic_inputs() -> None:
    text = (
        "nik 3516091204800001; 1 validation error for Applicant\npreferred_channel\n  Field "
        "required [type=missing, input_value={'name': 'Siti Aminah'}, input_type=dict]\n"
        "  input_value='Siti Aminah, [1]...'"
    )

    assert redact(text) == (
        "nik <nik>; 1 validation error for Applicant\npreferred_channel\n  Field "
        "required [type=missing, input_value=<redacted>, input_type=dict]\n"
        "  input_value=<redacted>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "event 7c0d5f2e-8b1a-4c3e-9d2f-1a2b3c4d5e6f",
        "retrying in 0.812345678 s",
        "offset 12345678901234567",
        "2025-03-03T01:30:00.123+00:00 req-1 took 0812 ms",
    ],
)
def test_redact_leaves_ordinary_numbers(text: str) -> None:
    assert redact(text) == text


def invalid_applicant() -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        Applicant.model_validate({"nik": VALID_NIK, "name": NAME, "phone": MOBILE})
    return raised.value


def test_a_validation_error_is_described_by_fields_and_types() -> None:
    assert describe_error(invalid_applicant()) == "ValidationError: preferred_channel: missing"
    assert describe_error(KeyError(f"dup key {VALID_NIK}")) == "KeyError: 'dup key <nik>'"


def test_a_traceback_keeps_its_frames_and_chain_but_not_the_values() -> None:
    try:
        try:
            raise invalid_applicant()
        except ValidationError as exc:
            raise RuntimeError("could not open the case") from exc
    except RuntimeError as exc:
        text = format_exception(exc)

    assert text.startswith("Traceback (most recent call last):\n")
    assert "ValidationError: preferred_channel: missing" in text
    assert "direct cause of the following exception" in text
    assert text.endswith("RuntimeError: could not open the case")
    assert "invalid_applicant()" in text
    for value in (VALID_NIK, NAME, MOBILE, "input_value"):
        assert value not in text


def test_the_filter_redacts_message_exception_and_extra_fields(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    handler = next(h for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    handler.addFilter(RedactPersonalData())

    try:
        raise ValueError(f"bad input {invalid_applicant()}")
    except ValueError:
        logger.exception("failed for %s", VALID_NIK, extra={"to": {"phone": MOBILE}})
    logger.info("%s", "broken %d format", extra={"contact": "0812 3456 7890"})

    first, second = lines(stream)
    assert first["message"] == "failed for <nik>"
    assert first["to"] == "{'phone': '<phone>'}"
    assert isinstance(first["exception"], str)
    assert "ValueError: bad input 1 validation error for Applicant" in first["exception"]
    assert second == second | {"message": "broken %d format", "contact": "<phone>"}
    assert NAME not in stream.getvalue()


def test_the_filter_drops_extra_fields_named_as_personal_data(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    handler = next(h for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    handler.addFilter(RedactPersonalData())

    logger.info(
        "queued",
        extra={
            "applicant_name": NAME,
            "full_name": NAME,
            "recipient": {"who": NAME},
            "sign_in_code": 123456,
            "service_code": "KK_BARU",
        },
    )

    [line] = lines(stream)
    assert NAME not in stream.getvalue()
    assert "123456" not in stream.getvalue()
    assert line["applicant_name"] == line["full_name"] == line["recipient"] == "<redacted>"
    assert line["service_code"] == "KK_BARU"


def test_configure_logging_installs_the_filter() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(service="intake", level="INFO")
        [handler] = root.handlers
        assert any(isinstance(f, RedactPersonalData) for f in handler.filters)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_access_log_keeps_the_values_of_secret_query_parameters_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn writes each request's query string, where Meta's webhook verification sends the
    verify token. The server runs in its own thread, where uvicorn leaves signals alone, at the
    level a service logs at (the message sink's tests leave uvicorn's loggers at warnings)."""
    app = FastAPI()

    @app.get("/v1/channels/whatsapp/webhook")
    async def verify() -> PlainTextResponse:
        return PlainTextResponse("1158201444")

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(service="intake", level="INFO")
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info")
    server = uvicorn.Server(config)
    serving = threading.Thread(target=server.run)
    serving.start()
    try:
        eventually_blocking(lambda: server.started, what="the server started", timeout_s=10)
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": "meta-verify-0f3c9a",
            "hub.challenge": "1158201444",
            "access_token": "graph-token-7d21e4",
        }
        response = httpx.get(f"http://127.0.0.1:{port}/v1/channels/whatsapp/webhook", params=query)
    finally:
        server.should_exit = True
        serving.join(timeout=10)
        root.handlers[:] = handlers
        root.setLevel(level)

    assert response.status_code == 200
    output = capsys.readouterr().out
    [access] = [
        line for line in map(json.loads, output.splitlines()) if line["logger"] == "uvicorn.access"
    ]
    assert "hub.verify_token=<redacted>" in access["message"]
    assert "access_token=<redacted>" in access["message"]
    assert "hub.mode=subscribe" in access["message"]
    assert "hub.challenge=1158201444" in access["message"]
    assert "meta-verify-0f3c9a" not in output
    assert "graph-token-7d21e4" not in output
