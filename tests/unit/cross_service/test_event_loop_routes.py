"""Every route's handler and dependencies are coroutines: FastAPI runs a plain function on a
worker thread, a switch to another thread and back on every request."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from tests.unit.cross_service.test_api_documents import APPS


def runs_in_the_loop(call: Callable[..., Any]) -> bool:
    for function in (call, type(call).__call__):
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            return True
    return False


def plain_functions(dependant: Dependant) -> Iterator[str]:
    call = dependant.call
    if call is not None and not runs_in_the_loop(call):
        yield getattr(call, "__qualname__", repr(call))
    for dependency in dependant.dependencies:
        yield from plain_functions(dependency)


@pytest.mark.parametrize("service", APPS)
def test_no_route_handler_or_dependency_runs_on_a_worker_thread(service: str) -> None:
    app = APPS[service]()
    routes = [route for route in iter_route_contexts(app.routes) if hasattr(route, "dependant")]

    on_threads = sorted(
        {f"{route.path}: {name}" for route in routes for name in plain_functions(route.dependant)}
    )

    assert len(routes) > 5
    assert on_threads == []
