"""Wires audit: the Mongo log and tree, the consumer of every topic, the checkpointer, and the
auditors' API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from services.audit.adapters.kafka_entries import KafkaEntriesTopic
from services.audit.adapters.mongo_log import MongoLogEntries
from services.audit.adapters.mongo_published import MongoPublishedPosition
from services.audit.adapters.mongo_tree import MongoCheckpoints, MongoTreeNodes
from services.audit.config import AuditSettings
from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.context import StaffIdentity
from services.audit.domain.note import NoteSigner
from services.audit.entrypoints import api, integrity_api, stream_api
from services.audit.entrypoints.access import ACCESS
from services.audit.entrypoints.api import AuditContext
from services.audit.entrypoints.consumer import Dependencies, subscription
from services.audit.integrity_wiring import staff_directory, wire_integrity
from services.audit.service_layer.entries_topic import EntryRelay
from services.audit.service_layer.log import AuditRecorder
from services.audit.service_layer.ports import LogEntries
from services.audit.service_layer.stream import LogFeed
from services.audit.service_layer.tree import Checkpointer
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.dependencies import provide
from shared.errors import InvalidConfiguration
from shared.events.sealing import event_keys
from shared.events.topics import AUDIT_LOG
from shared.http.app import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics
from shared.polling import PollingLoop
from shared.runtime import ServiceProcess, connected


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """A PEM private key, or a 64-hex-character seed."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text.strip()))
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidConfiguration("AUDIT_CHECKPOINT_KEY is neither an Ed25519 PEM key nor a seed")
    return key


def checkpoint_signer(settings: AuditSettings) -> NoteSigner:
    key = settings.secret("AUDIT_CHECKPOINT_KEY", settings.checkpoint_key)
    return NoteSigner(settings.checkpoint_origin, load_signing_key(key.get_secret_value()))


def pseudonym_key(settings: AuditSettings) -> str:
    return settings.secret("AUDIT_PSEUDONYM_KEY", settings.pseudonym_key).get_secret_value()


@asynccontextmanager
async def connect(
    settings: AuditSettings,
    signer: NoteSigner,
    staff: dict[str, StaffIdentity],
    app: FastAPI,
    *,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    """Connects the engines, then wires each feature in turn around the consumer."""
    topics = service_topics("audit", subscription=subscription, group_id=settings.consumer_group)
    keys = event_keys(settings, service="audit", handled=subscription.events)
    async with connected(settings, topics) as infra:
        process = ServiceProcess(
            settings, settings.consumer_group, infra, settings.cipher(), keys, clock
        )
        log = await wire_log(app, process, settings, signer)
        checkpointer = wire_checkpoints(process, settings, log)
        feed = wire_stream(app, process, settings, log.entries)
        process.consume(
            subscription,
            Dependencies(recorder=recorder(process, settings, log.entries, checkpointer, feed)),
        )
        wire_entries_topic(process, settings, log.entries)
        wire_integrity(app, process, settings, log=log, staff=staff)
        async with process.running() as checks:
            yield checks


async def wire_log(
    app: FastAPI, process: ServiceProcess, settings: AuditSettings, signer: NoteSigner
) -> AuditContext:
    """The log, its tree and checkpoints, as the auditors read them; the log's end is followed
    from the database, as other instances append too."""
    entries = MongoLogEntries(process.db["entries"])
    await entries.ensure_indexes()
    await entries.size()
    log = AuditContext(
        entries=entries,
        nodes=MongoTreeNodes(process.db["tree_nodes"]),
        checkpoints=MongoCheckpoints(process.db["latest_checkpoint"], process.db["checkpoints"]),
        signer=signer,
    )
    provide(app, log)
    process.add(
        "log_end",
        PollingLoop(
            name="log-end", sweep=entries.size, sweep_interval_s=settings.stream_poll_interval_s
        ),
    )
    return log


def wire_checkpoints(
    process: ServiceProcess, settings: AuditSettings, log: AuditContext
) -> Checkpointer:
    """Signs a checkpoint of the tree as entries are appended."""
    checkpointer = Checkpointer(
        entries=log.entries, nodes=log.nodes, checkpoints=log.checkpoints, signer=log.signer
    )
    process.add(
        "checkpoints",
        PollingLoop(
            name="checkpoints",
            sweep=checkpointer.run,
            sweep_interval_s=settings.checkpoint_interval_s,
        ),
    )
    return checkpointer


def wire_stream(
    app: FastAPI, process: ServiceProcess, settings: AuditSettings, entries: LogEntries
) -> LogFeed:
    """The auditors' live stream; ended as soon as the process is told to stop."""
    feed = LogFeed(
        log=entries,
        max_followers=settings.stream_max_followers,
        poll_interval_s=settings.stream_poll_interval_s,
        heartbeat_s=settings.stream_heartbeat_s,
    )
    provide(app, feed)
    app.state.exit_hooks.append(feed.close)
    process.add("stream", feed)
    return feed


def recorder(
    process: ServiceProcess,
    settings: AuditSettings,
    entries: LogEntries,
    checkpointer: Checkpointer,
    feed: LogFeed,
) -> AuditRecorder:
    """Appends every event the consumer hands it, telling the checkpointer and the stream."""

    def appended(added: Sequence[LogEntry]) -> None:
        checkpointer.appended(added)
        feed.appended(added)

    return AuditRecorder(
        log=entries,
        pseudonym_key=pseudonym_key(settings).encode(),
        clock=process.clock,
        appended=appended,
        linger_s=settings.append_linger_s,
    )


def wire_entries_topic(
    process: ServiceProcess, settings: AuditSettings, entries: LogEntries
) -> None:
    """Publishes the log's entries, in order, to the audit log topic."""
    relay = EntryRelay(
        log=entries,
        topic=KafkaEntriesTopic(process.infra.producer, AUDIT_LOG),
        position=MongoPublishedPosition(process.db["published"]),
    )
    process.add(
        "entries_topic",
        PollingLoop(
            name="entries-topic",
            sweep=relay.run,
            sweep_interval_s=settings.entries_topic_interval_s,
        ),
    )


def create_app(
    settings: AuditSettings, wiring: Wiring | None = None, *, staff_keys: KeySource | None = None
) -> FastAPI:
    settings.check_production()
    signer = checkpoint_signer(settings)
    staff = staff_directory(settings, key=pseudonym_key(settings).encode())
    return build_app(
        title="Adminduk Go Digital: audit",
        settings=settings,
        wiring=wiring or partial(connect, settings, signer, staff),
        routers=[api.router, stream_api.router, integrity_api.router],
        access=ACCESS,
        staff_keys=staff_keys,
        unbounded_paths=[api.VERIFY_PATH, api.EXPORT_PATH, stream_api.STREAM_PATH],
    )
