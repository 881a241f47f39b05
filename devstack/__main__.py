"""`python -m devstack run` runs the whole backend locally; `provision` fetches and builds."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from devstack import ferretdb, kafka, postgres
from devstack.paths import CACHE_DIR
from devstack.process import StartupError
from devstack.stack import SERVICES, Ports, Stack

EXAMPLE = """\
Submit a request:
  curl -s -X POST {intake}/v1/requests -H 'Content-Type: application/json' \\
    -d '{{"service_code": "KK_BARU", "nik": "3516091204800001", "name": "Siti Aminah",
         "phone": "081234567890", "preferred_channel": "WHATSAPP"}}'
Then read the audit log:
  curl -s {audit}/v1/audit/entries
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "provision",
        help="resolve the Kafka jars, build FerretDB and find PostgreSQL, then exit",
    )
    run = commands.add_parser("run", help="run engines, message sink and the four services")
    defaults = Ports()
    run.add_argument("--fresh", action="store_true", help="start from empty engines")
    run.add_argument(
        "--data-dir", type=Path, default=CACHE_DIR / "run", help="where engines keep data and logs"
    )
    run.add_argument("--kafka-bootstrap", help="use this Kafka cluster instead of a local broker")
    run.add_argument("--mongo-url", help="use this MongoDB instead of a local FerretDB")
    run.add_argument("--kafka-port", type=int, default=defaults.kafka)
    run.add_argument("--kafka-controller-port", type=int, default=defaults.kafka_controller)
    run.add_argument("--mongo-port", type=int, default=defaults.mongo)
    run.add_argument("--postgres-port", type=int, default=defaults.postgres)
    run.add_argument("--message-sink-port", type=int, default=defaults.message_sink)
    for name in SERVICES:
        run.add_argument(f"--{name}-port", type=int, default=defaults.services[name])
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    run_dir: Path = args.data_dir
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    ports = Ports(
        kafka=args.kafka_port,
        kafka_controller=args.kafka_controller_port,
        mongo=args.mongo_port,
        postgres=args.postgres_port,
        message_sink=args.message_sink_port,
        services={name: getattr(args, f"{name}_port") for name in SERVICES},
    )
    stack = Stack(run_dir, ports, kafka_bootstrap=args.kafka_bootstrap, mongo_url=args.mongo_url)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        print(
            "Starting PostgreSQL, FerretDB, Kafka, the message sink and the four services ...",
            flush=True,
        )
        stack.start_all()
        print("\nAdminduk Go Digital is running:")
        for name, url in stack.urls().items():
            print(f"  {name:<13} {url}")
        print(f"\nLogs and data: {run_dir}")
        if stack.postgres_scratch is not None:
            print(
                f"PostgreSQL data: {stack.postgres_scratch}, removed at stop "
                f"(PostgreSQL's user cannot reach {run_dir})"
            )
        print()
        print(EXAMPLE.format(intake=stack.service_url("intake"), audit=stack.service_url("audit")))
        print("Press Ctrl-C to stop.", flush=True)
        stopping.wait()
    finally:
        print("Stopping ...", flush=True)
        stack.stop()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "provision":
            print(f"Kafka jars: {kafka.provision()}")
            print(f"FerretDB:   {ferretdb.provision()}")
            print(f"PostgreSQL: {postgres.find_bindir()}")
        else:
            run(args)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
