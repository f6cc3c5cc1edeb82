"""The Redis Streams protocol every side of the queue shares: keys, Job, Limits, connect, the Lua loader.

Who uses it: queue_consumer.py (the worker), queue_producer.py (`enqueue`), queue_operator.py (`status`,
`dead`), and cli.py (`migrate` creates the consumer group). It reads no settings: the caller passes the limits
and the Redis settings (cli.py and worker.py build them from config.Config).

A job is one stream entry with fields `j` (the JSON payload) and `n` (deliveries before this entry existed,
kept when a job is retried or handed back). Workers share one consumer group. Reading puts entries in the
reader's pending list (PEL); an entry leaves it only by XACK, after its effects are committed. Entries of a
worker that stops heart-beating go idle and are taken over (claim.lua): in batches when delivered once, alone
when delivered more often, so a job that kills its worker only ever takes itself to the dead letters. Every
key is in one Redis Cluster hash slot: `{<queue>}:...`.

The Lua scripts are files in lua/ (each starts with its KEYS, ARGV and reply), loaded by `lua()`.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import Any, NamedTuple, Protocol

import redis

GROUP = "workers"

# `--@include lib/<name>.lua` on a line of its own in a script: replaced by that library's text (lua()).
INCLUDE = re.compile(r"^--@include (\S+)$", re.MULTILINE)


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


class LimitSettings(Protocol):
    """The settings Limits.of reads (config.Config has them)."""

    @property
    def payload_max_bytes(self) -> int: ...
    @property
    def dead_letter_max_count(self) -> int: ...
    @property
    def dead_letter_max_bytes(self) -> int: ...
    @property
    def dead_letter_payload_bytes(self) -> int: ...
    @property
    def read_max_bytes(self) -> int: ...


class Limits(NamedTuple):
    """The size limits a queue applies (PAYLOAD_MAX_BYTES, READ_MAX_BYTES, DEAD_LETTER_*)."""

    payload_max_bytes: int
    dead_max_count: int
    dead_max_bytes: int
    dead_payload_bytes: int  # kept of a payload over PAYLOAD_MAX_BYTES (only its prefix is ever read)
    read_max_bytes: int

    @classmethod
    def of(cls, settings: LimitSettings) -> Limits:
        return cls(
            settings.payload_max_bytes,
            settings.dead_letter_max_count,
            settings.dead_letter_max_bytes,
            settings.dead_letter_payload_bytes,
            settings.read_max_bytes,
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


class RedisSettings(Protocol):
    """The settings connect() reads (config.Config has them)."""

    @property
    def redis_url(self) -> str: ...
    @property
    def redis_ssl_cert_reqs(self) -> str: ...
    @property
    def poll_timeout_ms(self) -> int: ...


def connect(settings: RedisSettings) -> redis.Redis:
    """A client for REDIS_URL: TLS settings for rediss://, socket timeouts longer than a blocking read."""
    options: dict[str, Any] = {
        "socket_timeout": settings.poll_timeout_ms / 1000 + 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
    }
    if not settings.redis_url.startswith("unix://"):  # a unix socket has no TCP keepalive (redis-py refuses)
        options["socket_keepalive"] = True
    if settings.redis_url.startswith("rediss://"):
        options["ssl_cert_reqs"] = settings.redis_ssl_cert_reqs
        options["ssl_check_hostname"] = settings.redis_ssl_cert_reqs == "required"
    return redis.Redis.from_url(settings.redis_url, **options)


def as_str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def ensure_group(client: redis.Redis, queue_name: str) -> None:
    """Create the stream and its consumer group if they do not exist (idempotent).

    Looks first (a read, allowed over maxmemory), so a restart with the group in place never depends on
    XGROUP CREATE, which Redis refuses over maxmemory.
    """
    stream = Keys(queue_name).stream
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:  # no stream yet
        groups = []
    if any(as_str(g["name"]) == GROUP for g in groups):
        return
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _lua_file(name: str) -> str:
    """lua/<name> as text, read with importlib.resources: the package may be a folder, a wheel or a zip."""
    resource = files(__package__ or __name__.rpartition(".")[0]) / "lua"
    for part in name.split("/"):
        resource = resource / part
    return resource.read_text(encoding="utf-8")


@functools.cache
def lua(name: str) -> str:
    """The script lua/<name> as Redis runs it: each `--@include lib/<x>.lua` line replaced by that file.

    The one way scripts share Lua: a helper (a `local function`) is written once in lua/lib/, and a script
    that needs it says so with an include line before its own code. One level only: a library includes
    nothing (refused here). Line numbers in a Redis error count the assembled text, libraries included.
    """

    def include(match: re.Match[str]) -> str:
        library = _lua_file(match.group(1))
        if INCLUDE.search(library):
            raise ValueError(f"lua/{match.group(1)} includes another file: libraries include nothing")
        return library

    return INCLUDE.sub(include, _lua_file(name))


class QueueClient:
    """One queue on one Redis client: its name, keys and limits; what Producer, Consumer and Operator share.

    Safe to share between processes, one instance per thread.
    """

    def __init__(self, client: redis.Redis, queue_name: str, limits: Limits) -> None:
        self.redis = client
        self.name = queue_name
        self.keys = Keys(queue_name)
        self.limits = limits

    def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist (idempotent): ensure_group()."""
        ensure_group(self.redis, self.name)
