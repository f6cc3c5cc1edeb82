"""The command line: worker (default), migrate, enqueue, status, dead; one clear line on a usage error."""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn

{% if cookiecutter.use_postgres %}import psycopg2
{% endif %}import redis

from . import config as config_module
from . import logs
from .contract import StoreError
from .queue import Limits, Queue, connect
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


ENQUEUE_CHUNK_LINES = 5000  # lines sent per round trip; memory stays bounded whatever the file's size
ENQUEUE_CHUNK_BYTES = 8 * 2**20


def _lines(name: str, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line or None when longer than `limit`, size): a long line is skipped, never held."""
    if name == "-":
        yield from _read_lines(sys.stdin.buffer, limit)
        return
    try:
        with Path(name).open("rb") as handle:
            yield from _read_lines(handle, limit)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def _read_lines(handle: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    for number in itertools.count(1):
        line = handle.readline(limit + 2)  # + room for "\r\n"
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= limit:
            yield number, line, len(line)
            continue
        size = len(line)
        while not line.endswith(b"\n"):  # skip the rest of an oversized line, 1 MiB at a time
            line = handle.readline(2**20)
            if not line:
                break
            size += len(line)
        yield number, None, size


def refusal(payload: bytes, limit: int) -> str | None:
    """Why this line cannot be queued, or None. Whatever goes wrong on one line stays with that line."""
    if len(payload) > limit:
        return f"line is {len(payload)} bytes, over PAYLOAD_MAX_BYTES={limit}"
    try:
        check_payload(payload)
    except Invalid as exc:
        return str(exc)
    except MemoryError:
        return "out of memory decoding this line"
    except (ValueError, UnicodeError) as exc:
        return f"malformed JSON: {exc}"
    return None


def enqueue(queue: Queue, name: str, out: IO[str]) -> int:
    """Queue every valid line, in chunks as the file is read; report each refused line with its number and
    reason; exit 1 if any was refused."""
    limit = queue.limits.payload_max_bytes
    refused = queued = pending_bytes = 0
    accepted: list[bytes] = []
    queue.ensure_group()
    for number, line, size in _lines(name, limit):
        payload = line.strip() if line is not None else None
        if payload == b"":
            continue  # blank lines are not jobs
        too_long = f"line is {size} bytes, over PAYLOAD_MAX_BYTES={limit}"
        reason = refusal(payload, limit) if payload is not None else too_long
        if reason is not None:
            refused += 1
            logs.warning("enqueue_refused", line=number, reason=reason[:300])
            continue
        assert payload is not None
        accepted.append(payload)
        pending_bytes += len(payload)
        if len(accepted) >= ENQUEUE_CHUNK_LINES or pending_bytes >= ENQUEUE_CHUNK_BYTES:
            queued += queue.enqueue(accepted)
            accepted, pending_bytes = [], 0
    queued += queue.enqueue(accepted)
    logs.info("enqueued", queue=queue.name, queued=queued, refused=refused)
    return 1 if refused else 0


def status(queue: Queue, as_json: bool, out: IO[str], gone_after: float | None = None) -> int:
    report = queue.status(gone_after)
    if as_json:
        out.write(logs.mask(json.dumps(report)) + "\n")
        return 0
    dropped = f" (dropped over the caps: {report['dead_dropped']})" if report["dead_dropped"] else ""
    out.write(
        f"queue {report['queue']}: queued={report['queued']} in_flight={report['in_flight']} "
        f"retrying={report['retrying']} dead={report['dead']}{dropped}\n"
    )
    if report["dead_near_full"]:
        out.write(
            f"dead letters: NEAR FULL, {report['dead_bytes'] / 2**20:.1f} of "
            f"{report['dead_max_bytes'] / 2**20:.1f} MiB (DEAD_LETTER_MAX_BYTES) or near "
            "DEAD_LETTER_MAX_COUNT: the oldest are dropped next; `dead list`, fix, `dead requeue`, or raise "
            "the caps\n"
        )
    memory = report["redis"]
    if memory.get("full"):
        out.write(
            f"redis: FULL, {memory['used_memory'] / 2**20:.1f} of {memory['maxmemory'] / 2**20:.1f} MiB "
            f"({memory['policy']}): writes refused; workers store and ack what they hold, pause the rest\n"
        )
    live = [w for w in report["workers"] if not w["gone"]]
    gone = [w for w in report["workers"] if w["gone"]]
    out.write(f"workers: {len(live)}\n")
    for worker in live:
        paused = worker["paused"]
        state = f"  paused: {paused['reason']} since {paused['since']}" if paused else ""
        out.write(
            f"  {worker['id']}  last heartbeat {worker['last_heartbeat']} ({worker['seconds_ago']:.1f} s ago)"
            f"  holding {worker['holding']}{state}\n"
        )
    for worker in gone:
        out.write(
            f"  gone: {worker['id']}  no heartbeat for {worker['seconds_ago']:.0f} s (> CLAIM_IDLE_SECONDS); "
            f"its {worker['holding']} jobs are taken over by live workers; removed from the list\n"
        )
    return 0


def dead(queue: Queue, action: str, out: IO[str]) -> int:
    if action == "list":
        for record in queue.dead_letters():
            out.write(logs.mask(json.dumps(record)) + "\n")
    elif action == "requeue":
        moved, kept = queue.requeue_dead()
        logs.info("dead_requeued", queue=queue.name, jobs=moved, kept=kept or None)
        if kept:
            logs.warning(
                "dead_not_requeued",
                jobs=kept,
                detail="foreign entries, or payloads kept only as a prefix (over PAYLOAD_MAX_BYTES or "
                "DEAD_LETTER_PAYLOAD_BYTES): the producer must send them again",
            )
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
    queue = Queue(connect(settings), settings.queue_name, Limits.of(settings))
    if command == "enqueue":
        return enqueue(queue, args.file, sys.stdout)
    if command == "status":
        return status(queue, args.json, sys.stdout, gone_after=settings.claim_idle_seconds)
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
    logs.hide(*settings.secrets())
    try:
        return run(args, settings)
    except UsageError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except StoreError as exc:  # a failed migration (named), or a schema this code cannot run on
        sys.stderr.write(f"{prog}: {args.command or 'worker'}: {logs.mask(str(exc))}\n")
        return 1
    except redis.RedisError as exc:
        error = " ".join(str(exc).split())
        sys.stderr.write(f"{prog}: Redis error ({logs.mask(settings.redis_url)}): {logs.mask(error)}\n")
        return 1
    except KeyboardInterrupt:
        return 130
{%- if cookiecutter.use_postgres %}
    except psycopg2.Error as exc:
        sys.stderr.write(f"{prog}: PostgreSQL error: {logs.mask(' '.join(str(exc).split()))}\n")
        return 1
{%- endif %}
