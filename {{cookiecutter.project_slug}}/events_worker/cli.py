"""The command line: worker (default), migrate, enqueue, status, dead; one clear line on a usage error."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, NoReturn

import redis

from . import config as config_module
from . import logs, store
from .contract import StoreError, StoreModule
from .queue_operator import Operator
from .queue_producer import Producer
from .queue_protocol import Limits, connect, ensure_group
from .validate import Invalid, check_payload, set_unknown_fields

if TYPE_CHECKING:  # the worker imports the transform's libraries: only the worker command loads it
    from .worker import Worker

STORE: StoreModule = store  # the baked store module; mypy checks it declares what config and the CLI read
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
    commands.add_parser("migrate", help="prepare the store and the queue (release phase; safe to repeat)")
    enqueue = commands.add_parser("enqueue", help="queue one job per JSON line of FILE (or - for stdin)")
    enqueue.add_argument("file", nargs="?", default="-", metavar="FILE")
    status = commands.add_parser("status", help="queue depths and workers")
    status.add_argument("--json", action="store_true", help="print JSON")
    dead = commands.add_parser("dead", help="dead letters: list (JSON lines), requeue or purge")
    dead.add_argument("action", nargs="?", default="list", choices=["list", "requeue", "purge"])
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


ENQUEUE_CHUNK_LINES = 1000  # lines sent per round trip (one pipeline): what a failure can leave unsure
ENQUEUE_CHUNK_BYTES = 8 * 2**20
PROGRESS_EVERY_SECONDS = 5.0  # a logfmt progress line this often when stderr is not a terminal
BAR_EVERY_SECONDS = 0.1  # the terminal bar's refresh
PIPELINE_ERROR = re.compile(r"Command # \d+ \(.*\) of pipeline caused error: ", re.DOTALL)


class Progress:
    """What `enqueue` has done so far, on stderr: a bar on a terminal, else a logfmt line every few seconds.

    Hand-written rather than tqdm or rich: every runtime dependency is installed on each dyno and pinned with
    hashes in requirements.txt, and this is one line of a local command.
    """

    def __init__(self, total_bytes: int | None, stream: IO[str], is_terminal: bool) -> None:
        self.total_bytes, self.stream, self.is_terminal = total_bytes, stream, is_terminal
        self.started = self.shown = time.monotonic()
        self.lines = self.bytes_read = self.queued = self.refused = 0

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        every = BAR_EVERY_SECONDS if self.is_terminal else PROGRESS_EVERY_SECONDS
        if not force and now - self.shown < every:
            return
        self.shown = now
        rate = self.lines / max(now - self.started, 1e-6)
        if self.is_terminal:
            self.stream.write("\r" + self.bar(rate))
        else:
            fields = f"lines={self.lines} queued={self.queued} refused={self.refused} lines_per_s={rate:.0f}"
            self.stream.write(f"at=info event=enqueue_progress {fields}\n")
        self.stream.flush()

    def bar(self, rate: float) -> str:
        counts = f"{self.lines:,} lines, {self.queued:,} queued, {self.refused:,} refused"
        counts += f", {rate:,.0f} lines/s"
        if not self.total_bytes:
            return f"enqueue {counts}"
        done = min(self.bytes_read / self.total_bytes, 1.0)
        filled = int(done * 24)
        return f"enqueue {done:4.0%} |{'#' * filled}{'.' * (24 - filled)}| {counts}"

    def close(self) -> None:
        """The last state, then a new line, so that what follows starts on its own line."""
        if self.is_terminal:
            self.update(force=True)
            self.stream.write("\n")
            self.stream.flush()


def input_size(name: str) -> int | None:
    """The bytes left to read from FILE (or stdin) when it is a regular file; None for a pipe."""
    try:
        if name == "-":
            info = os.fstat(sys.stdin.fileno())
            return info.st_size if stat.S_ISREG(info.st_mode) else None
        return Path(name).stat().st_size if Path(name).is_file() else None
    except OSError:
        return None
    except ValueError:  # stdin replaced by something without a file descriptor
        return None


class EnqueueStopped(Exception):
    """`enqueue` stopped part-way: the lines before `resume_line` are queued."""

    def __init__(self, queued: int, resume_line: int, why: str) -> None:
        super().__init__(why)
        self.queued, self.resume_line, self.why = queued, resume_line, why


def stopped_message(prog: str, name: str, stopped: EnqueueStopped) -> str:
    """What was queued and how to go on, without any payload (redis-py's message holds the failed command)."""
    line = stopped.resume_line
    source = "the input" if name == "-" else name
    resume = f"tail -n +{line} {name if name != '-' else 'FILE'} | python -m {prog} enqueue -"
    return (
        f"{prog}: enqueue stopped at line {line} of {source}: {stopped.why}\n"
        f"{prog}: {stopped.queued} jobs were queued (every valid line before line {line}); lines from "
        f"{line} on may be partly queued: sending them again is safe (the store keeps each job key once).\n"
        f"{prog}: resume with: {resume}\n"
    )


def redis_reason(exc: Exception) -> str:
    return logs.mask(" ".join(PIPELINE_ERROR.sub("", str(exc)).split()))[:300]


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


def enqueue(queue: Producer, name: str, out: IO[str], progress: Progress | None = None) -> int:
    """Queue every valid line, in chunks as the file is read, showing progress; report each refused line with
    its number and reason; exit 1 if any was refused. A Redis error or Ctrl-C part-way raises EnqueueStopped
    with what was queued and the line to resume from."""
    limit = queue.limits.payload_max_bytes
    shown = progress or Progress(None, sys.stderr, is_terminal=False)
    pending_bytes, first_pending = 0, 1
    accepted: list[bytes] = []
    queue.ensure_group()

    def send(next_line: int) -> None:
        nonlocal accepted, pending_bytes, first_pending
        try:
            shown.queued += queue.enqueue(accepted)
        except redis.RedisError as exc:
            raise EnqueueStopped(shown.queued, first_pending, redis_reason(exc)) from None
        except KeyboardInterrupt:
            raise EnqueueStopped(shown.queued, first_pending, "interrupted (Ctrl-C)") from None
        accepted, pending_bytes, first_pending = [], 0, next_line

    try:
        for number, line, size in _lines(name, limit):
            shown.lines, shown.bytes_read = number, shown.bytes_read + size
            payload = line.strip() if line is not None else None
            if payload == b"":
                continue  # blank lines are not jobs
            too_long = f"line is {size} bytes, over PAYLOAD_MAX_BYTES={limit}"
            reason = refusal(payload, limit) if payload is not None else too_long
            if reason is not None:
                shown.refused += 1
                logs.warning("enqueue_refused", line=number, reason=reason[:300])
                continue
            assert payload is not None
            accepted.append(payload)
            pending_bytes += len(payload)
            if len(accepted) >= ENQUEUE_CHUNK_LINES or pending_bytes >= ENQUEUE_CHUNK_BYTES:
                send(number + 1)
            shown.update()
        send(shown.lines + 1)
    except KeyboardInterrupt:
        raise EnqueueStopped(shown.queued, first_pending, "interrupted (Ctrl-C)") from None
    finally:
        shown.close()
    logs.info("enqueued", queue=queue.name, queued=shown.queued, refused=shown.refused)
    return 1 if shown.refused else 0


def status(queue: Operator, as_json: bool, out: IO[str], gone_after: float | None = None) -> int:
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


def dead(queue: Operator, action: str, out: IO[str]) -> int:
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
    """The release phase: the store's pending schema changes (or layout), then the consumer group."""
    results = STORE.Store(settings, application_name="migrate")
    try:
        applied = results.migrate()
        ensure_group(connect(settings), settings.queue_name)
    finally:
        results.close()
    logs.info("migrated", queue=settings.queue_name, applied=",".join(applied) or "none")
    return 0


def build_worker(settings: config_module.Config, install_signals: bool = True) -> Worker:
    """The worker the Procfile runs: this queue, and the store the project was baked with."""
    from .queue_consumer import Consumer
    from .worker import Worker, worker_id

    name = worker_id()
    queue = Consumer(connect(settings), settings.queue_name, Limits.of(settings))
    results = STORE.Store(settings, application_name=name)
    return Worker(settings, queue=queue, store=results, name=name, install_signals=install_signals)


def run(args: argparse.Namespace, settings: config_module.Config) -> int:
    command = args.command or "worker"
    set_unknown_fields(settings.unknown_fields)  # the worker and `enqueue` refuse alike
    if command == "worker":
        return build_worker(settings).run()
    signal.signal(signal.SIGTERM, _terminate)
    if command == "migrate":
        return migrate(settings)
    client, limits = connect(settings), Limits.of(settings)
    if command == "enqueue":
        queue = Producer(client, settings.queue_name, limits)
        progress = Progress(input_size(args.file), sys.stderr, is_terminal=sys.stderr.isatty())
        try:
            return enqueue(queue, args.file, sys.stdout, progress)
        except EnqueueStopped as stopped:
            where = {"queued": stopped.queued, "resume_line": stopped.resume_line}
            logs.error("enqueue_stopped", queue=queue.name, **where)
            sys.stderr.write(stopped_message(__package__ or "worker", args.file, stopped))
            return 130 if stopped.why.startswith("interrupted") else 1
    operator = Operator(client, settings.queue_name, limits)
    if command == "status":
        return status(operator, args.json, sys.stdout, gone_after=settings.claim_idle_seconds)
    return dead(operator, args.action, sys.stdout)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point for `python -m <package>`; returns the exit code."""
    prog = prog or (__package__ or "worker")
    try:
        args = build_parser(prog).parse_args(argv)
        config_module.load_dotenv()  # `.env` in the current folder, the shell winning, as nox reads it
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
    except STORE.ERRORS as exc:  # the store's own driver's errors (none beyond Redis's for a Redis store)
        sys.stderr.write(f"{prog}: {STORE.NAME} error: {logs.mask(' '.join(str(exc).split()))}\n")
        return 1
