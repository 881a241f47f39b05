"""Production refuses to start without its secrets; elsewhere, safe ones are made locally."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from services.audit.bootstrap import create_app as audit_app
from services.audit.config import AuditSettings
from services.intake.bootstrap import create_app as intake_app
from services.intake.config import IntakeSettings
from services.notify.adapters.staff_contacts_file import SAMPLE_STAFF_DIRECTORY
from services.notify.bootstrap import create_app as notify_app
from services.notify.config import NotifySettings
from services.processing.bootstrap import create_app as processing_app
from services.processing.config import ProcessingSettings
from shared.config import MissingSecrets, ServiceSettings
from shared.errors import InvalidConfiguration
from shared.events.models import EVENT_TYPES
from shared.events.sealing import topic_sealed
from shared.http.app import ReadinessCheck
from tests.builders import VALID_NIK

PERSONAL_TOPICS = {cls.topic.name for cls in EVENT_TYPES.values() if topic_sealed(cls)}

AppFactory = Callable[..., FastAPI]
REQUIRED: dict[str, tuple[type[ServiceSettings], AppFactory, set[str]]] = {
    "intake": (
        IntakeSettings,
        intake_app,
        {
            "INTAKE_OIDC_ISSUER",
            "INTAKE_DATA_KEYS",
            "INTAKE_LOOKUP_KEY",
            "INTAKE_KAFKA_PASSWORD",
            "INTAKE_CITIZEN_SIGNING_KEY",
            "INTAKE_WHATSAPP_APP_SECRET",
            "INTAKE_WHATSAPP_VERIFY_TOKEN",
            "INTAKE_WHATSAPP_ACCESS_TOKEN",
            "INTAKE_SMS_WEBHOOK_SECRET",
            "INTAKE_TRUSTED_PROXIES",
            "INTAKE_TOPIC_KEYS",
            "INTAKE_SIGN_IN_CODE_KEY",
        },
    ),
    "processing": (
        ProcessingSettings,
        processing_app,
        {
            "PROCESSING_OIDC_ISSUER",
            "PROCESSING_DATA_KEYS",
            "PROCESSING_LOOKUP_KEY",
            "PROCESSING_KAFKA_PASSWORD",
            "PROCESSING_TOPIC_KEYS",
        },
    ),
    "notify": (
        NotifySettings,
        notify_app,
        {
            "NOTIFY_OIDC_ISSUER",
            "NOTIFY_DATA_KEYS",
            "NOTIFY_LOOKUP_KEY",
            "NOTIFY_KAFKA_PASSWORD",
            "NOTIFY_WHATSAPP_PHONE_NUMBER_ID",
            "NOTIFY_WHATSAPP_ACCESS_TOKEN",
            "NOTIFY_SMS_GATEWAY_URL",
            "NOTIFY_SMS_GATEWAY_TOKEN",
            "NOTIFY_SMTP_HOST",
            "NOTIFY_SMTP_FROM",
            "NOTIFY_SURVEY_URL",
            "NOTIFY_SMS_REPORT_SECRET",
            "NOTIFY_CITIZEN_TOKEN_KEY",
            "NOTIFY_STAFF_DIRECTORY",
            "NOTIFY_TOPIC_KEYS",
            "NOTIFY_SIGN_IN_CODE_KEYS",
        },
    ),
    "audit": (
        AuditSettings,
        audit_app,
        {
            "AUDIT_OIDC_ISSUER",
            "AUDIT_DATA_KEYS",
            "AUDIT_LOOKUP_KEY",
            "AUDIT_KAFKA_PASSWORD",
            "AUDIT_PSEUDONYM_KEY",
            "AUDIT_CHECKPOINT_KEY",
            "AUDIT_STAFF_DIRECTORY",
            "AUDIT_TOPIC_KEYS",
        },
    ),
}


def audit_staff_directory(folder: Path) -> Path:
    path = folder / "audit_staff.json"
    path.write_text(json.dumps([{"sub": "verifier-test", "nik": VALID_NIK}]))
    return path


@asynccontextmanager
async def nothing(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    yield {}


@pytest.mark.parametrize("service", REQUIRED)
def test_production_without_secrets_refuses_to_start_and_names_every_missing_one(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_class, create_app, required = REQUIRED[service]
    monkeypatch.chdir(tmp_path)
    settings = settings_class(environment="production", local_secrets_dir=tmp_path / "s")

    with pytest.raises(MissingSecrets) as refusal:
        create_app(settings, nothing)

    assert set(str(refusal.value).removeprefix("production needs ").split(", ")) == required
    assert not (tmp_path / "s").exists()


def production_settings(service: str, folder: Path, **changes: str) -> ServiceSettings:
    """A service's production settings with every required secret given."""
    settings_class, _, required = REQUIRED[service]
    values = {
        name.split("_", 1)[1].lower(): f"{number:02x}" * 32
        for number, name in enumerate(sorted(required), start=1)
    }
    values["oidc_issuer"] = "https://idp.example/realms/adminduk"
    values["topic_keys"] = json.dumps(dict.fromkeys(PERSONAL_TOPICS, "ee" * 32))
    if service == "notify":
        values["whatsapp_phone_number_id"] = "106540352242922"
        values["citizen_token_key"] = (
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        values["staff_directory"] = str(SAMPLE_STAFF_DIRECTORY)
    if service == "audit":
        values["staff_directory"] = str(audit_staff_directory(folder))
    if service == "intake":
        values["trusted_proxies"] = "172.16.0.0/12, 2001:db8::1"
    return settings_class.model_validate(
        {"environment": "production", "local_secrets_dir": folder / "s", **values, **changes}
    )


@pytest.mark.parametrize("service", REQUIRED)
def test_production_with_every_secret_starts(service: str, tmp_path: Path) -> None:
    create_app = REQUIRED[service][1]
    settings = production_settings(service, tmp_path)

    app = create_app(settings, nothing)

    assert app.title.endswith(service)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("service", REQUIRED)
def test_production_refuses_a_kafka_without_tls_and_sasl(service: str, tmp_path: Path) -> None:
    create_app = REQUIRED[service][1]
    settings = production_settings(service, tmp_path, kafka_security_protocol="PLAINTEXT")

    with pytest.raises(InvalidConfiguration, match="KAFKA_SECURITY_PROTOCOL must be SASL_SSL"):
        create_app(settings, nothing)


def test_audit_in_production_refuses_to_start_without_its_staff_directory(
    tmp_path: Path,
) -> None:
    """Without the directory the self-dealing rule would compare no officer, unnoticed."""
    settings = AuditSettings.model_validate(
        {
            "environment": "production",
            "oidc_issuer": "https://idp.example/realms/adminduk",
            **{name: "ab" * 32 for name in ("data_keys", "lookup_key", "pseudonym_key")},
            "topic_keys": json.dumps(dict.fromkeys(PERSONAL_TOPICS, "ee" * 32)),
            "checkpoint_key": "cd" * 32,
            "kafka_password": "ef" * 16,
        }
    )

    with pytest.raises(MissingSecrets, match=r"^production needs AUDIT_STAFF_DIRECTORY$"):
        audit_app(settings, nothing)

    audit_app(
        settings.model_copy(update={"staff_directory": audit_staff_directory(tmp_path)}), nothing
    )


def test_outside_production_secrets_are_made_once_and_kept_owner_only(tmp_path: Path) -> None:
    settings = ServiceSettings(local_secrets_dir=tmp_path / "s")

    first = settings.cipher().lookup_hash("x", purpose="p")
    again = ServiceSettings(local_secrets_dir=tmp_path / "s").cipher().lookup_hash("x", purpose="p")

    assert first == again
    assert {path.stat().st_mode & 0o777 for path in (tmp_path / "s").iterdir()} == {0o600}
