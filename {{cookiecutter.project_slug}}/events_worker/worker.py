"""The worker loop: take batches, store them, ack them; pause on systemic faults; dead-letter only bad jobs.

A batch is stored before it is acked, so a crash at any instant leaves its jobs pending (redelivered, and
stored once thanks to the store's idempotency), never acked-but-unstored. Every error is diagnosed by what it
means (faults.py): a *systemic* fault (Redis or PostgreSQL down, read-only, privileges revoked, schema
missing, out of memory) fails every job, so the worker keeps the batch, pauses with backoff (one
`event=paused` line per try, shown by `status`) and resumes by itself. Any other failure (a constraint, a
data error, the team's transform raising, an unclassified error) splits the batch in halves until the
failing jobs are alone, and is blamed on those jobs only with proof that the store works: another job of
the same batch stored (or, for a job alone, another job stored since the last failure). A fault that fails
every job is not a bad job: without proof the worker pauses (`every_job_failed_<reason>`), keeps the batch
and tries again, adding newly read jobs as the probe. Foreign or oversized entries are dead-lettered at once.

On SIGTERM nothing new is handed to the store thread: it finishes the batch it holds (one batch), and every
batch read but not stored is handed back at once.
"""

from __future__ import annotations

import itertools
import json
import os
import queue as pyqueue
import random
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import redis

from . import faults, logs
from .config import Config
from .contract import ResultStore, SchemaNotReady
from .faults import Diagnosis, Fault
from .heartbeat import Heartbeat
from .output import Prepared
from .prepare import prepare
from .queue_consumer import Consumer
from .queue_protocol import Job, Limits, connect
from .schema import KEY
from .shutdown import Shutdown
from .validate import UTC

RECONNECT_BASE_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 10.0
RECLAIM_PER_ROUND = 10  # batches taken over per maintenance round before new work gets a turn
EVERY_JOB_FAILED = "every_job_failed_"  # a pause's reason when no job of a batch could be stored
STUCK_AFTER_CLAIM_IDLES = 10  # a batch held this many CLAIM_IDLE_SECONDS is let go: the heartbeat stops on it
# A batch handed to the store thread: (token of its place in `waiting`, jobs, prepared rows or None).
Handoff = tuple[int | None, list[Job], Prepared | None]


class Stopping(Exception):
    """Raised inside a batch when a shutdown was requested: the batch is handed back, not finished."""


class Paused(Exception):
    """Raised inside a batch when every job would fail now: the batch is kept and tried again later."""

    def __init__(self, diagnosis: Diagnosis, error: str) -> None:
        super().__init__(error)
        self.diagnosis = diagnosis
        self.error = error


def worker_id() -> str:
    """`<dyno or host>-<pid>-<random>`: unique per process, readable in `status`."""
    where = os.environ.get("DYNO") or socket.gethostname()
    return f"{where}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def key_of(job: Job) -> str:
    """The job's key (schema.KEY) for the lines about it: the stream entry changes on each retry, the key does
    not. Empty when the payload has none (malformed, foreign); only failing jobs are decoded for it."""
    try:
        value = json.loads(job.payload).get(KEY, "")
    except Exception:  # not JSON, or not an object
        return ""
    return logs.mask(str(value))[:100]


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
    saves: int = 0  # store calls that stored a job: proof that the store works
    sent: int = 0  # job rows in store calls that succeeded; sent - stored: rows whose key was already stored
    reason: str = ""  # the reason of the last failure (its diagnosis), for the pause when nothing stored
    deferred: list[tuple[Job, str]] = field(default_factory=list)  # unproven: retried, delivery not counted


class Worker:
    """One worker process: `run()` until SIGTERM, then exit 0.

    The caller builds the queue it consumes and the store it saves to (cli.build_worker: the Procfile's),
    so a test or a team's own store plugs in here; `name` is the worker's id in `status` and in the store's
    connection name.
    """

    def __init__(
        self,
        config: Config,
        *,
        queue: Consumer,
        store: ResultStore,
        name: str = "",
        install_signals: bool = True,
    ) -> None:
        self.config = config
        self.id = name or worker_id()
        limits = Limits.of(config)
        self.queue = queue
        self.store = store
        self.shutdown = Shutdown(config.shutdown_timeout_seconds)
        self.install_signals = install_signals
        self.holding: dict[str, list[str]] = {"reading": [], "storing": []}
        self.since: dict[str, float] = {"reading": 0.0, "storing": 0.0}
        self.waiting: dict[int, tuple[float, list[str]]] = {}  # batches in the hand-off queue
        self.tokens = itertools.count()
        self.paused: dict[str, tuple[str, float]] = {}  # where -> (reason, since epoch s)
        self.store_ok_at = float("-inf")  # monotonic time of the last store call that stored rows
        self.reported_stuck: set[float] = set()
        self.handoff: pyqueue.Queue[Handoff] = pyqueue.Queue(maxsize=1)
        self.failed_at = float("-inf")  # monotonic time of the last failure not yet blamed on its job
        self.deferrals = 0  # lone jobs deferred in a row without proof: their retry delay grows
        self.crashed = False
        self.heartbeat = Heartbeat(
            Consumer(connect(config), config.queue_name, limits),
            self.id,
            config.heartbeat_seconds,
            self.held,
            self.state,
            forget_after=2 * config.claim_idle_seconds,
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
            self.shutdown.requested.set()  # the store thread finishes the batch it holds, hands back the rest
            if storer.is_alive():
                storer.join()
            self.hand_back_waiting()
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
        """Every job this worker holds (reading, waiting in the hand-off queue, storing), for the heartbeat;
        not those of a batch stuck for too long (a hang)."""
        limit = time.monotonic() - STUCK_AFTER_CLAIM_IDLES * self.config.claim_idle_seconds
        ids: list[str] = []
        stages = [(stage, self.since[stage], entry_ids) for stage, entry_ids in list(self.holding.items())]
        stages += [("waiting", since, entry_ids) for since, entry_ids in list(self.waiting.values())]
        for stage, since, entry_ids in stages:
            if entry_ids and since < limit:
                if since not in self.reported_stuck:
                    self.reported_stuck.add(since)
                    logs.error("batch_stuck", worker=self.id, stage=stage, jobs=len(entry_ids), let_go=True)
                continue
            ids.extend(entry_ids)
        return ids

    def state(self) -> str:
        """What `status` shows for this worker: "" when working, "paused|<reason>|<since>" when paused."""
        for reason, since in list(self.paused.values()):
            return f"paused|{reason}|{datetime.fromtimestamp(since, UTC).isoformat(timespec='seconds')}"
        return ""

    def diagnose(self, exc: BaseException) -> Diagnosis:
        """What an error means: Redis's reading of a Redis error, else the store's own (ResultStore)."""
        return faults.diagnose(exc, self.store.diagnose)

    def start_backends(self) -> bool:
        """Create the consumer group and the schema, pausing (backoff) while Redis or the store cannot."""
        failures = 0
        while not self.shutdown.requested.is_set():
            try:
                self.queue.ensure_group()
                self.store.check_schema()  # never DDL here: migrations belong to the release phase
            except SchemaNotReady as exc:  # said once, clearly: run `migrate` (the release phase) first
                logs.error("schema_not_ready", worker=self.id, reason=str(exc))
                self.crashed = True
                return False
            except Exception as exc:
                diagnosis = self.diagnose(exc)
                if diagnosis.fault is not Fault.SYSTEMIC and not isinstance(exc, redis.RedisError):
                    raise  # neither an outage nor Redis: a bug or a wrong setting, said once by the CLI
                failures += 1
                self.pause("start", diagnosis, describe(exc), failures)
                continue
            self.resume("start")
            return True
        return False

    def read_loop(self) -> None:
        next_maintenance = 0.0
        failures = 0
        while not self.shutdown.requested.is_set():
            if time.monotonic() >= next_maintenance:
                next_maintenance = time.monotonic() + min(1.0, self.config.heartbeat_seconds)
                self.maintain_or_log()
            try:
                jobs = self.queue.read(self.id, self.config.batch_size, self.config.poll_timeout_ms)
            except redis.RedisError as exc:  # any Redis error: never a crash loop; wait and try again
                failures += 1
                self.pause("redis", self.diagnose(exc), describe(exc), failures)
                continue
            if failures:
                failures = 0
                self.resume("redis")
            if jobs:
                self.submit(jobs)

    def maintain_or_log(self) -> None:
        """Maintenance is best effort: over maxmemory (say) promoting retries fails, while reading, storing
        and acking still work and free memory, so the loop goes on."""
        try:
            self.maintain()
        except redis.RedisError as exc:
            logs.warning(
                "maintenance_skipped", reason=self.diagnose(exc).reason, error=describe(exc), worker=self.id
            )

    def submit(self, jobs: list[Job]) -> None:
        """Prepare and encode a batch here (CPU) and hand it to the store thread (mostly waiting on I/O)."""
        self.hold("reading", jobs)
        clean = [job for job in jobs if not job.problem]
        try:
            prepared: Prepared | None = prepare(clean) if clean else None
            if prepared is not None:
                prepared = prepared._replace(batch=self.store.encode(prepared.batch))
        except Exception:  # the store thread retries it piece by piece to find the failing jobs
            prepared = None
        token = next(self.tokens)
        self.waiting[token] = (time.monotonic(), self.holding["reading"])  # held while it waits its turn
        self.holding["reading"] = []
        while True:  # waits while the store thread is busy with the last batch, but not past a shutdown
            try:
                self.handoff.put((token, jobs, prepared), timeout=0.1)
                return
            except pyqueue.Full:
                if self.shutdown.requested.is_set():
                    self.give_back(token, jobs)
                    return

    def store_loop(self) -> None:
        try:
            while True:
                try:
                    token, jobs, prepared = self.handoff.get(timeout=0.1)
                except pyqueue.Empty:
                    if self.shutdown.requested.is_set():
                        return
                    continue
                try:
                    if self.shutdown.requested.is_set():  # nothing new after SIGTERM: back to the queue
                        self.give_back(token, jobs)
                    else:
                        self.handle(jobs, prepared, token)
                finally:
                    self.handoff.task_done()
        except Exception as exc:  # a bug: stop taking work; jobs in hand stay pending for another worker
            self.crashed = True
            logs.error("worker_crashed", worker=self.id, error=describe(exc))
            self.shutdown.requested.set()

    def hand_back_waiting(self) -> None:
        """After the store thread stopped: hand back a batch still waiting in the hand-off queue."""
        jobs = self.waiting_batch()
        if jobs:
            self.give_back(None, jobs)

    def waiting_batch(self) -> list[Job]:
        """The batch waiting in the hand-off queue, taken out of it (none: [])."""
        try:
            token, jobs, _ = self.handoff.get_nowait()
        except pyqueue.Empty:
            return []
        self.handoff.task_done()
        self.waiting.pop(token, None)  # type: ignore[arg-type]
        return jobs

    def give_back(self, token: int | None, jobs: Sequence[Job]) -> None:
        """A batch read but never to be stored here (a shutdown): back to the queue at once. Foreign entries
        stay pending: the worker that takes them over dead-letters them."""
        self.waiting.pop(token, None)  # type: ignore[arg-type]
        self.hand_back([job for job in jobs if not job.problem])

    def maintain(self) -> None:
        """Move due retries back to the queue, then take over jobs of dead workers: in batches the first time,
        alone when taken over before (see Consumer.claim)."""
        self.queue.trim()
        promoted = self.queue.promote()
        if promoted:
            logs.info("retries_due", jobs=promoted)
        min_idle_ms = int(self.config.claim_idle_seconds * 1000)
        for _ in range(RECLAIM_PER_ROUND):
            if self.shutdown.requested.is_set():
                return
            jobs = self.queue.claim(self.id, min_idle_ms, self.config.batch_size)
            if not jobs:
                return
            logs.info(
                "jobs_reclaimed",
                jobs=len(jobs),
                first=jobs[0].entry_id,
                last=jobs[-1].entry_id,
                deliveries=max(job.deliveries for job in jobs),
            )
            # One delivery is free: the batch taken over the first time, which may have died of another job.
            dead = [job for job in jobs if job.deliveries > self.config.max_deliveries + 1]
            if dead:
                error = (
                    f"delivered {dead[0].deliveries - 1} times without an ack: its worker died or hung while "
                    "processing it (a job that kills the worker?)"
                )
                self.queue.finish([], dead=[(job, error) for job in dead], worker=self.id)
                for job in dead:
                    logs.warning(
                        "job_dead",
                        key=key_of(job),
                        entry=job.entry_id,
                        deliveries=job.deliveries,
                        error=error,
                    )
            rest = [job for job in jobs if job.deliveries <= self.config.max_deliveries + 1]
            if len(rest) == 1 and rest[0].deliveries > 2:  # taken over before: alone, and nothing beside it
                self.submit(rest)
                self.wait_stored()  # if it kills the worker, no other job was delivered with it
            elif rest:
                self.submit(rest)

    def wait_stored(self) -> None:
        """Wait until the store thread has settled everything handed to it (or a shutdown)."""
        with self.handoff.all_tasks_done:
            while self.handoff.unfinished_tasks and not self.shutdown.requested.is_set():
                self.handoff.all_tasks_done.wait(0.1)

    def pause(self, where: str, diagnosis: Diagnosis, error: str, failures: int) -> None:
        """Wait with backoff before trying again; one line per try; `status` shows it (via the heartbeat)."""
        reason = diagnosis.reason
        if self.paused.get(where, ("",))[0] != reason:
            self.paused[where] = (reason, time.time())
        since = datetime.fromtimestamp(self.paused[where][1], UTC).isoformat(timespec="seconds")
        delay = min(RECONNECT_MAX_SECONDS, RECONNECT_BASE_SECONDS * 2 ** min(failures - 1, 30))
        delay *= random.uniform(0.5, 1)
        logs.error("paused", reason=reason, since=since, where=where, error=error, retry_in_s=round(delay, 2))
        self.shutdown.wait(delay)

    def resume(self, where: str) -> None:
        paused = self.paused.pop(where, None)
        if paused is not None:
            logs.info("resumed", reason=paused[0], where=where, paused_s=round(time.time() - paused[1], 1))

    # --- one batch ----------------------------------------------------------------------------------------

    def handle(self, jobs: Sequence[Job], prepared: Prepared | None = None, token: int | None = None) -> None:
        """Store a batch and settle every job in it; while a systemic fault lasts, pause and try again."""
        self.hold("storing", jobs)
        self.waiting.pop(token, None)  # type: ignore[arg-type]
        jobs = list(jobs)
        foreign = [(job, job.problem) for job in jobs if job.problem]
        clean = [job for job in jobs if not job.problem]
        failures = 0
        outcome: Outcome | None = None
        try:
            while True:
                started = time.perf_counter()
                try:
                    if outcome is None:  # after Redis refused the settlement, only the settlement is retried
                        outcome = Outcome(refused=list(foreign))
                        if clean:
                            self.attempt(clean, outcome, prepared)
                        self.prove(outcome, lone=len(clean) == 1)
                    self.settle(outcome)
                except Stopping:
                    self.hand_back(clean)  # foreign entries stay pending: the taker dead-letters them
                    return
                except (Paused, redis.RedisError) as exc:
                    unproven = isinstance(exc, Paused) and exc.diagnosis.reason.startswith(EVERY_JOB_FAILED)
                    if isinstance(exc, Paused):
                        outcome, prepared = None, None  # the store refused: store the batch again
                    failures += 1
                    if not self.shutdown.requested.is_set():
                        diagnosis = exc.diagnosis if isinstance(exc, Paused) else self.diagnose(exc)
                        error = exc.error if isinstance(exc, Paused) else describe(exc)
                        self.pause("store", diagnosis, error, failures)
                    if self.shutdown.requested.is_set():
                        self.hand_back(clean)  # foreign entries stay pending: the taker dead-letters them
                        return
                    if unproven:  # the probe: newly read jobs join the batch; if they store, it was the jobs'
                        added = self.take_waiting(len(clean))
                        jobs += added
                        clean += [job for job in added if not job.problem]
                        foreign += [(job, job.problem) for job in added if job.problem]
                        self.hold("storing", jobs)
                    continue
                self.resume("store")
                logs.info(
                    "batch_stored",
                    jobs=len(jobs),
                    stored=outcome.stored,
                    duplicates=(outcome.sent - outcome.stored) or None,
                    refused=len(outcome.refused),
                    failed=len(outcome.failed),
                    splits=outcome.splits or None,
                    ms=round((time.perf_counter() - started) * 1000),
                )
                return
        finally:
            self.holding["storing"] = []

    def take_waiting(self, holding: int) -> list[Job]:
        """The batch waiting in the hand-off queue, if any and if this batch is under BATCH_SIZE."""
        return self.waiting_batch() if holding < self.config.batch_size else []

    def attempt(self, jobs: Sequence[Job], outcome: Outcome, prepared: Prepared | None = None) -> None:
        """Prepare and store jobs; a job fault splits them to isolate the failing ones; systemic: Paused."""
        if self.shutdown.requested.is_set() and outcome.splits:
            raise Stopping  # isolating failing jobs can take long: not past a shutdown
        try:
            if prepared is None:
                prepared = prepare(jobs)
        except Exception as exc:  # the team's transform (or prepare) failed on these jobs: theirs
            self.split(jobs, outcome, describe(exc), Diagnosis(Fault.JOB, "transform_error"))
            return
        try:
            stored = self.store.save(prepared.batch)
        except Exception as exc:
            self.store.reset()
            diagnosis = self.diagnose(exc)
            if diagnosis.fault is Fault.SYSTEMIC:
                self.store.close()  # the next try connects afresh: new role rights, new server, new settings
                raise Paused(diagnosis, describe(exc)) from exc
            self.split(jobs, outcome, describe(exc), diagnosis)
            return
        outcome.stored += stored
        outcome.sent += len(prepared.batch)
        if stored:  # proof that the store works: a job stored now (not a save of jobs the transform dropped,
            outcome.saves += 1  # nor of keys stored before, which a fault on new rows would not meet)
            self.store_ok_at = time.monotonic()
        refused = {job.entry_id for job, _ in prepared.refused}
        outcome.done.extend(job for job in jobs if job.entry_id not in refused)
        outcome.refused.extend(prepared.refused)

    def split(self, jobs: Sequence[Job], outcome: Outcome, error: str, diagnosis: Diagnosis) -> None:
        """Halve the jobs and try each half, until a failing job is alone: that one has failed."""
        if len(jobs) == 1:
            outcome.failed.append((jobs[0], error))
            outcome.reason = diagnosis.reason
            return
        outcome.splits += 1
        middle = len(jobs) // 2
        self.attempt(jobs[:middle], outcome)
        self.attempt(jobs[middle:], outcome)

    def prove(self, outcome: Outcome, lone: bool) -> None:
        """A failure is blamed on its job only with proof that the store works: another job of the same batch
        stored, or (a job alone) other jobs stored since the last failure. Without proof a lone job is
        deferred (retried later, its delivery not counted, with a growing delay) so that other jobs can
        give the proof, and a batch of several is a fault of the system, not of every job in it: pause."""
        if not outcome.failed:
            if outcome.saves:
                self.deferrals = 0
            return
        proven = outcome.saves > 0 or (lone and self.store_ok_at > self.failed_at)
        self.failed_at = time.monotonic()
        if proven:
            self.deferrals = 0
            return
        if lone:
            self.deferrals += 1
            outcome.deferred, outcome.failed = outcome.failed, []
            return
        error = outcome.failed[-1][1]
        raise Paused(Diagnosis(Fault.SYSTEMIC, f"{EVERY_JOB_FAILED}{outcome.reason}"), error)

    def settle(self, outcome: Outcome) -> None:
        """Ack what is done, dead-letter what is refused or out of deliveries, schedule the rest to retry."""
        retry: list[tuple[Job, float]] = []
        dead = list(outcome.refused)
        for job, error in outcome.deferred:  # the same delivery count when it comes back
            delay = self.retry_delay(self.deferrals)
            retry.append((job._replace(deliveries=job.deliveries - 1), delay))
            logs.warning(
                "job_deferred",
                key=key_of(job),
                entry=job.entry_id,
                in_s=round(delay, 2),
                reason=outcome.reason,
                error=error,
            )
        for job, error in outcome.failed:
            if job.deliveries >= self.config.max_deliveries:
                dead.append((job, error))
            else:
                delay = self.retry_delay(job.deliveries)
                retry.append((job, delay))
                logs.warning(
                    "job_retry",
                    key=key_of(job),
                    entry=job.entry_id,
                    deliveries=job.deliveries,
                    in_s=round(delay, 2),
                    error=error,
                )
        dropped = self.queue.finish(outcome.done, retry=retry, dead=dead, worker=self.id)
        for job, error in dead:
            logs.warning(
                "job_dead", key=key_of(job), entry=job.entry_id, deliveries=job.deliveries, error=error
            )
        if dropped:
            limits = self.queue.limits
            logs.error(
                "dead_letters_dropped",
                dropped=len(dropped),
                entries=",".join(dropped[:20]) + (",..." if len(dropped) > 20 else ""),
                max_count=limits.dead_max_count,
                max_bytes=limits.dead_max_bytes,
                detail="the oldest dead letters were dropped to stay within DEAD_LETTER_MAX_COUNT/_BYTES",
            )

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
