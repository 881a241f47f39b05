"""What a service's engine connections cost, as its metrics count them."""

from __future__ import annotations

from prometheus_client import REGISTRY

from devstack.stack import Stack
from shared.mongo import new_mongo_client


def opened() -> float:
    return REGISTRY.get_sample_value("adminduk_db_connections_opened_total") or 0.0


async def test_a_client_opens_a_connection_once_and_uses_it_for_each_operation(
    stack: Stack,
) -> None:
    before = opened()
    client = new_mongo_client(stack.mongo_url)
    try:
        for _ in range(3):
            await client.admin.command("ping")
    finally:
        await client.close()

    assert opened() - before == 1
