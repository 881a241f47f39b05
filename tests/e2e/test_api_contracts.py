"""Every service answers as its published OpenAPI document says, whatever it is sent.

Schemathesis reads each running service's `/openapi.json` and sends the examples the document
gives, requests on both sides of each of its constraints, and generated valid and invalid ones,
always the same for one seed. Every check applies but `positive_data_acceptance`: a request the
document allows may still be refused by a rule it describes (a NIK's birth date and region, the
catalogue's codes), with a 422. Each service is called with a token of a role its routes admit;
schemathesis also tries every route that needs one without it, expecting 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from pymongo import MongoClient
from pymongo.database import Database
from schemathesis.engine import Status, events
from schemathesis.schemas import BaseSchema

from devstack.stack import SERVICES, Stack
from shared.mongo import Document

CONFIG = {
    "seed": 20_250_101,
    "generation": {"mode": "all", "max-examples": 100, "deterministic": True, "database": "none"},
    "checks": {"positive_data_acceptance": {"enabled": False}},
    # Its generated submissions almost never hold a real NIK, so its sequences stop at the first
    # step; fuzzing already looks up the requests the other phases created.
    "phases": {"stateful": {"enabled": False}},
}
INTAKE_COLLECTIONS = ("requests", "idempotency_keys")
SUBMIT = "POST /v1/requests"
ENDLESS = "/v1/audit/stream"
"""Server-sent events that follow the log for as long as the client stays: a generated call would
never end, so `test_audit_stream.py` sends this operation its hostile input instead."""


@dataclass
class Run:
    """What one schemathesis run found, and the submissions intake accepted during it."""

    problems: list[str] = field(default_factory=list)
    accepted: int = 0
    keys_accepted: set[str] = field(default_factory=set)
    calls: int = 0


def contract_run(schema: BaseSchema) -> Run:
    """Runs the examples, coverage and fuzzing phases on every operation of the document."""
    run = Run()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            record(run, event)
        elif isinstance(event, events.NonFatalError):
            run.problems.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return run


def record(run: Run, scenario: events.ScenarioFinished) -> None:
    for checks in scenario.recorder.checks.values():
        for check in checks:
            if check.status is Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                run.problems.append(
                    f"{scenario.label}: {check.name}: {failure.title}\n{failure.message}\n"
                    f"{check.failure_info.code_sample}"
                )
    for interaction in scenario.recorder.interactions.values():
        run.calls += 1
        request, response = interaction.request, interaction.response
        if response is None:
            run.problems.append(f"{scenario.label}: no answer to {request.method} {request.uri}")
        elif scenario.label == SUBMIT and response.status_code == 202:
            run.accepted += 1
            run.keys_accepted.update(
                value
                for name, values in request.headers.items()
                if name.lower() == "idempotency-key"
                for value in values
            )


@pytest.fixture(scope="module")
def intake_db(backend: Stack) -> Iterator[Database[Document]]:
    client: MongoClient[Document] = MongoClient(backend.mongo_url, tz_aware=True)
    try:
        yield client["adminduk_intake"]
    finally:
        client.close()


def stored(db: Database[Document]) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in INTAKE_COLLECTIONS}


CALLERS = {
    # Intake's routes are mostly public; a counter officer may also read what it submits.
    "intake": ("counter_officer", {"service_point": "KANTOR_DINAS"}),
    "processing": ("supervisor", {}),
    "notify": ("supervisor", {}),
    "audit": ("auditor", {}),
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_keeps_the_published_contract(
    backend: Stack, intake_db: Database[Document], service: str
) -> None:
    role, claims = CALLERS[service]
    token = backend.mint_token(role, lifetime_s=3600, **claims)
    schema = schemathesis.openapi.from_url(
        f"{backend.service_url(service)}/openapi.json",
        config=schemathesis.Config.from_dict(
            CONFIG | {"headers": {"Authorization": f"Bearer {token}"}}
        ),
    ).exclude(path=ENDLESS)
    before = stored(intake_db)

    run = contract_run(schema)

    assert run.calls > 0
    assert not run.problems, "\n\n".join(run.problems)
    after = stored(intake_db)
    assert after["requests"] - before["requests"] == run.accepted, "a refused request was stored"
    assert after["idempotency_keys"] - before["idempotency_keys"] == len(run.keys_accepted)
