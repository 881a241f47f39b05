"""Who may do what on the event bus: each service writes only the topics it owns and reads only the
topics it consumes, so a service's stolen credentials cannot forge another's events.

`service_grants` derives a service's ACLs from what it declares (the events it writes, its
subscription, its consumer group); `apply` creates them on the cluster as a super user, through
Kafka's CreateAcls API. Creating an ACL that exists already changes nothing, so `apply` runs at
every deployment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from shared.events.topics import AUDIT_LOG, INTEGRITY, Topic
from shared.kafka import KafkaAccess, service_topics
from shared.messagebus import Subscription

ANY_HOST = "*"
AUDITORS = "auditor"
"""The user auditors' own tools read the audit log and integrity topics as, from groups named
`auditor...`."""


class ResourceType(IntEnum):
    TOPIC = 2
    GROUP = 3


class PatternType(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5


ALLOW = 3


class AclRefused(RuntimeError):
    """The cluster refused to create an ACL: the message says which, and why."""


@dataclass(frozen=True, order=True)
class Grant:
    """One allowed operation of one user on one topic or consumer group."""

    user: str
    resource: ResourceType
    name: str
    operation: Operation
    pattern: PatternType = PatternType.LITERAL

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def service_grants(
    service: str, subscription: Subscription[Any] | None, *, group_id: str | None = None
) -> list[Grant]:
    """A service may create the topics it starts with, write those it owns (its dead letters
    among them), read those it subscribes to, and use its own consumer group."""
    group = group_id or service
    read = {topic.name for topic in subscription.topics} if subscription is not None else set()
    grants: set[Grant] = set()
    for topic in service_topics(service, subscription=subscription, group_id=group):
        grants.add(Grant(service, ResourceType.TOPIC, topic.name, Operation.CREATE))
        if topic.writer == service or topic.writer == group:
            grants.add(Grant(service, ResourceType.TOPIC, topic.name, Operation.WRITE))
        if topic.name in read:
            grants.add(Grant(service, ResourceType.TOPIC, topic.name, Operation.READ))
    if subscription is not None:
        grants.add(Grant(service, ResourceType.GROUP, group, Operation.READ))
    return sorted(grants)


def reader_grants(user: str, topics: Iterable[Topic], *, group_prefix: str) -> list[Grant]:
    """A reader outside the backend: the topics, from consumer groups named `group_prefix...`."""
    grants = [Grant(user, ResourceType.TOPIC, topic.name, Operation.READ) for topic in topics]
    grants.append(
        Grant(user, ResourceType.GROUP, group_prefix, Operation.READ, PatternType.PREFIXED)
    )
    return grants


def auditor_grants() -> list[Grant]:
    return reader_grants(AUDITORS, (AUDIT_LOG, INTEGRITY), group_prefix=AUDITORS)


async def apply(kafka: KafkaAccess, grants: Iterable[Grant]) -> None:
    """Creates the ACLs; `kafka` must be a super user's access."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        for grant in grants:
            request = CreateAclsRequest(
                resource_type=grant.resource,
                resource_name=grant.name,
                resource_pattern_type_filter=grant.pattern,
                principal=grant.principal,
                host=ANY_HOST,
                operation=grant.operation,
                permission_type=ALLOW,
            )
            response = await admin._send_request(request)
            for code, message in response.creation_responses:
                if code:
                    raise AclRefused(f"{grant}: error {code} {message or ''}".strip())
    finally:
        await admin.close()
