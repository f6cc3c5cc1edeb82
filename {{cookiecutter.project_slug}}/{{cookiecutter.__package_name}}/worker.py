"""The worker loop: take batches, store them, ack them; retry, split, dead-letter and recover; stop cleanly.

A batch is stored before it is acked, so a crash at any instant leaves its jobs pending (redelivered, and
stored once thanks to the store's idempotency), never acked-but-unstored. Transient errors (Redis or
PostgreSQL down) retry the same batch in place with backoff; any other error splits the batch in halves until
the failing jobs are alone, and only those are retried later (backoff, then dead letters after
MAX_DELIVERIES).
"""

from __future__ import annotations

import os
import queue as pyqueue
import random
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import logs
from .config import Config
from .contract import ResultStore, SchemaNotReady
from .faults import Fault, diagnose_redis
from .heartbeat import Heartbeat
from .prepare import Prepared, prepare
from .queue import Job, Queue, connect
from .shutdown import Shutdown
from .store import Store

RECONNECT_BASE_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 10.0
RECLAIM_PER_ROUND = 500  # singletons taken over per round before new work gets a turn
STUCK_AFTER_CLAIM_IDLES = 10  # a batch held this many CLAIM_IDLE_SECONDS is let go: the heartbeat stops on it


def worker_id() -> str:
    """`<dyno or host>-<pid>-<random>`: unique per process, readable in `status`."""
    where = os.environ.get("DYNO") or socket.gethostname()
    return f"{where}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def describe(exc: BaseException) -> str:
    """One line for a log or a dead letter: the exception type and message, passwords masked, bounded."""
    text = " ".join(str(exc).split())
    return logs.mask(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:500]


@dataclass
class Outcome:
    """Where each job of a batch ends: done (stored or skipped), refused (invalid) or failed (an error)."""

    done: list[Job] = field(default_factory=list)
    refused: list[tuple[Job, str]] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)
    stored: int = 0
    splits: int = 0


class Worker:
    """One worker process: `run()` until SIGTERM, then exit 0."""

    def __init__(self, config: Config, *, install_signals: bool = True) -> None:
        self.config = config
        self.id = worker_id()
        self.queue = Queue(connect(config), config.queue_name)
        self.store: ResultStore = Store(config, application_name=self.id)
        self.shutdown = Shutdown(config.shutdown_timeout_seconds)
        self.install_signals = install_signals
        self.holding: dict[str, list[str]] = {"reading": [], "storing": []}
        self.since: dict[str, float] = {"reading": 0.0, "storing": 0.0}
        self.reported_stuck: set[float] = set()
        self.handoff: pyqueue.Queue[tuple[list[Job], Prepared | None] | None] = pyqueue.Queue(maxsize=1)
        self.crashed = False
        self.heartbeat = Heartbeat(
            Queue(connect(config), config.queue_name),
            self.id,
            config.heartbeat_seconds,
            self.held,
        )

    # --- the loop -----------------------------------------------------------------------------------------

    def run(self) -> int:
        """Read and prepare batches in this thread while the store thread saves and acks the previous one."""
        if self.install_signals:
            self.shutdown.install()
        self.heartbeat.start()
        storer = threading.Thread(target=self.store_loop, name="store", daemon=True)
        try:
            if self.start_backends():
                logs.info(
                    "worker_started",
                    worker=self.id,
                    queue=self.config.queue_name,
                    batch=self.config.batch_size,
                )
                storer.start()
                self.read_loop()
        finally:
            self.handoff.put(None)  # the store thread finishes what it was given, then stops
            if storer.is_alive():
                storer.join()
            self.heartbeat.stop()
            try:
                self.queue.leave(self.id)
            except Exception as exc:
                logs.warning("leave_failed", worker=self.id, error=describe(exc))
            self.store.close()
            self.shutdown.cancel()
        logs.info("worker_stopped", worker=self.id)
        return 1 if self.crashed else 0

    def hold(self, stage: str, jobs: Sequence[Job]) -> None:
        self.since[stage] = time.monotonic()
        self.holding[stage] = [job.entry_id for job in jobs]

    def held(self) -> list[str]:
        """The jobs the heartbeat keeps for this worker: not those of a batch stuck for too long (a hang)."""
        limit = time.monotonic() - STUCK_AFTER_CLAIM_IDLES * self.config.claim_idle_seconds
        ids: list[str] = []
        for stage, entry_ids in list(self.holding.items()):
            since = self.since[stage]
            if entry_ids and since < limit:
                if since not in self.reported_stuck:
                    self.reported_stuck.add(since)
                    logs.error("batch_stuck", worker=self.id, stage=stage, jobs=len(entry_ids), let_go=True)
                continue
            ids.extend(entry_ids)
        return ids

    def systemic(self, exc: BaseException) -> bool:
        """An error that every job would meet now (the queue's or the store's): keep the batch, wait."""
        return Fault.SYSTEMIC in (diagnose_redis(exc).fault, self.store.diagnose(exc).fault)

    def start_backends(self) -> bool:
        """Create the consumer group and check the schema, waiting (with backoff) for Redis and the store."""
        failures = 0
        while not self.shutdown.requested.is_set():
            try:
                self.queue.ensure_group()
                self.store.check_schema()  # never DDL here: migrations belong to the release phase
                return True
            except SchemaNotReady as exc:
                logs.error("schema_not_ready", worker=self.id, reason=str(exc))
                self.crashed = True
                return False
            except Exception as exc:
                if not self.systemic(exc):
                    raise
                failures += 1
                self.pause(exc, failures, where=type(exc).__module__.split(".")[0])
        return False

    def read_loop(self) -> None:
        next_maintenance = 0.0
        failures = 0
        while not self.shutdown.requested.is_set():
            try:
                if time.monotonic() >= next_maintenance:
                    self.maintain()
                    next_maintenance = time.monotonic() + min(1.0, self.config.heartbeat_seconds)
                jobs = self.queue.read(self.id, self.config.batch_size, self.config.poll_timeout_ms)
                failures = 0
            except Exception as exc:
                if not self.systemic(exc):
                    raise
                failures += 1
                self.pause(exc, failures, where="redis")
                continue
            if jobs:
                self.submit(jobs)

    def submit(self, jobs: list[Job]) -> None:
        """Prepare a batch here (CPU) and hand it to the store thread (mostly waiting on I/O)."""
        self.hold("reading", jobs)
        try:
            prepared: Prepared | None = prepare(jobs)
        except Exception:  # the store thread retries it piece by piece to find the failing jobs
            prepared = None
        self.handoff.put((jobs, prepared))  # waits while the store thread is busy with the previous batch
        self.holding["reading"] = []

    def store_loop(self) -> None:
        try:
            while (item := self.handoff.get()) is not None:
                self.handle(*item)
                self.handoff.task_done()
        except Exception as exc:  # a bug: stop taking work; jobs in hand stay pending for another worker
            self.crashed = True
            logs.error("worker_crashed", worker=self.id, error=describe(exc))
            self.shutdown.requested.set()
            self.handoff.task_done()
            while self.handoff.get() is not None:
                self.handoff.task_done()

    def maintain(self) -> None:
        """Move due retries back to the queue, then take over jobs of dead workers, one at a time."""
        self.queue.trim()
        promoted = self.queue.promote()
        if promoted:
            logs.info("retries_due", jobs=promoted)
        min_idle_ms = int(self.config.claim_idle_seconds * 1000)
        for _ in range(RECLAIM_PER_ROUND):
            if self.shutdown.requested.is_set():
                return
            job = self.queue.claim(self.id, min_idle_ms)
            if job is None:
                return
            logs.info("job_reclaimed", entry=job.entry_id, deliveries=job.deliveries)
            if job.deliveries > self.config.max_deliveries:
                error = (
                    f"delivered {job.deliveries - 1} times without an ack: its worker died or hung while "
                    "processing it (a job that kills the worker?)"
                )
                self.queue.finish([], dead=[(job, error)], worker=self.id)
                logs.warning("job_dead", entry=job.entry_id, deliveries=job.deliveries, error=error)
            else:
                self.handoff.put(([job], None))
                self.handoff.join()  # one at a time: if it kills the worker, no other job was delivered too

    def pause(self, exc: BaseException, failures: int, where: str) -> None:
        delay = min(RECONNECT_MAX_SECONDS, RECONNECT_BASE_SECONDS * 2 ** (failures - 1)) * random.uniform(
            0.5, 1
        )
        logs.warning("backend_unavailable", backend=where, error=describe(exc), retry_in_s=round(delay, 2))
        self.shutdown.wait(delay)

    # --- one batch ----------------------------------------------------------------------------------------

    def handle(self, jobs: Sequence[Job], prepared: Prepared | None = None) -> None:
        """Store a batch and settle every job in it; on transient errors retry in place, or hand it back."""
        self.hold("storing", jobs)
        failures = 0
        try:
            while True:
                started = time.perf_counter()
                try:
                    outcome = Outcome()
                    self.attempt(jobs, outcome, prepared)
                    prepared = None  # a retry prepares again
                    self.settle(outcome)
                except Exception as exc:
                    if not self.systemic(exc):
                        raise
                    failures += 1
                    if not self.shutdown.requested.is_set():
                        self.pause(exc, failures, where=type(exc).__module__.split(".")[0])
                    if self.shutdown.requested.is_set():
                        self.hand_back(jobs)
                        return
                    continue
                logs.info(
                    "batch_stored",
                    jobs=len(jobs),
                    stored=outcome.stored,
                    refused=len(outcome.refused),
                    failed=len(outcome.failed),
                    splits=outcome.splits or None,
                    ms=round((time.perf_counter() - started) * 1000),
                )
                return
        finally:
            self.holding["storing"] = []

    def attempt(self, jobs: Sequence[Job], outcome: Outcome, prepared: Prepared | None = None) -> None:
        """Prepare and store jobs; a non-transient error splits them to isolate the failing ones."""
        try:
            if prepared is None:
                prepared = prepare(jobs)
            outcome.stored += self.store.save(prepared.rows)
        except Exception as exc:
            if self.systemic(exc):
                raise
            self.store.reset()
            if len(jobs) == 1:
                outcome.failed.append((jobs[0], describe(exc)))
                return
            outcome.splits += 1
            middle = len(jobs) // 2
            self.attempt(jobs[:middle], outcome)
            self.attempt(jobs[middle:], outcome)
            return
        refused = {job.entry_id for job, _ in prepared.refused}
        outcome.done.extend(job for job in jobs if job.entry_id not in refused)
        outcome.refused.extend(prepared.refused)

    def settle(self, outcome: Outcome) -> None:
        """Ack what is done, dead-letter what is refused or out of deliveries, schedule the rest to retry."""
        retry: list[tuple[Job, float]] = []
        dead = list(outcome.refused)
        for job, error in outcome.failed:
            if job.deliveries >= self.config.max_deliveries:
                dead.append((job, error))
            else:
                delay = self.retry_delay(job.deliveries)
                retry.append((job, time.time() + delay))
                logs.warning(
                    "job_retry",
                    entry=job.entry_id,
                    deliveries=job.deliveries,
                    in_s=round(delay, 2),
                    error=error,
                )
        for job, error in dead:
            logs.warning("job_dead", entry=job.entry_id, deliveries=job.deliveries, error=error)
        self.queue.finish(outcome.done, retry=retry, dead=dead, worker=self.id)

    def retry_delay(self, deliveries: int) -> float:
        """Exponential backoff with jitter: base * 2^(deliveries-1), capped, times a random 0.5-1."""
        base = self.config.retry_base_seconds * float(2 ** min(deliveries - 1, 30))
        return min(self.config.retry_max_seconds, base) * random.uniform(0.5, 1)

    def hand_back(self, jobs: Sequence[Job]) -> None:
        try:
            released = self.queue.release(self.id, jobs)
            logs.info("batch_handed_back", jobs=released)
        except Exception as exc:
            logs.warning(
                "hand_back_failed",
                jobs=len(jobs),
                error=describe(exc),
                detail="jobs stay pending and are taken over after CLAIM_IDLE_SECONDS",
            )
