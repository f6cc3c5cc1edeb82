"""The consumer side of the queue: read, take over, finish (ack, retry, dead-letter), hand back, heartbeat.

Who uses it: worker.py (the loop) and heartbeat.py (its thread), through cli.build_worker, which builds a
Consumer from the settings. It reads no settings itself: Limits and the queue name come from the caller.

Foreign entries (written by another producer: a garbled or missing field, unknown fields) and payloads over
PAYLOAD_MAX_BYTES are recognised inside the read script, which hands over only a bounded prefix, the size and
the sha1 of an oversized payload: the worker dead-letters them at once without holding them whole. Dead
letters are bounded (count and bytes, oldest dropped and counted), and keep a bounded payload prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import accumulate, pairwise, repeat, starmap
from typing import Any

import redis

from .queue_protocol import GROUP, Job, Limits, QueueClient, as_str, lua

WORKER_FORGET_SECONDS = 3600  # workers silent this long leave the registry (status expires them sooner)
ACK_CHUNK = 1000  # ids per XACK, here and inside finish.lua (Lua's unpack() has a stack limit)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def checked(entry: str, fields: dict[bytes, bytes], limits: Limits, prior_delivered: int = 1) -> Job:
    """A Job from a stream entry's fields, as the read script checks them (for the blocking read path)."""
    body, n = fields.get(b"j"), fields.get(b"n", b"0")
    problem = ""
    if not (n.isdigit() and len(n) <= 9):
        problem = f"foreign entry: garbled field n (delivery count) {n[:40]!r}"
        n = b"0"
    extra = [k for k in fields if k not in (b"j", b"n")]
    if extra:
        problem = f"foreign entry: unknown fields {b' '.join(extra[:5])[:100]!r}"
    if body is None:
        problem = "foreign entry: missing field j (the payload)"
    if problem or body is None:  # a foreign entry keeps its fields, as the read script gives them, bounded
        pairs = [x.decode("utf-8", "surrogateescape") for pair in fields.items() for x in pair]
        body = json.dumps(pairs, ensure_ascii=False).encode("utf-8", "surrogateescape")
        body = body[: limits.dead_payload_bytes]
    size, sha1 = -1, ""
    if len(body) > limits.payload_max_bytes:
        size, sha1 = len(body), hashlib.sha1(body).hexdigest()
        problem = f"payload of {size} bytes is over PAYLOAD_MAX_BYTES={limits.payload_max_bytes}"
        body = body[: limits.dead_payload_bytes]
    return Job(entry, body, int(n) + prior_delivered, problem, size, sha1)


def dead_record(job: Job, error: str, at: str, worker: str) -> str:
    """One dead letter as JSON: the error, the whole payload (of an oversized one, the prefix read), the size
    and sha1. Whole, so that `dead requeue` can always put it back."""
    size = job.size if job.size >= 0 else len(job.payload)
    record = {
        "entry": job.entry_id,
        "error": error,
        "deliveries": job.deliveries,
        "failed_at": at,
        "worker": worker,
        "payload": job.payload.decode("utf-8", "surrogateescape"),
        "size": size,
        "sha1": job.sha1 or hashlib.sha1(job.payload).hexdigest(),
        "truncated": size > len(job.payload),
    }
    text = json.dumps(record, ensure_ascii=False)  # compact: dead letters count against DEAD_LETTER_MAX_BYTES
    try:
        text.encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8 (kept as surrogates): escaped, \udcXX
        text = json.dumps(record)
    return text


class Consumer(QueueClient):
    """A worker's side of one queue; safe to share between processes, one instance per thread."""

    def __init__(self, client: redis.Redis, queue_name: str, limits: Limits) -> None:
        super().__init__(client, queue_name, limits)
        self._read = client.register_script(lua("read.lua"))
        self._claim = client.register_script(lua("claim.lua"))
        self._touch = client.register_script(lua("touch.lua"))
        self._release = client.register_script(lua("release.lua"))
        self._promote = client.register_script(lua("promote.lua"))
        self._trim = client.register_script(lua("trim.lua"))
        self._finish = client.register_script(lua("finish.lua"))
        self._heartbeat = client.register_script(lua("heartbeat.lua"))

    def read(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        """Up to `count` new jobs and READ_MAX_BYTES of payloads (one job at least) for this consumer, waiting
        up to block_ms when there are none."""
        try:
            limits = self.limits
            found: list[Any] = self._read(
                keys=[self.keys.stream],
                args=[
                    GROUP, consumer, count, limits.payload_max_bytes, limits.dead_payload_bytes,
                    limits.read_max_bytes,
                ],
            )  # fmt: skip
            if found:
                return self._jobs(*found)
            reply = self.redis.xreadgroup(  # blocks for the next entry, then returns: one entry, not a flood
                GROUP, consumer, {self.keys.stream: ">"}, count=1, block=block_ms
            )
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()  # Redis lost its data (restart without persistence): start again
            return []
        jobs = []
        streams: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes] | None]]]] = list(reply or [])  # type: ignore[arg-type]
        for _stream, entries in streams:
            for entry, fields in entries:
                if fields is not None:
                    jobs.append(checked(as_str(entry), fields, self.limits))
        return jobs

    @staticmethod
    def _jobs(
        ids: bytes, lens: bytes, prior: bytes, bodies: bytes, problems: list[bytes], times: bytes = b""
    ) -> list[Job]:
        """The read (or claim) script's reply as Jobs: in C as far as possible (map, zip), as this runs for
        every job. `times`: how often each was delivered (claim); empty for a read (once)."""
        names = ids.decode().split(",")
        ends = list(accumulate(map(int, lens.split(b","))))
        if len(ends) != len(names) or ends[-1] != len(bodies):
            raise ValueError(f"read script reply: {len(names)} ids, {len(ends)} sizes, {len(bodies)} bytes")
        payloads = map(bodies.__getitem__, starmap(slice, pairwise([0, *ends])))
        if times:
            pairs = zip(prior.split(b","), times.split(b","), strict=True)
            deliveries: Iterable[int] = [int(n) + int(t) for n, t in pairs]
        elif prior.count(b"0") == len(names) and len(prior) == 2 * len(names) - 1:  # all "0": new entries
            deliveries = repeat(1)
        else:
            deliveries = [int(n) + 1 for n in prior.split(b",")]
        fields = zip(names, payloads, deliveries, repeat(""), repeat(-1), repeat(""))
        jobs = list(map(tuple.__new__, repeat(Job), fields))  # Job(...) without its Python-level __new__
        for i in range(0, len(problems), 4):  # the rare foreign or oversized entries
            index, problem, whole, sha1 = problems[i : i + 4]
            jobs[int(index)] = jobs[int(index)]._replace(
                problem=problem.decode("utf-8", "replace"), size=int(whole) if sha1 else -1, sha1=as_str(sha1)
            )
        return jobs

    def claim(self, consumer: str, min_idle_ms: int, count: int = 1) -> list[Job]:
        """Take over jobs idle for at least min_idle_ms (their worker died or hung): up to `count` jobs and
        READ_MAX_BYTES that were delivered once, or one job delivered more often (it may kill workers)."""
        try:
            limits = self.limits
            found: list[Any] = self._claim(
                keys=[self.keys.stream],
                args=[
                    GROUP, consumer, min_idle_ms, limits.payload_max_bytes, limits.dead_payload_bytes, count,
                    limits.read_max_bytes,
                ],
            )  # fmt: skip
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()
            return []
        return self._jobs(*found) if found else []

    def finish(
        self,
        done: Sequence[Job],
        retry: Sequence[tuple[Job, float]] = (),
        dead: Sequence[tuple[Job, str]] = (),
        worker: str = "",
    ) -> list[str]:
        """Atomically: ack `done`, schedule `retry` (job, delay in seconds, by Redis's clock), dead-letter
        `dead`; returns the entries of the old dead letters dropped to stay within the caps.

        Over maxmemory Redis refuses the writes but not XACK: `done` is then acked on its own (which frees
        memory) and the error is raised, so the caller keeps `retry` and `dead` and tries again later.
        """
        if not (done or retry or dead):
            return []
        limits = self.limits
        args: list[str | bytes | float | int] = [
            GROUP, limits.dead_max_count, limits.dead_max_bytes, len(retry), len(dead), ACK_CHUNK,
        ]  # fmt: skip
        for job, delay in retry:
            args += [f"{job.deliveries}|{job.entry_id}|".encode() + job.payload, round(delay, 3)]
        at = _now_iso()
        for job, error in dead:
            args += [job.entry_id, dead_record(job, error, at, worker)]
        acked = [job.entry_id for job in done]
        acked += [job.entry_id for job, _ in retry]
        acked += [job.entry_id for job, _ in dead]
        args.append(",".join(acked))
        keys = [self.keys.stream, self.keys.retry, self.keys.dead, self.keys.dead_order, self.keys.dead_stats]
        try:
            return [as_str(entry) for entry in self._finish(keys=keys, args=args)]
        except redis.ResponseError:
            if done and (retry or dead):
                self.ack(done)
            raise

    def ack(self, jobs: Sequence[Job]) -> None:
        """Plain XACK (allowed over maxmemory), in chunks."""
        ids = [job.entry_id for job in jobs]
        for start in range(0, len(ids), ACK_CHUNK):
            self.redis.xack(self.keys.stream, GROUP, *ids[start : start + ACK_CHUNK])

    def trim(self) -> int:
        """Delete stream entries that every worker is done with (acked); returns how many."""
        try:
            return int(self._trim(keys=[self.keys.stream], args=[GROUP]))
        except redis.ResponseError as exc:
            if "no such key" in str(exc).lower() or "NOGROUP" in str(exc):
                return 0
            raise

    def release(self, consumer: str, jobs: Sequence[Job]) -> int:
        """Hand back jobs this consumer still holds (shutdown): they go to the end of the stream at once."""
        args: list[str | bytes | int] = [GROUP, consumer]
        for job in jobs:
            args += [job.entry_id, job.payload, job.deliveries - 1]
        return int(self._release(keys=[self.keys.stream], args=args)) if jobs else 0

    def promote(self) -> int:
        """Move retries whose time has come (by Redis's clock) back to the stream; returns how many."""
        return int(self._promote(keys=[self.keys.stream, self.keys.retry]))

    def heartbeat(
        self,
        consumer: str,
        holding: Sequence[str],
        state: str = "",
        forget_after: float = WORKER_FORGET_SECONDS,
    ) -> None:
        """Keep the jobs this worker holds from looking idle, then record it alive (and paused, if it is).

        The touch goes first: it is allowed over maxmemory, the registry writes are not.
        """
        if holding:
            self._touch(keys=[self.keys.stream], args=[GROUP, consumer, ",".join(holding)])
        keys = [self.keys.workers, self.keys.worker_state]
        self._heartbeat(keys=keys, args=[consumer, forget_after, state])

    def leave(self, consumer: str) -> None:
        """Forget this worker; its consumer is deleted only when it holds nothing."""
        self.redis.zrem(self.keys.workers, consumer)
        self.redis.hdel(self.keys.worker_state, consumer)
        pending = self.redis.xpending_range(self.keys.stream, GROUP, "-", "+", 1, consumername=consumer)
        if not pending:
            self.redis.xgroup_delconsumer(self.keys.stream, GROUP, consumer)
