"""The OpenAPI documents describe what the services answer: one error shape, the real statuses and
the constraints the server enforces."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from services.audit.bootstrap import create_app as audit_app
from services.audit.config import AuditSettings
from services.intake.bootstrap import create_app as intake_app
from services.intake.config import IntakeSettings
from services.intake.domain.identity import NIK_PATTERN, PHONE_PATTERN
from services.intake.domain.text import name_pattern
from services.notify.bootstrap import create_app as notify_app
from services.notify.config import NotifySettings
from services.processing.bootstrap import create_app as processing_app
from services.processing.config import ProcessingSettings

APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": lambda: intake_app(IntakeSettings()),
    "processing": lambda: processing_app(ProcessingSettings()),
    "notify": lambda: notify_app(NotifySettings()),
    "audit": lambda: audit_app(AuditSettings()),
}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
BEARER: dict[str, list[str]] = {"bearerAuth": []}
METHODS = {"get", "post", "put", "patch", "delete"}


def document(service: str) -> dict[str, Any]:
    return APPS[service]().openapi()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("service", APPS)
def test_every_error_status_is_documented_with_the_one_error_shape(service: str) -> None:
    doc = document(service)

    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "ValidationError" not in doc["components"]["schemas"]
    for name, operation in operations(doc):
        responses = operation["responses"]
        assert "500" in responses, name
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR_BODY, name
            if status in ("429", "503"):
                assert response["headers"]["Retry-After"]["required"] is True, name


@pytest.mark.parametrize("service", APPS)
def test_every_operation_documents_the_bearer_token_and_its_401(service: str) -> None:
    doc = document(service)

    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for name, operation in operations(doc):
        assert "401" in operation["responses"], name
        assert BEARER in operation["security"], name


@pytest.mark.parametrize("service", APPS)
def test_every_operation_that_takes_input_documents_its_422(service: str) -> None:
    for name, operation in operations(document(service)):
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in operation["responses"], name


@pytest.mark.parametrize("service", APPS)
def test_readiness_documents_its_503(service: str) -> None:
    responses = document(service)["paths"]["/readyz"]["get"]["responses"]

    assert set(responses) == {"200", "401", "500", "503"}


def test_submitting_documents_each_status_it_answers() -> None:
    operation = document("intake")["paths"]["/v1/requests"]["post"]
    responses = operation["responses"]

    assert set(responses) == {
        "200",
        "202",
        "401",
        "403",
        "408",
        "409",
        "413",
        "422",
        "429",
        "500",
        "503",
    }
    assert operation["security"] == [{}, BEARER]
    view = {"$ref": "#/components/schemas/RequestView"}
    assert responses["200"]["content"]["application/json"]["schema"] == view
    assert responses["202"]["content"]["application/json"]["schema"] == view
    assert responses["200"]["headers"]["Location"]["required"] is True


def test_the_request_body_carries_the_constraints_the_server_enforces() -> None:
    schema = document("intake")["components"]["schemas"]["SubmitRequestBody"]
    fields = schema["properties"]

    assert schema["additionalProperties"] is False
    assert fields["nik"]["pattern"] == NIK_PATTERN == "^[0-9]{16}$"
    assert "birth date" in fields["nik"]["description"]
    assert fields["phone"]["pattern"] == PHONE_PATTERN
    assert fields["name"]["pattern"] == name_pattern()
    assert (fields["name"]["minLength"], fields["name"]["maxLength"]) == (1, 120)
    assert fields["service_code"]["pattern"] == "^[A-Z][A-Z0-9_]*$"
    for field in ("nik", "phone", "name", "service_code"):
        for example in fields[field]["examples"]:
            assert re.fullmatch(fields[field]["pattern"], example), field


def test_a_request_id_is_a_uuid_whose_malformed_form_is_a_documented_422() -> None:
    operation = document("intake")["paths"]["/v1/requests/{request_id}"]["get"]

    [parameter] = operation["parameters"]
    assert parameter["schema"]["format"] == "uuid"
    assert set(operation["responses"]) == {"200", "401", "403", "404", "422", "500", "503"}
    assert operation["security"] == [BEARER]


def test_audit_paging_parameters_have_bounds() -> None:
    operation = document("audit")["paths"]["/v1/audit/entries"]["get"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}

    assert (schemas["after_sequence"]["minimum"], schemas["after_sequence"]["maximum"]) == (
        0,
        2**63 - 1,
    )
    assert (schemas["limit"]["minimum"], schemas["limit"]["maximum"]) == (1, 1000)


@pytest.mark.parametrize("path", ["/v1/audit/entries", "/v1/audit/verify"])
def test_reading_the_audit_log_documents_that_it_needs_a_token_with_a_role(path: str) -> None:
    operation = document("audit")["paths"][path]["get"]

    assert {"401", "403"} <= set(operation["responses"])
    assert "429" not in operation["responses"]
    assert operation["security"] == [BEARER]
