"""What the local engines did underneath: PostgreSQL's rows read, sequential scans by collection
and open connections (read with the cluster's own `psql`), and the Kafka broker's write calls;
for the budget test and benchmarks."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from devstack import postgres
from devstack.stack import Stack

METADATA_TABLE = "_ferretdb_database_metadata"
"""Where FerretDB keeps each database's collections and the tables that hold them."""


def query(stack: Stack, sql: str, *, timeout_s: float = 30.0) -> list[list[str]]:
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
        timeout=timeout_s,
    )
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def connections(stack: Stack) -> int:
    """Connections PostgreSQL has open to the database, this query's own left out."""
    [[count]] = query(
        stack, "select count(*) from pg_stat_activity where datname = current_database()"
    )
    return int(count) - 1


def broker_writes(stack: Stack) -> int:
    """Write calls the local Kafka broker made so far, its threads together (`syscw` of
    /proc/PID/io): one per TLS record to a client, so they count fetch answers by the partitions
    in them, besides the log's own writes."""
    pid = stack.processes["kafka"].pid
    if pid is None:
        raise RuntimeError("the stack's Kafka broker is not running")
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "syscw":
            return int(value)
    raise RuntimeError(f"/proc/{pid}/io has no syscw")


def rows_read(stack: Stack) -> int:
    """Rows PostgreSQL returned to queries so far (`pg_stat_database.tup_returned`)."""
    [[count]] = query(
        stack, "select tup_returned from pg_stat_database where datname = current_database()"
    )
    return int(count)


def sequential_scans(stack: Stack) -> Counter[str]:
    """Sequential scans so far, by `database.collection`."""
    return _by_collection(stack, "seq_scan")


def rows_scanned(stack: Stack) -> Counter[str]:
    """Rows read by sequential scans so far, by `database.collection`."""
    return _by_collection(stack, "seq_tup_read")


def rows_read_by_table(stack: Stack) -> Counter[str]:
    """Rows read so far by scans of each table, system catalogs included, a collection's table
    named as `database.collection`."""
    return _by_collection(
        stack, "seq_tup_read + coalesce(idx_tup_fetch, 0)", view="pg_stat_all_tables", named=True
    )


def _by_collection(
    stack: Stack, statistic: str, *, view: str = "pg_stat_user_tables", named: bool = False
) -> Counter[str]:
    tables = collection_tables(stack)
    counts: Counter[str] = Counter()
    for schema, table, count in query(
        stack, f"select schemaname, relname, {statistic} from {view}"
    ):
        if (schema, table) in tables:
            counts[tables[schema, table]] += int(count)
        elif named:
            counts[f"{schema}.{table}"] += int(count)
    return counts


def collection_tables(stack: Stack) -> dict[tuple[str, str], str]:
    """Every collection of the services' databases, `database.collection` by (schema, table)."""
    return {
        (schema, table): f"{schema}.{collection}"
        for schema in databases(stack)
        for collection, table in query(
            stack,
            f"select _jsonb->>'_id', _jsonb->>'table' from \"{schema}\".{METADATA_TABLE}",
        )
    }


def databases(stack: Stack) -> list[str]:
    return [
        schema
        for [schema] in query(
            stack,
            "select table_schema from information_schema.tables "
            f"where table_name = '{METADATA_TABLE}'",
        )
    ]
