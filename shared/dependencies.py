"""Typed dependencies: each feature's wiring provides its context on the app once, and its routes
ask for it by type (`Annotated[X, Depends(provided(X))]`), so no route reads an untyped
`app.state` slot through a getter of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import FastAPI, Request

from shared.errors import Kind, Refusal

T = TypeVar("T")

NOT_READY = "Layanan belum siap. Silakan coba lagi."


def provide(app: FastAPI, *contexts: object) -> None:
    """Makes each of `contexts` what the app's routes asking for its type receive."""
    provided = _provided(app)
    for context in contexts:
        provided[type(context)] = context


def provided(
    kind: type[T], *, code: str = "not_ready", message: str = NOT_READY
) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency on the app's context of type `kind` (see `context_of`). A coroutine,
    so FastAPI calls it in the event loop instead of on a worker thread, a thread switch per
    request."""

    async def dependency(request: Request) -> T:
        return context_of(request, kind, code=code, message=message)

    return dependency


def context_of(
    request: Request, kind: type[T], *, code: str = "not_ready", message: str = NOT_READY
) -> T:
    """The app's context of type `kind`. An app wired without one (a process or test that leaves
    the feature out) refuses as unavailable with `code`, `message`."""
    context = _provided(request.app).get(kind)
    if not isinstance(context, kind):
        raise Refusal(code, message, Kind.UNAVAILABLE)
    return context


def _provided(app: FastAPI) -> dict[type, object]:
    contexts: dict[type, object] | None = getattr(app.state, "provided", None)
    if contexts is None:
        contexts = app.state.provided = {}
    return contexts
