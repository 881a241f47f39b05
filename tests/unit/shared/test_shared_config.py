from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.audit.config import AuditSettings
from services.intake.config import IntakeSettings
from shared.config import ServiceSettings, load_settings, local_secret
from shared.errors import InvalidConfiguration

HEX_64 = re.compile(r"^[0-9a-f]{64}$")


def test_a_local_secret_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "secrets"

    value = local_secret(directory, "AUDIT_PSEUDONYM_KEY")

    path = directory / "AUDIT_PSEUDONYM_KEY"
    assert HEX_64.match(value)
    assert path.read_text() == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_local_secret_keeps_its_value(tmp_path: Path) -> None:
    first = local_secret(tmp_path, "KEY")

    assert local_secret(tmp_path, "KEY") == first
    assert local_secret(tmp_path, "OTHER_KEY") != first


def test_a_local_secret_made_meanwhile_by_another_process_is_the_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = "0f" * 32

    def made_by_another_process_meanwhile(nbytes: int) -> str:
        if not (tmp_path / "KEY").exists():
            (tmp_path / "KEY").write_text(theirs)
        return "ab" * nbytes

    monkeypatch.setattr("shared.config.secrets.token_hex", made_by_another_process_meanwhile)

    assert local_secret(tmp_path, "KEY") == theirs
    assert (tmp_path / "KEY").read_text() == theirs
    assert [p.name for p in tmp_path.iterdir()] == ["KEY"]


def test_a_local_secret_written_by_hand_is_read_without_its_newline(tmp_path: Path) -> None:
    (tmp_path / "KEY").write_text("from-the-operator\n")

    assert local_secret(tmp_path, "KEY") == "from-the-operator"


def test_an_empty_secret_file_left_by_a_crash_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "KEY").write_text("")

    value = local_secret(tmp_path, "KEY")

    assert HEX_64.match(value)
    assert (tmp_path / "KEY").read_text() == value
    assert [path.name for path in tmp_path.iterdir()] == ["KEY"]


def settings(environment: str, secrets_dir: Path) -> ServiceSettings:
    return ServiceSettings.model_validate(
        {"environment": environment, "local_secrets_dir": secrets_dir}
    )


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_a_configured_secret_is_used_as_given(environment: str, tmp_path: Path) -> None:
    secret = settings(environment, tmp_path).secret("KEY", SecretStr("configured"))

    assert secret.get_secret_value() == "configured"
    assert not (tmp_path / "KEY").exists()


@pytest.mark.parametrize("configured", [None, SecretStr("")])
def test_a_missing_secret_is_generated_and_kept_in_development(
    configured: SecretStr | None, tmp_path: Path
) -> None:
    development = settings("development", tmp_path)

    secret = development.secret("KEY", configured)

    assert HEX_64.match(secret.get_secret_value())
    assert development.secret("KEY", configured) == secret
    assert (tmp_path / "KEY").read_text() == secret.get_secret_value()


@pytest.mark.parametrize("configured", [None, SecretStr("")])
def test_a_missing_secret_stops_a_production_service(
    configured: SecretStr | None, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="KEY must be set in production"):
        settings("production", tmp_path).secret("KEY", configured)

    assert list(tmp_path.iterdir()) == []


def test_settings_without_an_environment_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset, a service would make its own secrets and trust the local issuer."""
    monkeypatch.delenv("INTAKE_ENVIRONMENT", raising=False)

    with pytest.raises(InvalidConfiguration) as refusal:
        load_settings(IntakeSettings)

    message = str(refusal.value)
    assert message == "INTAKE_ENVIRONMENT must name the environment: development, test, production"
    with pytest.raises(ValidationError):
        IntakeSettings()


@pytest.mark.parametrize("value", ["", "staging", "Production"])
def test_an_environment_not_among_the_three_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_ENVIRONMENT", value)

    with pytest.raises(InvalidConfiguration, match=r"^AUDIT_ENVIRONMENT must name the environment"):
        load_settings(AuditSettings)


def test_each_invalid_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDIT_ENVIRONMENT", "development")
    monkeypatch.setenv("AUDIT_HTTP_PORT", "eighty")
    monkeypatch.setenv("AUDIT_CHECKPOINT_ORIGIN", "a secret-looking origin")

    with pytest.raises(InvalidConfiguration) as refusal:
        load_settings(AuditSettings)

    problems = str(refusal.value).split("; ")
    assert [problem.split(":")[0] for problem in problems] == [
        "AUDIT_HTTP_PORT",
        "AUDIT_CHECKPOINT_ORIGIN",
    ]
    assert "eighty" not in str(refusal.value)
    assert "secret-looking" not in str(refusal.value)


def test_a_named_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENVIRONMENT", "development")

    assert load_settings(IntakeSettings).environment == "development"
