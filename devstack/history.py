"""A stored history for measuring what a request costs once the office has served many: every
collection that grows with requests gets copies of its documents until it holds as many as
`requests` would have left.

Copies are made in PostgreSQL underneath FerretDB, from the documents a small real workload
stored, so they have the real shape and size. Each copy gets an `_id` no service ever asks for
(a suffix on a string, a negative number for a log index) and distinct values under every unique
index, so a copy is found only by a query that reads documents it does not look up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devstack.engine_stats import collection_tables, query
from devstack.stack import Stack

COPY_TIMEOUT_S = 600.0
_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True)
class Collection:
    name: str
    """`database.collection`."""
    table: str
    """The PostgreSQL table, quoted with its schema."""
    documents: int


def collections(stack: Stack) -> list[Collection]:
    """Every collection of the services' databases, with its document count."""
    found = []
    for (schema, table), name in collection_tables(stack).items():
        qualified = f'"{schema}"."{table}"'
        [[count]] = query(stack, f"select count(*) from {qualified}")
        found.append(Collection(name, qualified, int(count)))
    return found


def store_history(stack: Stack, *, served: int, requests: int) -> dict[str, int]:
    """Copies the documents of every collection that holds at least one per request `served`,
    until it holds what `requests` would; returns the documents now held, by collection."""
    copies = max(requests // served - 1, 0)
    grown = {}
    for collection in collections(stack):
        if collection.documents < served or copies == 0:
            continue
        query(
            stack,
            f"insert into {collection.table} (_jsonb) "
            f"select {_copy(stack, collection)} "
            f"from {collection.table} original, generate_series(1, {copies}) as copy",
            timeout_s=COPY_TIMEOUT_S,
        )
        query(stack, f"analyze {collection.table}", timeout_s=COPY_TIMEOUT_S)
        grown[collection.name] = collection.documents * (copies + 1)
    return grown


def _copy(stack: Stack, collection: Collection) -> str:
    """The SQL of one copy of `original._jsonb` numbered `copy`."""
    document = "original._jsonb"
    for field in ["_id", *_unique_fields(stack, collection)]:
        value = f"original._jsonb->'{field}'"
        document = (
            f"jsonb_set({document}, '{{{field}}}', case jsonb_typeof({value}) "
            f"when 'number' then to_jsonb(-(copy * 100000 + ({value} #>> '{{}}')::bigint)) "
            "when 'array' then coalesce((select jsonb_agg(to_jsonb(item #>> '{}' || '~' || copy)) "
            f"from jsonb_array_elements({value}) item), '[]'::jsonb) "
            f"else to_jsonb(({value} #>> '{{}}') || '~' || copy) end)"
        )
    return document


def _unique_fields(stack: Stack, collection: Collection) -> list[str]:
    """Top-level fields under a unique index other than `_id`'s."""
    fields = []
    for [definition] in query(
        stack,
        "select pg_get_indexdef(indexrelid, 1, false) from pg_index "
        f"where indrelid = '{collection.table}'::regclass and indisunique",
    ):
        path = _QUOTED.findall(definition)
        if len(path) == 1 and path[0] != "_id":
            fields.append(path[0])
    return fields
