"""What the local engine's PostgreSQL did underneath: rows read, sequential scans by collection,
open connections. Read with the cluster's own `psql`, for the budget test and benchmarks."""

from __future__ import annotations

import subprocess
from collections import Counter

from devstack import postgres
from devstack.stack import Stack

METADATA_TABLE = "_ferretdb_database_metadata"
"""Where FerretDB keeps each database's collections and the tables that hold them."""


def query(stack: Stack, sql: str) -> list[list[str]]:
    """Rows of a query on FerretDB's PostgreSQL database, as text."""
    result = subprocess.run(
        [
            str(postgres.find_bindir() / "psql"),
            *("-h", "127.0.0.1", "-p", str(stack.ports.postgres)),
            *("-U", postgres.SUPERUSER, "-d", postgres.DATABASE),
            *("-AtF", "\t", "-c", sql),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def connections(stack: Stack) -> int:
    """Connections PostgreSQL has open to the database, this query's own left out."""
    [[count]] = query(
        stack, "select count(*) from pg_stat_activity where datname = current_database()"
    )
    return int(count) - 1


def rows_read(stack: Stack) -> int:
    """Rows PostgreSQL returned to queries so far (`pg_stat_database.tup_returned`)."""
    [[count]] = query(
        stack, "select tup_returned from pg_stat_database where datname = current_database()"
    )
    return int(count)


def sequential_scans(stack: Stack) -> Counter[str]:
    """Sequential scans so far, by `database.collection`."""
    tables = {
        (schema, table): f"{schema}.{collection}"
        for schema in _databases(stack)
        for collection, table in query(
            stack,
            f"select _jsonb->>'_id', _jsonb->>'table' from \"{schema}\".{METADATA_TABLE}",
        )
    }
    scans: Counter[str] = Counter()
    for schema, table, count in query(
        stack, "select schemaname, relname, seq_scan from pg_stat_user_tables"
    ):
        if (schema, table) in tables:
            scans[tables[schema, table]] += int(count)
    return scans


def _databases(stack: Stack) -> list[str]:
    return [
        schema
        for [schema] in query(
            stack,
            "select table_schema from information_schema.tables "
            f"where table_name = '{METADATA_TABLE}'",
        )
    ]
