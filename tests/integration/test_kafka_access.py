"""The session's broker as production runs it: SASL_SSL with SCRAM, and ACLs per service.

Refusals are asserted beside the same client's allowed call, so a refusal cannot come from a
broker that is merely unreachable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from devstack.stack import Stack
from shared.events.topics import AUDIT_LOG, CASES, IDENTITY, REQUESTS
from shared.kafka import KafkaAccess, ensure_topics
from shared.kafka_acls import AUDITORS
from shared.kafka_producer import new_producer


@pytest.fixture(scope="module", autouse=True)
async def backend_topics(stack: Stack) -> None:
    await ensure_topics(
        stack.kafka_access(), [REQUESTS, CASES, IDENTITY, AUDIT_LOG], replication_factor=1
    )


async def started_producer(kafka: KafkaAccess) -> AIOKafkaProducer:
    producer = new_producer(kafka)
    await asyncio.wait_for(producer.start(), 30)
    return producer


async def test_a_client_without_tls_and_sasl_is_refused(stack: Stack) -> None:
    plaintext = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=5000)

    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(plaintext.start(), 30)
    await plaintext.stop()


async def test_a_wrong_password_is_refused(stack: Stack) -> None:
    intake = stack.kafka_access("intake")
    forged = new_producer(dataclasses.replace(intake, password="not-the-password"))

    with pytest.raises(KafkaError):
        await asyncio.wait_for(forged.start(), 30)
    await forged.stop()
    producer = await started_producer(intake)
    await producer.stop()


async def test_a_service_writes_its_own_topic_and_is_refused_anothers(stack: Stack) -> None:
    producer = await started_producer(stack.kafka_access("intake"))
    try:
        sent = await producer.send_and_wait(REQUESTS.name, b"{}", key=b"acl-test")
        assert sent.topic == REQUESTS.name
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(CASES.name, b"{}", key=b"acl-test")
    finally:
        await producer.stop()


async def test_a_service_cannot_read_what_it_does_not_consume(stack: Stack) -> None:
    """Intake writes the sign-in codes but has no reason to read them back."""
    reader = AIOKafkaConsumer(
        IDENTITY.name, **stack.kafka_access("intake").client_options(), group_id="intake"
    )
    await reader.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await reader.getmany(timeout_ms=5000)
    finally:
        await reader.stop()


async def test_a_service_cannot_use_another_services_consumer_group(stack: Stack) -> None:
    reader = AIOKafkaConsumer(
        REQUESTS.name, **stack.kafka_access("processing").client_options(), group_id="notify"
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await asyncio.wait_for(reader.start(), 30)
    finally:
        await reader.stop()


async def test_auditors_read_the_audit_log_and_cannot_write_it(stack: Stack) -> None:
    auditor = stack.kafka_access(AUDITORS)
    reader = AIOKafkaConsumer(
        AUDIT_LOG.name,
        **auditor.client_options(),
        group_id=f"{AUDITORS}-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await reader.start()
    try:
        await reader.getmany(timeout_ms=500)
        assert reader.assignment()
    finally:
        await reader.stop()
    producer = AIOKafkaProducer(**auditor.client_options())
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(AUDIT_LOG.name, b"{}", key=b"0")
    finally:
        await producer.stop()
