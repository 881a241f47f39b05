"""`python -m services.kafka_acls`: gives every service, and the auditors' user, exactly the
Kafka ACLs its declarations need. Run as a super user at every deployment (docker-compose.yml's
`kafka-acls`, and devstack at every start); it only ever adds what is missing.

Reads KAFKA_BOOTSTRAP_SERVERS, KAFKA_ADMIN_USERNAME, KAFKA_ADMIN_PASSWORD and KAFKA_CA_FILE.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from services.asyncapi import SUBSCRIPTIONS
from shared.kafka import KafkaAccess
from shared.kafka_acls import Grant, apply, auditor_grants, service_grants
from shared.runtime import EX_CONFIG


def all_grants() -> list[Grant]:
    grants = [
        grant
        for subscription in SUBSCRIPTIONS
        for grant in service_grants(subscription.service, subscription)
    ]
    return grants + auditor_grants()


def main() -> int:
    try:
        kafka = KafkaAccess(
            os.environ["KAFKA_BOOTSTRAP_SERVERS"],
            username=os.environ.get("KAFKA_ADMIN_USERNAME", "admin"),
            password=os.environ["KAFKA_ADMIN_PASSWORD"],
            ca_file=Path(ca_file) if (ca_file := os.environ.get("KAFKA_CA_FILE")) else None,
        )
    except KeyError as missing:
        print(f"{missing.args[0]} must be set", file=sys.stderr)
        return EX_CONFIG
    grants = all_grants()
    asyncio.run(apply(kafka, grants))
    print(f"{len(grants)} ACLs in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
