from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.config import ServiceSettings, local_secret

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
