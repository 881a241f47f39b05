from __future__ import annotations

import random
import string

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pymongo import monitoring
from pymongo.errors import AutoReconnect
from pymongo.server_description import ServerDescription

from shared import metrics
from shared.events.models.requests import RequestSubmitted
from shared.metrics import HttpMetrics, event_type_label


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(HttpMetrics)
    application.include_router(metrics.router)

    @application.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return application


async def test_methods_clients_make_up_are_counted_as_other_and_do_not_grow_the_metrics() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        await client.get("/things/1")
        before = len((await client.get("/metrics")).text)
        rng = random.Random(7)
        for _ in range(200):
            method = "".join(rng.choices(string.ascii_uppercase, k=12))
            await client.request(method, f"/things/{rng.randrange(10**9)}")
        text = (await client.get("/metrics")).text

    assert 'method="other",route="/things/{thing_id}",status="405"' in text
    assert len(text) - before < 5_000
    assert 'method="GET",route="/things/{thing_id}",status="200"' in text


def test_event_types_are_labelled_by_name_only_when_an_event_class_declares_them() -> None:
    assert event_type_label(RequestSubmitted.event_type) == RequestSubmitted.event_type
    assert event_type_label("unreadable") == "unreadable"
    assert event_type_label("id.go.adminduk.made.up.v9") == "other"


CLEARED = "adminduk_db_pool_cleared_total"


def test_a_cleared_connection_pool_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    before = REGISTRY.get_sample_value(CLEARED) or 0.0

    metrics.PoolWatch().pool_cleared(monitoring.PoolClearedEvent(("127.0.0.1", 27017), None))

    assert REGISTRY.get_sample_value(CLEARED) == before + 1
    assert "cleared its connection pool to 127.0.0.1:27017" in caplog.text


def test_the_error_that_made_the_driver_distrust_the_engine_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = ("127.0.0.1", 27017)
    lost = ServerDescription(address, error=AutoReconnect("127.0.0.1:27017: connection reset"))

    metrics.EngineWatch().description_changed(
        monitoring.ServerDescriptionChangedEvent(ServerDescription(address), lost, address, None)
    )
    again = ServerDescription(address, error=AutoReconnect("127.0.0.1:27017: connection reset"))
    metrics.EngineWatch().description_changed(
        monitoring.ServerDescriptionChangedEvent(lost, again, address, None)
    )
    metrics.EngineWatch().description_changed(
        monitoring.ServerDescriptionChangedEvent(again, ServerDescription(address), address, None)
    )

    [logged] = caplog.records
    assert "marked 127.0.0.1:27017 unknown after AutoReconnect" in logged.getMessage()
    assert "connection reset" in logged.getMessage()
