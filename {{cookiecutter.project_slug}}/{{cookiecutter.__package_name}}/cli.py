"""The command line: worker (default), migrate, enqueue, status, dead; one clear line on a usage error."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn

import redis

from . import config as config_module
from . import logs
from .contract import StoreError
from .queue import Queue, connect
from .validate import Invalid, check_payload, set_unknown_fields

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command line: shown as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (try: python -m {self.prog.split()[0]} --help)")


def build_parser(prog: str) -> Parser:
    parser = Parser(prog=prog, description="Heroku worker: jobs from a Redis stream, results stored once.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.add_parser("worker", help="run the worker (the default; what the Procfile runs)")
    commands.add_parser("migrate", help="apply pending schema migrations (release phase; safe to repeat)")
    enqueue = commands.add_parser("enqueue", help="queue one job per JSON line of FILE (or - for stdin)")
    enqueue.add_argument("file", nargs="?", default="-", metavar="FILE")
    status = commands.add_parser("status", help="queue depths and workers")
    status.add_argument("--json", action="store_true", help="print JSON")
    dead = commands.add_parser("dead", help="dead letters: list (JSON lines), requeue or purge")
    dead.add_argument("action", nargs="?", default="list", choices=["list", "requeue", "purge"])
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _lines(name: str) -> Iterator[bytes]:
    if name == "-":
        yield from sys.stdin.buffer
        return
    try:
        with Path(name).open("rb") as handle:
            yield from handle
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def enqueue(queue: Queue, name: str, out: IO[str]) -> int:
    """Queue every valid line; report each refused line with its number and reason; exit 1 if any."""
    refused = 0
    accepted: list[bytes] = []
    queued = 0
    queue.ensure_group()
    for number, line in enumerate(_lines(name), start=1):
        payload = line.strip()
        if not payload:
            continue  # blank lines are not jobs
        try:
            check_payload(payload)
        except Invalid as exc:
            refused += 1
            logs.warning("enqueue_refused", line=number, reason=str(exc))
            continue
        accepted.append(payload)
        if len(accepted) >= 5000:
            queued += queue.enqueue(accepted)
            accepted = []
    queued += queue.enqueue(accepted)
    logs.info("enqueued", queue=queue.name, queued=queued, refused=refused)
    return 1 if refused else 0


def status(queue: Queue, as_json: bool, out: IO[str]) -> int:
    report = queue.status()
    if as_json:
        out.write(json.dumps(report) + "\n")
        return 0
    out.write(
        f"queue {report['queue']}: queued={report['queued']} in_flight={report['in_flight']} "
        f"retrying={report['retrying']} dead={report['dead']}\n"
    )
    out.write(f"workers: {len(report['workers'])}\n")
    for worker in report["workers"]:
        out.write(
            f"  {worker['id']}  last heartbeat {worker['last_heartbeat']} ({worker['seconds_ago']:.1f} s ago)"
            f"  holding {worker['holding']}\n"
        )
    return 0


def dead(queue: Queue, action: str, out: IO[str]) -> int:
    if action == "list":
        for record in queue.dead_letters():
            out.write(json.dumps(record) + "\n")
    elif action == "requeue":
        logs.info("dead_requeued", queue=queue.name, jobs=queue.requeue_dead())
    else:
        logs.info("dead_purged", queue=queue.name, jobs=queue.purge_dead())
    return 0


def migrate(settings: config_module.Config) -> int:
    """The release phase: apply pending migrations, then create the consumer group."""
    from .contract import ResultStore
    from .store import Store

    store: ResultStore = Store(settings, application_name="migrate")
    try:
        applied = store.migrate()
        Queue(connect(settings), settings.queue_name).ensure_group()
    finally:
        store.close()
    logs.info("migrated", queue=settings.queue_name, applied=",".join(applied) or "none")
    return 0


def run(args: argparse.Namespace, settings: config_module.Config) -> int:
    command = args.command or "worker"
    set_unknown_fields(settings.unknown_fields)  # the worker and `enqueue` refuse alike
    if command == "worker":
        from .worker import Worker

        return Worker(settings).run()
    signal.signal(signal.SIGTERM, _terminate)
    if command == "migrate":
        return migrate(settings)
    queue = Queue(connect(settings), settings.queue_name)
    if command == "enqueue":
        return enqueue(queue, args.file, sys.stdout)
    if command == "status":
        return status(queue, args.json, sys.stdout)
    return dead(queue, args.action, sys.stdout)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point for `python -m <package>`; returns the exit code."""
    prog = prog or (__package__ or "worker")
    try:
        args = build_parser(prog).parse_args(argv)
        settings = config_module.load()
    except UsageError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except config_module.ConfigError as exc:
        sys.stderr.write(f"{prog}: configuration error: {logs.mask(str(exc))}\n")
        return EXIT_USAGE
    logs.setup(settings.log_level)
    try:
        return run(args, settings)
    except UsageError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except StoreError as exc:  # a failed migration (named), or a schema this code cannot run on
        sys.stderr.write(f"{prog}: {args.command or 'worker'}: {logs.mask(str(exc))}\n")
        return 1
    except redis.RedisError as exc:
        sys.stderr.write(f"{prog}: Redis error ({logs.mask(settings.redis_url)}): {logs.mask(str(exc))}\n")
        return 1
    except KeyboardInterrupt:
        return 130
