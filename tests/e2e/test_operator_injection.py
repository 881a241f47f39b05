"""MongoDB query operators sent as values (`{"$ne": null}`) are refused, never run as queries.

Every JSON body that intake's published OpenAPI document accepts is tried with an operator object
in each of its fields in turn, and the valid submission and look-up with one field replaced: each
is a 4xx, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from devstack.stack import Stack
from shared.mongo import Document
from tests.e2e.conftest import SUBMISSION

OPERATORS: list[Any] = [
    {"$ne": None},
    {"$gt": ""},
    {"$regex": ".*"},
    {"$where": "sleep(1000)"},
    [{"$ne": None}],
]
WEBHOOKS = ("/webhook",)
"""Provider webhooks refuse any body without the provider's signature first (401)."""


COUNTERS = "counts"
"""Rate-limit counters: every call, refused or not, is counted."""


def stored(db: Database[Document]) -> dict[str, int]:
    return {
        name: db[name].count_documents({})
        for name in db.list_collection_names()
        if name != COUNTERS
    }


def json_bodies(document: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    """(method, path, property names) of every operation taking a JSON object."""
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            yield method.upper(), path, list(schema.get("properties", {}))


async def test_an_operator_in_any_field_of_any_body_is_a_4xx_and_stores_nothing(
    backend: Stack,
    http: httpx.AsyncClient,
    intake_db: Database[Document],
    tokens: Any,
) -> None:
    intake = backend.service_url("intake")
    document = (await http.get(f"{intake}/openapi.json")).json()
    counter = tokens("counter_officer", service_point="KANTOR_DINAS")
    before = stored(intake_db)
    tried = 0

    for method, path, properties in json_bodies(document):
        url = intake + path.replace("{request_id}", "00000000-0000-4000-8000-000000000000")
        for name in properties:
            for operator in OPERATORS:
                response = await http.request(method, url, json={name: operator}, headers=counter)
                tried += 1
                assert 400 <= response.status_code < 500, (method, path, name, response.text)
                assert response.json()["error"], (method, path, name)

    assert tried > 50
    after = stored(intake_db)
    assert {name: after.get(name, 0) for name in before} == before


@pytest.mark.parametrize("field", ["service_code", "nik", "name", "phone", "preferred_channel"])
@pytest.mark.parametrize("operator", OPERATORS[:2])
async def test_an_operator_in_a_valid_submission_is_a_422_naming_the_field(
    backend: Stack,
    http: httpx.AsyncClient,
    intake_db: Database[Document],
    field: str,
    operator: Any,
) -> None:
    before = intake_db["requests"].count_documents({})

    response = await http.post(
        f"{backend.service_url('intake')}/v1/requests", json=SUBMISSION | {field: operator}
    )

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert intake_db["requests"].count_documents({}) == before


@pytest.mark.parametrize("operator", OPERATORS)
async def test_an_operator_in_a_form_field_or_a_look_up_finds_nothing(
    backend: Stack, http: httpx.AsyncClient, operator: Any
) -> None:
    intake = backend.service_url("intake")

    in_form = await http.post(
        f"{intake}/v1/requests",
        json=SUBMISSION | {"fields": {**SUBMISSION["fields"], "reason": operator}},
    )
    as_key = await http.post(
        f"{intake}/v1/requests", json=SUBMISSION | {"fields": {"$ne": "MENIKAH"}}
    )
    look_up = await http.post(
        f"{intake}/v1/lookup", json={"tracking_number": operator, "nik_last4": operator}
    )

    assert in_form.status_code == 422
    assert as_key.status_code == 422
    assert look_up.status_code == 422
