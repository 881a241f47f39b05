"""Which engine errors pass by themselves: a loop that meets one tries again, any other stops the
service, so that a fault nobody foresaw is seen rather than retried forever."""

from __future__ import annotations

from pymongo.errors import AutoReconnect, CursorNotFound, ExecutionTimeout, OperationFailure

from shared.errors import RetryableError
from shared.transient import is_transient, past_deadline

LOST_UNDER_A_CURSOR = (
    "[msg_getmore.go:204 handler.(*Handler).MsgGetMore] [conn.go:144 clientconn.(*conn).run.func1]"
    " run exits: [msg_body.go:62 wire.ReadMessage] zero bytes read"
)
"""FerretDB's answer to a getMore whose connection to the client had ended."""
PAST_ITS_DEADLINE = (
    "[msg_find.go:159 handler.(*Handler).MsgFind] [collection.go:137"
    " postgresql.(*collection).Query] timeout: read tcp 127.0.0.1:50412->127.0.0.1:5432:"
    " i/o timeout"
)
"""FerretDB's answer to an operation whose PostgreSQL query ran past the driver's maxTimeMS."""


def test_a_lost_connection_or_a_retryable_refusal_passes() -> None:
    assert is_transient(AutoReconnect("connection reset"))
    assert is_transient(RetryableError("case not opened yet"))
    assert is_transient(TimeoutError())


def test_a_cursor_the_engine_no_longer_holds_passes() -> None:
    assert is_transient(CursorNotFound("cursor id 3141260393 not found", 43))
    assert is_transient(OperationFailure(LOST_UNDER_A_CURSOR, 1))


def test_an_operation_the_engine_gave_up_on_at_its_deadline_passes_as_a_timeout() -> None:
    assert is_transient(OperationFailure(PAST_ITS_DEADLINE, 1))
    assert past_deadline(OperationFailure(PAST_ITS_DEADLINE, 1))
    assert past_deadline(ExecutionTimeout("operation exceeded time limit", 50))
    assert not past_deadline(OperationFailure(LOST_UNDER_A_CURSOR, 1))
    assert not past_deadline(OperationFailure("i/o timeout", 2))


def test_other_engine_errors_stop_the_loop() -> None:
    assert not is_transient(OperationFailure("unknown operator: $foo", 2))
    assert not is_transient(OperationFailure("invalid document", 1))
    assert not is_transient(ValueError("a bug"))
