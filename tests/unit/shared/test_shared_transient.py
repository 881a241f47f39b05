"""Which engine errors pass by themselves: a loop that meets one tries again, any other stops the
service, so that a fault nobody foresaw is seen rather than retried forever."""

from __future__ import annotations

from pymongo.errors import AutoReconnect, CursorNotFound, OperationFailure

from shared.errors import RetryableError
from shared.transient import is_transient

LOST_UNDER_A_CURSOR = (
    "[msg_getmore.go:204 handler.(*Handler).MsgGetMore] [conn.go:144 clientconn.(*conn).run.func1]"
    " run exits: [msg_body.go:62 wire.ReadMessage] zero bytes read"
)
"""FerretDB's answer to a getMore whose connection to the client had ended."""


def test_a_lost_connection_or_a_retryable_refusal_passes() -> None:
    assert is_transient(AutoReconnect("connection reset"))
    assert is_transient(RetryableError("case not opened yet"))
    assert is_transient(TimeoutError())


def test_a_cursor_the_engine_no_longer_holds_passes() -> None:
    assert is_transient(CursorNotFound("cursor id 3141260393 not found", 43))
    assert is_transient(OperationFailure(LOST_UNDER_A_CURSOR, 1))


def test_other_engine_errors_stop_the_loop() -> None:
    assert not is_transient(OperationFailure("unknown operator: $foo", 2))
    assert not is_transient(OperationFailure("invalid document", 1))
    assert not is_transient(ValueError("a bug"))
