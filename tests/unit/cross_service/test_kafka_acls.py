"""Each service may write only the topics it owns and read only those it consumes."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from services.asyncapi import SUBSCRIPTIONS
from services.kafka_acls import all_grants
from services.processing.config import ProcessingSettings
from shared.events.topics import AUDIT_LOG, CASES, IDENTITY, INTEGRITY, REQUESTS, TOPICS
from shared.kafka import KafkaAccess
from shared.kafka_acls import AUDITORS, Operation, PatternType, ResourceType
from shared.messagebus import Subscription

SERVICES = [subscription.service for subscription in SUBSCRIPTIONS]


def topics_allowed(user: str, operation: Operation) -> set[str]:
    return {
        grant.name
        for grant in all_grants()
        if grant.user == user
        and grant.resource == ResourceType.TOPIC
        and grant.operation == operation
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_only_its_own_topics_and_its_dead_letters(service: str) -> None:
    owned = {topic.name for topic in TOPICS if topic.writer == service}

    assert topics_allowed(service, Operation.WRITE) == owned | {f"adminduk.dlq.{service}.v1"}


def test_no_topic_has_two_writers() -> None:
    writers = [
        name
        for service in SERVICES
        for name in topics_allowed(service, Operation.WRITE)
        if not name.startswith("adminduk.dlq.")
    ]

    assert len(writers) == len(set(writers))
    assert set(writers) == {topic.name for topic in TOPICS}


@pytest.mark.parametrize("subscription", SUBSCRIPTIONS, ids=SERVICES)
def test_a_service_reads_exactly_what_it_subscribes_to_from_its_own_group(
    subscription: Subscription[Any],
) -> None:
    service = subscription.service
    groups = [
        (grant.name, grant.operation, grant.pattern)
        for grant in all_grants()
        if grant.user == service and grant.resource == ResourceType.GROUP
    ]

    assert topics_allowed(service, Operation.READ) == {topic.name for topic in subscription.topics}
    assert groups == [(service, Operation.READ, PatternType.LITERAL)]


def test_sign_in_codes_reach_only_notify_and_audit_but_intake_may_not_read_them() -> None:
    readers = {
        service for service in SERVICES if IDENTITY.name in topics_allowed(service, Operation.READ)
    }

    assert readers == {"notify", "audit"}


def test_processing_may_read_requests_but_not_forge_them() -> None:
    assert REQUESTS.name in topics_allowed("processing", Operation.READ)
    assert REQUESTS.name not in topics_allowed("processing", Operation.WRITE)
    assert CASES.name not in topics_allowed("intake", Operation.WRITE)


def test_auditors_only_read_the_audit_log_and_integrity_topics() -> None:
    grants = [grant for grant in all_grants() if grant.user == AUDITORS]

    assert {grant.operation for grant in grants} == {Operation.READ}
    assert topics_allowed(AUDITORS, Operation.READ) == {AUDIT_LOG.name, INTEGRITY.name}


def test_a_service_speaks_sasl_ssl_with_scram_by_default_and_checks_the_brokers_certificate(
    tmp_path: Path,
) -> None:
    settings = ProcessingSettings(environment="development", local_secrets_dir=tmp_path)

    options = KafkaAccess.of(settings).client_options()

    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "processing"
    assert options["sasl_plain_password"] == (tmp_path / "PROCESSING_KAFKA_PASSWORD").read_text()
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_the_password_never_shows_in_the_access_repr() -> None:
    access = KafkaAccess("kafka:9092", username="intake", password="s3cret-pw")

    assert "s3cret-pw" not in repr(access)


def test_plaintext_is_only_what_a_development_cluster_asks_for(tmp_path: Path) -> None:
    settings = ProcessingSettings(
        environment="development", kafka_security_protocol="PLAINTEXT", local_secrets_dir=tmp_path
    )

    assert KafkaAccess.of(settings).client_options() == {"bootstrap_servers": "127.0.0.1:9092"}
