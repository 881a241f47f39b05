"""`python -m devstack run` runs the whole backend locally; `provision` fetches and builds;
`token` prints a token from the running local issuer.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from contextlib import suppress
from pathlib import Path
from types import FrameType

from devstack import ferretdb, kafka, postgres
from devstack.issuer import ROLES, local_issuer_url, mint, running_issuer_keys
from devstack.paths import CACHE_DIR
from devstack.process import StartupError
from devstack.stack import SERVICES, Ports, Stack

EXAMPLE = """\
Submit a request:
  curl -s -X POST {intake}/v1/requests -H 'Content-Type: application/json' \\
    -d '{{"service_code": "KK_BARU", "nik": "3516091204800001", "name": "Siti Aminah",
         "phone": "081234567890", "preferred_channel": "WHATSAPP",
         "fields": {{"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"}}}}'
Then read the audit log, as an auditor with a token from the local issuer:
  curl -s {audit}/v1/audit/entries -H "Authorization: Bearer $({token} --role auditor)"
Tokens for other roles: {token} --role verifier --service-point KANTOR_DINAS
Chat as a citizen on WhatsApp, photos too: README, "Message providers".
"""
RUN_DIR = CACHE_DIR / "run"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """A stop signal came: `run` stops the stack, also in the middle of starting it."""


def request_stop(signum: int, frame: FrameType | None) -> None:
    """Interrupts whatever `run` is doing."""
    ignore_stop_signals()
    raise StopRequested


def ignore_stop_signals() -> None:
    """Lets the stack's stop, which takes a bounded time, finish whatever else comes."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "provision",
        help="resolve the Kafka jars, build FerretDB and find PostgreSQL, then exit",
    )
    run = commands.add_parser(
        "run", help="run engines, message sink, token issuer and the four services"
    )
    defaults = Ports()
    run.add_argument(
        "--fresh", action="store_true", help="start from empty engines and a new issuer key"
    )
    run.add_argument(
        "--data-dir", type=Path, default=RUN_DIR, help="where engines keep data and logs"
    )
    run.add_argument("--kafka-bootstrap", help="use this Kafka cluster instead of a local broker")
    run.add_argument(
        "--instances",
        type=positive_int,
        default=1,
        help="processes of each service, behind one balanced port per service",
    )
    run.add_argument(
        "--kafka-brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="local brokers; 3 replicate every topic three times, on ports of their own",
    )
    run.add_argument("--mongo-url", help="use this MongoDB instead of a local FerretDB")
    run.add_argument("--kafka-port", type=int, default=defaults.kafka)
    run.add_argument("--kafka-controller-port", type=int, default=defaults.kafka_controller)
    run.add_argument("--mongo-port", type=int, default=defaults.mongo)
    run.add_argument("--postgres-port", type=int, default=defaults.postgres)
    run.add_argument("--message-sink-port", type=int, default=defaults.message_sink)
    run.add_argument("--message-sink-smtp-port", type=int, default=defaults.message_sink_smtp)
    run.add_argument("--issuer-port", type=int, default=defaults.issuer)
    for name in SERVICES:
        run.add_argument(f"--{name}-port", type=int, default=defaults.services[name])
    token = commands.add_parser(
        "token", help="print a token for a role, signed with the key of `run`'s issuer"
    )
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--subject", help="the token's `sub` (default: ROLE-test)")
    token.add_argument("--name", help="the person's display name")
    token.add_argument("--village", help="the village code, for village roles")
    token.add_argument("--service-point", help="the service point, for counter roles")
    token.add_argument(
        "--phone-number", help="the person's phone (+628...), where news of assisted requests go"
    )
    token.add_argument(
        "--lifetime-s", type=positive_int, default=3600, help="seconds until it expires"
    )
    token.add_argument(
        "--issuer-port",
        type=int,
        default=defaults.issuer,
        help="the port of the running issuer, whose key signs",
    )
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
        message_sink_smtp=args.message_sink_smtp_port,
        issuer=args.issuer_port,
        services={name: getattr(args, f"{name}_port") for name in SERVICES},
    )
    stack = Stack(
        run_dir,
        ports,
        kafka_bootstrap=args.kafka_bootstrap,
        mongo_url=args.mongo_url,
        instances=args.instances,
        kafka_brokers=args.kafka_brokers,
    )
    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    try:
        with suppress(StopRequested):
            serve(stack, run_dir)
    finally:
        ignore_stop_signals()
        print("Stopping ...", flush=True)
        stack.stop()


def serve(stack: Stack, run_dir: Path) -> None:
    """Starts the stack and runs until a stop signal comes."""
    brokers = "Kafka" if stack.kafka_brokers == 1 else f"{stack.kafka_brokers} Kafka brokers"
    services = (
        "the four services"
        if stack.instances == 1
        else (f"{stack.instances} instances of each of the four services")
    )
    print(
        f"Starting PostgreSQL, FerretDB, {brokers}, the message sink, the token issuer "
        f"and {services} ...",
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
    print(
        EXAMPLE.format(
            intake=stack.service_url("intake"),
            audit=stack.service_url("audit"),
            token=f"scripts/token --issuer-port {stack.ports.issuer}",
        )
    )
    print("Press Ctrl-C to stop.", flush=True)
    while True:
        signal.pause()


def token(args: argparse.Namespace) -> None:
    """Prints a token signed with the key of the issuer running on `--issuer-port`, wherever
    `run` keeps it."""
    issuer = local_issuer_url(args.issuer_port)
    print(
        mint(
            running_issuer_keys(issuer),
            issuer=issuer,
            subject=args.subject or f"{args.role}-test",
            roles=[args.role],
            name=args.name,
            village=args.village,
            service_point=args.service_point,
            phone_number=args.phone_number,
            lifetime_s=args.lifetime_s,
        )
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "provision":
            print(f"Kafka jars: {kafka.provision()}")
            print(f"FerretDB:   {ferretdb.provision()}")
            print(f"PostgreSQL: {postgres.find_bindir()}")
        elif args.command == "token":
            token(args)
        else:
            run(args)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
