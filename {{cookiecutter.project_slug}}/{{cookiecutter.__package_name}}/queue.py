"""The Redis Streams protocol: keys, Lua scripts and every queue operation (read, ack, claim, retry, dead).

A job is one stream entry with fields `j` (the JSON payload) and `n` (deliveries before this entry existed,
kept when a job is retried or handed back). Workers share one consumer group. Reading puts entries in the
reader's pending list (PEL); an entry leaves it only by XACK, after its effects are committed. Entries of a
worker that stops heart-beating go idle and are taken over with XAUTOCLAIM, one at a time, so a job that
kills its worker only ever takes itself to the dead letters. Every key is in one Redis Cluster hash slot:
`{<queue>}:...`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import redis

from .config import Config
from .validate import UTC

GROUP = "workers"
WORKER_FORGET_SECONDS = 3600  # workers silent this long leave `status`

# Reads up to ARGV[3] new entries without blocking and returns them as four flat strings (cheap to parse).
_READ = """
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if not r then return {} end
local ids, lens, prior, bodies = {}, {}, {}, {}
for i, e in ipairs(r[1][2]) do
  local f, body, n = e[2], '', '0'
  for j = 1, #f, 2 do
    if f[j] == 'j' then body = f[j + 1] elseif f[j] == 'n' then n = f[j + 1] end
  end
  ids[i], lens[i], prior[i], bodies[i] = e[1], #body, n, body
end
return {table.concat(ids, ','), table.concat(lens, ','), table.concat(prior, ','), table.concat(bodies)}
"""

# Takes over ONE entry idle for ARGV[3] ms (XAUTOCLAIM), returning {id, payload, n, times delivered}.
_CLAIM = """
local cursor = '0-0'
for _ = 1, 1000 do
  local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', 1)
  cursor = r[1]
  local e = r[2][1]
  if e and e[2] then
    local f, body, n = e[2], '', '0'
    for j = 1, #f, 2 do
      if f[j] == 'j' then body = f[j + 1] elseif f[j] == 'n' then n = f[j + 1] end
    end
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    return {e[1], body, n, p[1][4]}
  end
  if cursor == '0-0' then return false end
end
return false
"""

# Resets the idle time of the entries this worker holds (XCLAIM JUSTID does not count a delivery), but only of
# those still in its own PEL, so it never takes back what another worker has claimed.
_TOUCH = """
local mine = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])) do
  mine[p[1]] = true
end
local ids, touched = {}, 0
for i = 3, #ARGV do
  if mine[ARGV[i]] then ids[#ids + 1] = ARGV[i] end
  if #ids == 500 or (i == #ARGV and #ids > 0) then
    touched = touched + #ids
    ids[#ids + 1] = 'JUSTID'
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))
    ids = {}
  end
end
return touched
"""

# Hands unfinished entries back: a copy goes to the end of the stream, the original is acked and deleted.
_RELEASE = """
local mine = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])) do
  mine[p[1]] = true
end
local released = 0
for i = 3, #ARGV, 3 do
  if mine[ARGV[i]] then
    redis.call('XADD', KEYS[1], '*', 'j', ARGV[i + 1], 'n', ARGV[i + 2])
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    redis.call('XDEL', KEYS[1], ARGV[i])
    released = released + 1
  end
end
return released
"""

# Trims entries every consumer is done with: older than the oldest pending entry and already delivered.
_TRIM = """
local last
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
  if fields['name'] == ARGV[1] then last = fields['last-delivered-id'] end
end
if not last then return 0 end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local keep_from = last
if pending[1] > 0 then keep_from = pending[2] end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', keep_from)
"""

# Moves retries that are due from the sorted set back to the stream. Member: "<deliveries>|<entry>|<payload>".
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 500)
for _, m in ipairs(due) do
  local n, body = string.match(m, '^(%d+)|[^|]*|(.*)$')
  redis.call('XADD', KEYS[1], '*', 'j', body, 'n', n)
  redis.call('ZREM', KEYS[2], m)
end
return #due
"""


class Job(NamedTuple):
    """One delivery of one stream entry; `deliveries` counts this one."""

    entry_id: str
    payload: bytes
    deliveries: int


class Keys:
    """Redis key names for one queue, all in the `{<queue>}` hash slot."""

    def __init__(self, queue_name: str) -> None:
        prefix = "{" + queue_name + "}:"
        self.prefix = prefix
        self.stream = prefix + "stream"
        self.retry = prefix + "retry"
        self.dead = prefix + "dead"
        self.workers = prefix + "workers"


def connect(config: Config) -> redis.Redis:
    """A client for REDIS_URL: TLS settings for rediss://, socket timeouts longer than a blocking read."""
    options: dict[str, Any] = {
        "socket_timeout": config.poll_timeout_ms / 1000 + 10,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 15,
    }
    if config.redis_url.startswith("rediss://"):
        options["ssl_cert_reqs"] = config.redis_ssl_cert_reqs
        options["ssl_check_hostname"] = config.redis_ssl_cert_reqs == "required"
    return redis.Redis.from_url(config.redis_url, **options)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Queue:
    """Every operation on one queue; safe to share between processes, one instance per thread."""

    def __init__(self, client: redis.Redis, queue_name: str) -> None:
        self.redis = client
        self.name = queue_name
        self.keys = Keys(queue_name)
        self._read = client.register_script(_READ)
        self._claim = client.register_script(_CLAIM)
        self._touch = client.register_script(_TOUCH)
        self._release = client.register_script(_RELEASE)
        self._promote = client.register_script(_PROMOTE)
        self._trim = client.register_script(_TRIM)

    # --- producers ----------------------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist (idempotent)."""
        try:
            self.redis.xgroup_create(self.keys.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def enqueue(self, payloads: Iterable[bytes], chunk: int = 1000) -> int:
        """XADD each payload as a new job, pipelined; returns how many were added."""
        added = 0
        pipe = self.redis.pipeline(transaction=False)
        for payload in payloads:
            pipe.xadd(self.keys.stream, {"j": payload, "n": 0})
            added += 1
            if added % chunk == 0:
                pipe.execute()
        pipe.execute()
        return added

    # --- consumers ----------------------------------------------------------------------------------------

    def read(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        """Up to `count` new jobs for this consumer, waiting up to block_ms when there are none."""
        try:
            found: list[bytes] = self._read(keys=[self.keys.stream], args=[GROUP, consumer, count])
            if found:
                ids, lens, prior, bodies = found
                jobs = []
                pos = 0
                for entry, size, n in zip(ids.split(b","), lens.split(b","), prior.split(b","), strict=True):
                    end = pos + int(size)
                    jobs.append(Job(entry.decode(), bodies[pos:end], int(n) + 1))
                    pos = end
                return jobs
            reply = self.redis.xreadgroup(
                GROUP, consumer, {self.keys.stream: ">"}, count=count, block=block_ms
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
                if fields is None:
                    continue
                jobs.append(Job(_text(entry), fields.get(b"j", b""), int(fields.get(b"n", 0)) + 1))
        return jobs

    def claim(self, consumer: str, min_idle_ms: int) -> Job | None:
        """Take over one job idle for at least min_idle_ms (its worker died or hung), or None."""
        try:
            found = self._claim(keys=[self.keys.stream], args=[GROUP, consumer, min_idle_ms])
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()
            return None
        if not found:
            return None
        entry, body, prior, delivered = found
        return Job(_text(entry), body, int(prior) + int(delivered))

    def finish(
        self,
        done: Sequence[Job],
        retry: Sequence[tuple[Job, float]] = (),
        dead: Sequence[tuple[Job, str]] = (),
        worker: str = "",
    ) -> None:
        """In one MULTI: ack `done`, schedule `retry` (job, due epoch s), dead-letter `dead`."""
        if not (done or retry or dead):
            return
        pipe = self.redis.pipeline(transaction=True)
        for job, due in retry:
            member = f"{job.deliveries}|{job.entry_id}|".encode() + job.payload
            pipe.zadd(self.keys.retry, {member: due})
        if dead:
            at = _now_iso()
            pipe.hset(
                self.keys.dead,
                mapping={
                    job.entry_id: json.dumps(
                        {
                            "entry": job.entry_id,
                            "error": error,
                            "deliveries": job.deliveries,
                            "failed_at": at,
                            "worker": worker,
                            "payload": job.payload.decode("utf-8", "surrogateescape"),
                        }
                    )
                    for job, error in dead
                },
            )
        ids = [job.entry_id for job in done]
        ids += [job.entry_id for job, _ in retry]
        ids += [job.entry_id for job, _ in dead]
        pipe.xack(self.keys.stream, GROUP, *ids)  # acked entries are removed in bulk by trim()
        pipe.execute()

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

    def promote(self, now: float | None = None) -> int:
        """Move retries whose time has come back to the stream; returns how many."""
        now = time.time() if now is None else now
        return int(self._promote(keys=[self.keys.stream, self.keys.retry], args=[now]))

    def heartbeat(self, consumer: str, holding: Sequence[str]) -> None:
        """Record that this worker is alive and keep the jobs it holds from looking idle."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.keys.workers, {consumer: now})
        pipe.zremrangebyscore(self.keys.workers, "-inf", now - WORKER_FORGET_SECONDS)
        pipe.execute()
        if holding:
            self._touch(keys=[self.keys.stream], args=[GROUP, consumer, *holding])

    def leave(self, consumer: str) -> None:
        """Forget this worker; its consumer is deleted only when it holds nothing."""
        self.redis.zrem(self.keys.workers, consumer)
        pending = self.redis.xpending_range(self.keys.stream, GROUP, "-", "+", 1, consumername=consumer)
        if not pending:
            self.redis.xgroup_delconsumer(self.keys.stream, GROUP, consumer)

    # --- operators ----------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Queue depths and workers, as `status --json` prints them."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(self.keys.stream)
        pipe.zcard(self.keys.retry)
        pipe.hlen(self.keys.dead)
        pipe.zrange(self.keys.workers, 0, -1, withscores=True)
        length, retrying, dead, workers = pipe.execute()
        try:
            summary = self.redis.xpending(self.keys.stream, GROUP)
            groups = self.redis.xinfo_groups(self.keys.stream)
        except redis.ResponseError:  # no stream or group yet
            summary, groups = {"pending": 0, "consumers": []}, []
        holding = {_text(c["name"]): int(c["pending"]) for c in summary.get("consumers") or []}
        in_flight = int(summary.get("pending") or 0)
        lag = next((g.get("lag") for g in groups if _text(g["name"]) == GROUP), None)
        queued = int(lag) if lag is not None else max(0, int(length) - in_flight)  # lag: Redis 7+
        now = time.time()
        return {
            "queue": self.name,
            "queued": queued,
            "in_flight": in_flight,
            "retrying": int(retrying),
            "dead": int(dead),
            "workers": [
                {
                    "id": _text(member),
                    "last_heartbeat": datetime.fromtimestamp(score, UTC).isoformat(timespec="milliseconds"),
                    "seconds_ago": round(now - score, 3),
                    "holding": holding.get(_text(member), 0),
                }
                for member, score in workers
            ],
        }

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter, oldest entry first."""
        records = [json.loads(v) for v in self.redis.hvals(self.keys.dead)]
        return sorted(records, key=lambda r: [int(x) for x in str(r.get("entry", "0-0")).split("-")])

    def requeue_dead(self) -> int:
        """Put every dead letter back on the queue as a fresh job (delivery count reset)."""
        moved = 0
        for field, value in self.redis.hgetall(self.keys.dead).items():
            record = json.loads(value)
            pipe = self.redis.pipeline(transaction=True)
            pipe.xadd(self.keys.stream, {"j": record["payload"].encode("utf-8", "surrogateescape"), "n": 0})
            pipe.hdel(self.keys.dead, field)
            pipe.execute()
            moved += 1
        return moved

    def purge_dead(self) -> int:
        """Delete every dead letter; returns how many."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hlen(self.keys.dead)
        pipe.delete(self.keys.dead)
        count, _ = pipe.execute()
        return int(count)
