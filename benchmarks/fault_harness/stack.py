"""The stack under test and the faults done to its processes, in one place.

Everything the harness needs of `devstack.stack.Stack` beyond starting it and reading its urls is
here: how many instances and brokers it runs, and how one instance, one broker, the whole of
Kafka or the database engine is taken down and brought back.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.process import descendants
from devstack.stack import SERVICES, Ports, Stack, instance_name

DATABASE_PROCESSES = ("ferretdb", "postgres")
"""The database engine: FerretDB and the PostgreSQL it keeps its data in, paused together."""


@dataclass(frozen=True)
class Instance:
    """One process of a service: `index` counts from 1, as the stack's do."""

    service: str
    index: int

    @property
    def name(self) -> str:
        return instance_name(self.service, self.index)


def new_stack(
    run_dir: Path, *, instances: int, kafka_brokers: int, service_env: Mapping[str, str]
) -> Stack:
    """A stack on free ports with `instances` processes per service and `kafka_brokers` brokers."""
    return Stack(
        run_dir,
        Ports.free(),
        service_env=service_env,
        instances=instances,
        kafka_brokers=kafka_brokers,
    )


class Faults:
    """Takes processes of a running stack down and brings them back."""

    def __init__(self, stack: Stack, *, instances: int, kafka_brokers: int) -> None:
        self.stack = stack
        self.instances = instances
        self.kafka_brokers = kafka_brokers

    def every_instance(self) -> list[Instance]:
        return [Instance(name, i) for name in SERVICES for i in range(1, self.instances + 1)]

    def kill_instance(self, instance: Instance) -> None:
        """SIGKILL, as a crash would."""
        self.stack.kill_instance(instance.service, instance.index)

    def restart_instance(self, instance: Instance) -> None:
        """Starts it again on its port and waits until it is ready."""
        self.stack.start_instance(instance.service, instance.index)

    def kill_broker(self, node_id: int) -> None:
        """SIGKILL of one broker (node ids count from 1)."""
        self.stack.kill_broker(node_id)

    def restart_broker(self, node_id: int) -> None:
        self.stack.start_brokers(node_id)

    def stop_kafka(self) -> None:
        """Every broker down at once (SIGKILL: nothing flushed that a crash would not)."""
        for node_id in range(1, self.kafka_brokers + 1):
            self.kill_broker(node_id)

    def start_kafka(self) -> None:
        self.stack.start_brokers(*range(1, self.kafka_brokers + 1))

    def pause_database(self) -> None:
        """SIGSTOP to the engine's process groups: connections stay open and go silent."""
        self._signal_database(signal.SIGSTOP)

    def resume_database(self) -> None:
        self._signal_database(signal.SIGCONT)

    def _signal_database(self, sig: signal.Signals) -> None:
        """Every process of the engine: PostgreSQL's backends each lead a process group of
        their own, so signalling the server's group alone would leave them serving."""
        for name in DATABASE_PROCESSES:
            process = self.stack.processes.get(name)
            if process is not None and process.pid is not None:
                for pid in (process.pid, *descendants(process.pid)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
