"""The Redis Streams protocol: keys, Lua scripts and every queue operation (read, ack, claim, retry, dead).

A job is one stream entry with fields `j` (the JSON payload) and `n` (deliveries before this entry existed,
kept when a job is retried or handed back). Workers share one consumer group. Reading puts entries in the
reader's pending list (PEL); an entry leaves it only by XACK, after its effects are committed. Entries of a
worker that stops heart-beating go idle and are taken over with XAUTOCLAIM, one at a time, so a job that
kills its worker only ever takes itself to the dead letters. Every key is in one Redis Cluster hash slot:
`{<queue>}:...`.

Foreign entries (written by another producer: a garbled or missing field, unknown fields) and payloads over
PAYLOAD_MAX_BYTES are recognised inside the read script, which hands over only a bounded prefix, the size and
the sha1 of an oversized payload: the worker dead-letters them at once without holding them whole. Dead
letters are bounded (count and bytes, oldest dropped and counted), and keep a bounded payload prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import accumulate, pairwise, repeat, starmap
from typing import TYPE_CHECKING, Any, NamedTuple

import redis

from .validate import UTC

if TYPE_CHECKING:  # config imports the store, which (Redis) imports this module
    from .config import Config

GROUP = "workers"
WORKER_FORGET_SECONDS = 3600  # workers silent this long leave the registry (status expires them sooner)
ACK_CHUNK = 1000  # ids per XACK inside a script (Lua's unpack() has a stack limit)
DEAD_NEAR_FULL = 0.8  # `status` warns when dead letters fill this share of DEAD_LETTER_MAX_BYTES (or _COUNT)

# Shared by the read and claim scripts: checks one entry's fields (f), returns body, n, problem, size, sha1.
# Only `j` (payload) and `n` (deliveries before this entry) are ours; anything else is a foreign entry.
_ENTRY = """
local function entry(f, limit, keep)
  local body, n, extra, problem = nil, '0', {}, ''
  for j = 1, #f, 2 do
    if f[j] == 'j' then body = f[j + 1] elseif f[j] == 'n' then n = f[j + 1] else extra[#extra + 1] = f[j] end
  end
  if #n > 9 or not string.match(n, '^%d+$') then
    problem = 'foreign entry: garbled field n (delivery count) ' .. string.format('%q', string.sub(n, 1, 40))
    n = '0'
  end
  if #extra > 0 then
    local names = table.concat(extra, ' ', 1, math.min(#extra, 5))
    problem = 'foreign entry: unknown fields ' .. string.format('%q', string.sub(names, 1, 100))
  end
  if not body then
    problem = 'foreign entry: missing field j (the payload)'
  end
  if problem ~= '' then  -- a foreign entry keeps its fields, as a JSON array [name, value, ...]: bounded
    body = string.sub(cjson.encode(f), 1, keep)
  end
  local size, sha1 = #body, ''
  if size > limit then
    sha1 = redis.sha1hex(body)
    problem = 'payload of ' .. size .. ' bytes is over PAYLOAD_MAX_BYTES=' .. limit
    body = string.sub(body, 1, keep)
  end
  return body, n, problem, size, sha1
end

-- Notes a foreign or oversized entry in a reply: its 0-based index, problem, whole size and sha1.
local function flag(problems, i, problem, size, sha1)
  problems[#problems + 1] = tostring(i - 1)
  problems[#problems + 1] = problem
  problems[#problems + 1] = tostring(size)
  problems[#problems + 1] = sha1
end
"""

# Reads up to ARGV[3] new entries and at most ARGV[6] payload bytes (always one entry at least; an oversized
# payload counts as its prefix), without blocking. A peek (XRANGE after the group's last delivered id) finds
# where the budget ends before XREADGROUP takes the entries into the reader's PEL: Streams have no "unread".
# Returns four flat strings (cheap to parse), plus {index, problem, size, sha1} for each foreign or
# oversized entry. ARGV[4]: size limit, ARGV[5]: prefix kept. The usual entry (fields j then n=0, within the
# limit) skips entry(): 10% less Redis time per read.
_READ_BODY = """
local limit, keep, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count = tonumber(ARGV[3])
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return redis.error_reply('NOGROUP ' .. groups.err) end
local last
for _, g in ipairs(groups) do
  if g[2] == ARGV[1] then
    for i = 1, #g, 2 do if g[i] == 'last-delivered-id' then last = g[i + 1] end end
  end
end
if not last then return redis.error_reply('NOGROUP no consumer group ' .. ARGV[1]) end
local peek = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', count)
if not peek or #peek == 0 then return {} end
local total, fit = 0, 0
for _, e in ipairs(peek) do
  local size = 0
  for j = 2, #e[2], 2 do size = size + #e[2][j] end
  if size > limit then size = keep end
  if fit > 0 and total + size > budget then break end
  total, fit = total + size, fit + 1
end
peek = nil
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', fit, 'STREAMS', KEYS[1], '>')
if not r then return {} end
local ids, lens, prior, bodies, problems = {}, {}, {}, {}, {}
for i, e in ipairs(r[1][2]) do
  local f = e[2]
  local body, n = f[2], f[4]
  if not (f[1] == 'j' and f[3] == 'n' and n == '0' and #f == 4 and #body <= limit) then
    local problem, size, sha1
    body, n, problem, size, sha1 = entry(f, limit, keep)
    if problem ~= '' then flag(problems, i, problem, size, sha1) end
  end
  ids[i], lens[i], prior[i], bodies[i] = e[1], #body, n, body
end
local joined = {table.concat(ids, ','), table.concat(lens, ','), table.concat(prior, ',')}
return {joined[1], joined[2], joined[3], table.concat(bodies), problems, ''}
"""
_READ = _ENTRY + _READ_BODY

# Takes over entries idle for ARGV[3] ms (their worker died or hung), in the reply format of the read script
# plus, last, how many times each was delivered. Entries delivered once go in a batch of up to ARGV[6] entries
# and ARGV[7] payload bytes; an entry delivered twice or more (taken over before: it may be what killed its
# workers) is taken alone, so a job that kills workers only ever takes itself to the dead letters.
# ARGV[4]: size limit, ARGV[5]: prefix kept of an oversized payload.
_CLAIM_BODY = """
local limit, keep, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local idle = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[6])
if #idle == 0 then return {} end
local take, total = {}, 0
if idle[1][4] > 1 then
  take[1] = idle[1][1]
else
  for _, p in ipairs(idle) do
    if p[4] == 1 then
      local e = redis.call('XRANGE', KEYS[1], p[1], p[1])[1]
      local size = 0
      if e then for j = 2, #e[2], 2 do size = size + #e[2][j] end end
      if size > limit then size = keep end
      if #take > 0 and total + size > budget then break end
      total = total + size
      take[#take + 1] = p[1]
    end
  end
end
local ids, lens, prior, bodies, problems, times = {}, {}, {}, {}, {}, {}
for _, e in ipairs(redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(take))) do
  if e and e[2] then
    local body, n, problem, size, sha1 = entry(e[2], limit, keep)
    local i = #ids + 1
    if problem ~= '' then flag(problems, i, problem, size, sha1) end
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    ids[i], lens[i], prior[i], bodies[i], times[i] = e[1], #body, n, body, p[1][4]
  end
end
if #ids == 0 then return {} end
local joined = {table.concat(ids, ','), table.concat(lens, ','), table.concat(prior, ',')}
return {joined[1], joined[2], joined[3], table.concat(bodies), problems, table.concat(times, ',')}
"""
_CLAIM = _ENTRY + _CLAIM_BODY

# Shared by the touch and finish scripts: call(ids) for each run of up to `size` ids that keep(id) accepts,
# out of one comma-joined argument (2,000 separate arguments cost the worker more to send than the split costs
# Redis; unpack() has a stack limit, hence the runs).
_CHUNKS = """
local function chunks(joined, size, keep, call)
  local ids = {}
  for id in string.gmatch(joined, '[^,]+') do
    if keep(id) then ids[#ids + 1] = id end
    if #ids == size then
      call(ids)
      ids = {}
    end
  end
  if #ids > 0 then call(ids) end
end
"""

# Resets the idle time of the entries this worker holds (XCLAIM JUSTID does not count a delivery), but only of
# those still in its own PEL, so it never takes back what another worker has claimed. ARGV[3]: the ids.
_TOUCH_BODY = """
local mine = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])) do
  mine[p[1]] = true
end
local touched = 0
chunks(ARGV[3], 500, function(id) return mine[id] end, function(ids)
  touched = touched + #ids
  ids[#ids + 1] = 'JUSTID'
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))
end)
return touched
"""
_TOUCH = _CHUNKS + _TOUCH_BODY

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

# Redis's clock, in seconds: the one clock every worker shares (a worker's own may be minutes off).
_NOW = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# Moves retries that are due (by Redis's clock) from the sorted set back to the stream.
# Member: "<deliveries>|<entry>|<payload>".
_PROMOTE_BODY = """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.3f', now()), 'LIMIT', 0, 500)
for _, m in ipairs(due) do
  local n, body = string.match(m, '^(%d+)|[^|]*|(.*)$')
  redis.call('XADD', KEYS[1], '*', 'j', body, 'n', n)
  redis.call('ZREM', KEYS[2], m)
end
return #due
"""
_PROMOTE = _NOW + _PROMOTE_BODY


# Settles a batch atomically: schedules retries, writes dead letters (bounded: oldest dropped, counted), acks.
# Writes that Redis refuses over maxmemory come first, so a refusal leaves nothing half done; a batch with
# nothing to retry or dead-letter is a bare XACK, which Redis allows over maxmemory (and which frees memory).
# KEYS: stream, retry, dead, dead order, dead stats. ARGV: group, max count, max bytes, #retries, #dead, then
# (member, delay in seconds) per retry, (entry, record) per dead letter, then the ids to ack.
# Returns the entries of the dead letters dropped (oldest first) to stay within the caps.
_FINISH_BODY = """
local nr, nd = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local i = 6
for _ = 1, nr do
  redis.call('ZADD', KEYS[2], string.format('%.3f', t + tonumber(ARGV[i + 1])), ARGV[i])
  i = i + 2
end
local dropped = {}
if nd > 0 then
  local added = 0
  for _ = 1, nd do
    added = added + #ARGV[i + 1] - redis.call('HSTRLEN', KEYS[3], ARGV[i])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[4], string.format('%.3f', t), ARGV[i])
    i = i + 2
  end
  local bytes = redis.call('HINCRBY', KEYS[5], 'bytes', added)
  local count = redis.call('HLEN', KEYS[3])
  while count > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) do
    local oldest = redis.call('ZPOPMIN', KEYS[4])
    if #oldest == 0 then break end
    bytes = bytes - redis.call('HSTRLEN', KEYS[3], oldest[1])
    count = count - redis.call('HDEL', KEYS[3], oldest[1])
    dropped[#dropped + 1] = oldest[1]
  end
  redis.call('HSET', KEYS[5], 'bytes', bytes)
  if #dropped > 0 then redis.call('HINCRBY', KEYS[5], 'dropped', #dropped) end
end
chunks(ARGV[i], ACK_CHUNK, function() return true end, function(ids)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
end)
return dropped
""".replace("ACK_CHUNK", str(ACK_CHUNK))
_FINISH = _NOW + _CHUNKS + _FINISH_BODY

# Records a worker alive (and paused, if it is) by Redis's clock; forgets those silent for ARGV[2] seconds.
# KEYS: workers, worker states. ARGV: worker, forget after, state ("" when working).
_HEARTBEAT_BODY = """
local t = now()
redis.call('ZADD', KEYS[1], string.format('%.3f', t), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', t - tonumber(ARGV[2])))
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"""
_HEARTBEAT = _NOW + _HEARTBEAT_BODY


class Job(NamedTuple):
    """One delivery of one stream entry; `deliveries` counts this one.

    `problem` is set for an entry that can never be a job (foreign fields, payload over the limit): it is
    dead-lettered at once. For an oversized payload, `payload` is only a prefix; `size` and `sha1` describe
    the whole.
    """

    entry_id: str
    payload: bytes
    deliveries: int
    problem: str = ""
    size: int = -1  # bytes of the whole payload when `payload` is only a prefix
    sha1: str = ""


class Limits(NamedTuple):
    """The size limits a queue applies (PAYLOAD_MAX_BYTES, READ_MAX_BYTES, DEAD_LETTER_*)."""

    payload_max_bytes: int
    dead_max_count: int
    dead_max_bytes: int
    dead_payload_bytes: int  # kept of a payload over PAYLOAD_MAX_BYTES (only its prefix is ever read)
    read_max_bytes: int

    @classmethod
    def of(cls, config: Config | None = None) -> Limits:
        from .config import load  # here: config imports the store, which (Redis) imports this module

        c = config or load({})
        return cls(
            c.payload_max_bytes,
            c.dead_letter_max_count,
            c.dead_letter_max_bytes,
            c.dead_letter_payload_bytes,
            c.read_max_bytes,
        )


class Keys:
    """Redis key names for one queue, all in the `{<queue>}` hash slot."""

    def __init__(self, queue_name: str) -> None:
        prefix = "{" + queue_name + "}:"
        self.prefix = prefix
        self.stream = prefix + "stream"
        self.retry = prefix + "retry"
        self.dead = prefix + "dead"
        self.dead_order = prefix + "dead:order"  # entry -> time dead, to drop the oldest first
        self.dead_stats = prefix + "dead:stats"  # bytes held, dropped (count of dead letters dropped)
        self.workers = prefix + "workers"
        self.worker_state = prefix + "workers:state"  # worker -> "paused|<reason>|<since>" while paused


def connect(config: Config) -> redis.Redis:
    """A client for REDIS_URL: TLS settings for rediss://, socket timeouts longer than a blocking read."""
    options: dict[str, Any] = {
        "socket_timeout": config.poll_timeout_ms / 1000 + 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
    }
    if not config.redis_url.startswith("unix://"):  # a unix socket has no TCP keepalive (redis-py refuses it)
        options["socket_keepalive"] = True
    if config.redis_url.startswith("rediss://"):
        options["ssl_cert_reqs"] = config.redis_ssl_cert_reqs
        options["ssl_check_hostname"] = config.redis_ssl_cert_reqs == "required"
    return redis.Redis.from_url(config.redis_url, **options)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


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


class Queue:
    """Every operation on one queue; safe to share between processes, one instance per thread."""

    def __init__(self, client: redis.Redis, queue_name: str, limits: Limits | None = None) -> None:
        self.redis = client
        self.name = queue_name
        self.keys = Keys(queue_name)
        self.limits = limits or Limits.of()
        self._read = client.register_script(_READ)
        self._claim = client.register_script(_CLAIM)
        self._touch = client.register_script(_TOUCH)
        self._release = client.register_script(_RELEASE)
        self._promote = client.register_script(_PROMOTE)
        self._trim = client.register_script(_TRIM)
        self._finish = client.register_script(_FINISH)
        self._heartbeat = client.register_script(_HEARTBEAT)

    # --- producers ----------------------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist (idempotent).

        Looks first (a read, allowed over maxmemory), so a restart with the group in place never depends on
        XGROUP CREATE, which Redis refuses over maxmemory.
        """
        try:
            groups = self.redis.xinfo_groups(self.keys.stream)
        except redis.ResponseError:  # no stream yet
            groups = []
        if any(_text(g["name"]) == GROUP for g in groups):
            return
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
                    jobs.append(checked(_text(entry), fields, self.limits))
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
                problem=problem.decode("utf-8", "replace"), size=int(whole) if sha1 else -1, sha1=_text(sha1)
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
            GROUP, limits.dead_max_count, limits.dead_max_bytes, len(retry), len(dead),
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
            return [_text(entry) for entry in self._finish(keys=keys, args=args)]
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

    # --- operators ----------------------------------------------------------------------------------------

    def status(self, gone_after: float | None = None) -> dict[str, Any]:
        """Queue depths, Redis memory and workers, as `status --json` prints them.

        A worker silent for more than `gone_after` seconds (the take-over threshold, CLAIM_IDLE_SECONDS) is
        gone: it is reported once with `gone: true` and removed from the registry.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(self.keys.stream)
        pipe.zcard(self.keys.retry)
        pipe.hlen(self.keys.dead)
        pipe.zrange(self.keys.workers, 0, -1, withscores=True)
        pipe.hgetall(self.keys.worker_state)
        pipe.hmget(self.keys.dead_stats, "dropped", "bytes")
        pipe.time()
        length, retrying, dead, workers, states, (dropped, dead_bytes), (seconds, micros) = pipe.execute()
        try:
            summary = self.redis.xpending(self.keys.stream, GROUP)
            groups = self.redis.xinfo_groups(self.keys.stream)
        except redis.ResponseError:  # no stream or group yet
            summary, groups = {"pending": 0, "consumers": []}, []
        holding = {_text(c["name"]): int(c["pending"]) for c in summary.get("consumers") or []}
        in_flight = int(summary.get("pending") or 0)
        lag = next((g.get("lag") for g in groups if _text(g["name"]) == GROUP), None)
        queued = int(lag) if lag is not None else max(0, int(length) - in_flight)  # lag: Redis 7+
        now = float(seconds) + micros / 1e6  # Redis's clock: the one the heartbeats were written with
        listed = [self._worker(_text(m), score, now, holding, states, gone_after) for m, score in workers]
        gone = [w["id"] for w in listed if w["gone"]]
        if gone:
            self.redis.zrem(self.keys.workers, *gone)  # ZREM/HDEL are allowed over maxmemory
            self.redis.hdel(self.keys.worker_state, *gone)
        return {
            "queue": self.name,
            "queued": queued,
            "in_flight": in_flight,
            "retrying": int(retrying),
            "dead": int(dead),
            "dead_dropped": int(dropped or 0),
            "dead_bytes": int(dead_bytes or 0),
            "dead_max_bytes": self.limits.dead_max_bytes,
            "dead_near_full": int(dead_bytes or 0) >= DEAD_NEAR_FULL * self.limits.dead_max_bytes
            or int(dead) >= DEAD_NEAR_FULL * self.limits.dead_max_count,
            "redis": self.memory(),
            "workers": listed,
        }

    @staticmethod
    def _worker(
        member: str,
        score: float,
        now: float,
        holding: dict[str, int],
        states: dict[bytes, bytes],
        gone_after: float | None,
    ) -> dict[str, Any]:
        state = _text(states.get(member.encode(), b""))
        kind, _, rest = state.partition("|")
        reason, _, since = rest.partition("|")
        return {
            "id": member,
            "last_heartbeat": _iso(score),
            "seconds_ago": round(now - score, 3),
            "holding": holding.get(member, 0),
            "gone": gone_after is not None and now - score > gone_after,
            "paused": {"reason": reason, "since": since} if kind == "paused" else None,
        }

    def memory(self) -> dict[str, Any]:
        """Redis memory: used, maxmemory (0: none), policy, and whether writes are refused (full)."""
        try:
            info = self.redis.info("memory")
        except redis.ResponseError:  # INFO disabled by the provider
            return {}
        used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
        policy = str(info.get("maxmemory_policy", ""))
        return {
            "used_memory": used,
            "maxmemory": limit,
            "policy": policy,
            "full": bool(limit) and used >= limit and policy == "noeviction",
        }

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter, oldest entry first."""
        records = [json.loads(v) for v in self.redis.hvals(self.keys.dead)]
        return sorted(records, key=lambda r: [int(x) for x in str(r.get("entry", "0-0")).split("-")])

    def requeue_dead(self) -> tuple[int, int]:
        """Put every dead letter back on the queue as a fresh job (delivery count reset).

        Returns (requeued, kept): a dead letter keeps its whole payload, except for a payload over
        PAYLOAD_MAX_BYTES (only a prefix was read) or a foreign entry: those cannot be requeued; they stay,
        for the producer to resend.
        """
        moved = kept = 0
        for field, value in self.redis.hgetall(self.keys.dead).items():
            record = json.loads(value)
            if record.get("truncated") or str(record.get("error", "")).startswith("foreign entry"):
                kept += 1
                continue
            pipe = self.redis.pipeline(transaction=True)
            pipe.xadd(self.keys.stream, {"j": record["payload"].encode("utf-8", "surrogateescape"), "n": 0})
            pipe.hdel(self.keys.dead, field)
            pipe.zrem(self.keys.dead_order, field)
            pipe.hincrby(self.keys.dead_stats, "bytes", -len(value))
            pipe.execute()
            moved += 1
        return moved, kept

    def purge_dead(self) -> int:
        """Delete every dead letter; returns how many."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hlen(self.keys.dead)
        pipe.delete(self.keys.dead, self.keys.dead_order)
        pipe.hdel(self.keys.dead_stats, "bytes")
        count, *_ = pipe.execute()
        return int(count)
