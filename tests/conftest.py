"""The real engines, started once per test session by the project's own devstack.

Tests that need them fail (not skip) when an engine cannot be provisioned or started. Set
ADMINDUK_TEST_KAFKA and ADMINDUK_TEST_MONGO_URL to test against engines that run elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from devstack.stack import Ports, Stack
from services.intake.adapters.catalogue_file import DEFAULT_CATALOGUE

# The suite runs on a busy machine beside its engines: slow example generation is not a failure.
settings.register_profile(
    "busy_machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("busy_machine")

TESTS_DIR = Path(__file__).parent
SERVICE_PREFIXES = ("", "INTAKE_", "PROCESSING_", "NOTIFY_", "AUDIT_")

# Settings refuse an unnamed environment; those the tests build in this process are `test`
# (the stacks they start name theirs, as `scripts/run` does).
for prefix in SERVICE_PREFIXES:
    os.environ.setdefault(f"{prefix}ENVIRONMENT", "test")
MARKED_FOLDERS = {"integration", "e2e", "deployment"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks tests by folder, so `-m "not e2e"` and the like select them."""
    for item in items:
        folder = item.path.relative_to(TESTS_DIR).parts[0]
        if folder in MARKED_FOLDERS:
            item.add_marker(folder)


def catalogue_for_tests(folder: Path) -> Path:
    """The default catalogue, but KK_BARU may be open several times for one NIK: the tests send
    one citizen's KK_BARU form over and over, as no citizen would. The one-open-application rule
    has its own tests, on KTP_CETAK."""
    catalogue = json.loads(DEFAULT_CATALOGUE.read_text())
    for service in catalogue["services"]:
        if service["code"] == "KK_BARU":
            service["several_open_allowed"] = True
    path = folder / "catalogue.json"
    path.write_text(json.dumps(catalogue))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    stack = Stack(
        folder,
        Ports.free(),
        kafka_bootstrap=os.environ.get("ADMINDUK_TEST_KAFKA"),
        mongo_url=os.environ.get("ADMINDUK_TEST_MONGO_URL"),
        service_env={
            # Retries come due after 2 s; sweeping every second keeps the retry tests short.
            "NOTIFY_RETRY_SWEEP_INTERVAL_S": "1",
            # The tests run at any hour; quiet hours have their own tests on a fake clock.
            "NOTIFY_QUIET_HOURS": "false",
            # Short limits keep the tests of slow clients short.
            "INTAKE_BODY_TIMEOUT_S": "2",
            "INTAKE_HTTP_IDLE_TIMEOUT_S": "2",
            # The tests call from one address far more often than any citizen would.
            "INTAKE_SUBMISSIONS_PER_MINUTE": "1000000",
            "INTAKE_LOOKUPS_PER_MINUTE": "1000000",
            "INTAKE_SIGN_INS_PER_MINUTE": "1000000",
            "INTAKE_STAFF_CALLS_PER_MINUTE": "1000000",
            # The tests send many forms naming one phone; the caps have their own tests.
            "INTAKE_MESSAGES_PER_PHONE_DAY": "1000000",
            "INTAKE_MESSAGES_PER_MINUTE": "1000000",
            "INTAKE_CATALOGUE_FILE": str(catalogue_for_tests(folder)),
            # Seconds, not minutes, between codes and for a first lockout, so that the tests
            # of sign-in outlast them; the rules themselves are tested on a fake clock.
            "INTAKE_SIGN_IN_RESEND_AFTER_S": "1",
            "INTAKE_SIGN_IN_FIRST_LOCKOUT_S": "3",
            # The officers the monthly report's test names, in notify's directory format.
            "PROCESSING_STAFF_DIRECTORY": str(TESTS_DIR / "e2e" / "staff_directory.json"),
        },
    )
    try:
        stack.start_engines()
        yield stack
    finally:
        stack.stop()
