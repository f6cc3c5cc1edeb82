"""What an error means for the jobs in hand: the job's own fault, or the system's (keep the jobs, pause).

Seam shared by the queue, the stores and the worker loop. Redis errors are explained here (the queue is
always Redis); each store explains its own through `diagnose(exc)` (see the store contract), and owns the
tables that do it (in store.py). The worker dead-letters only for `Fault.JOB`.
Classification is by what the error means (SQLSTATE class, Redis error reply), never by the module an
exception class lives in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import redis


class Fault(enum.Enum):
    JOB = "job"  # this job's own data or code: retry it, then dead-letter it
    SYSTEMIC = "systemic"  # every job would fail now (connection, read-only, privileges, memory): pause
    UNKNOWN = "unknown"  # cannot tell from the error alone: prove it is the job's before blaming the job


@dataclass(frozen=True)
class Diagnosis:
    fault: Fault
    reason: str  # short, stable, logfmt-safe: connection_lost, read_only, insufficient_privilege, redis_oom …


def systemic(reason: str) -> Diagnosis:
    return Diagnosis(Fault.SYSTEMIC, reason)


# Redis error replies (the first word of the reply) that describe the server, not the command's data.
REDIS_REPLIES = {
    "OOM": "redis_oom",  # over maxmemory with noeviction: writes refused, XACK/XDEL/reads still pass
    "READONLY": "redis_read_only",  # a replica, or a failover in progress
    "LOADING": "redis_loading",  # restarting, loading its data set
    "MASTERDOWN": "redis_master_down",
    "BUSY": "redis_busy_script",  # another client's script runs too long
    "NOAUTH": "redis_auth",
    "WRONGPASS": "redis_auth",
    "NOPERM": "redis_permission",  # ACL: this user may not run the command
    "CLUSTERDOWN": "redis_cluster_down",
    "TRYAGAIN": "redis_cluster_resharding",
    "MISCONF": "redis_cannot_persist",  # RDB snapshot failing: writes refused
    "NOREPLICAS": "redis_no_replicas",
}
# Replies the stores raise on purpose for one job's data (the Redis store's overflow check).
REDIS_JOB_REPLIES = ("DATA",)


# redis-py's error classes that describe the server or the link, in order: BusyLoadingError and
# AuthenticationError are kinds of ConnectionError, so they come before it.
REDIS_CLASSES: tuple[tuple[type[Exception], str], ...] = (
    (redis.BusyLoadingError, "redis_loading"),
    (redis.OutOfMemoryError, "redis_oom"),
    (redis.ReadOnlyError, "redis_read_only"),
    (redis.AuthenticationError, "redis_auth"),
    (redis.TimeoutError, "redis_timeout"),
    (redis.ConnectionError, "redis_unreachable"),
)


def diagnose(exc: BaseException, store: Callable[[BaseException], Diagnosis]) -> Diagnosis:
    """What an error means to the worker: a Redis error by Redis's tables (the queue's), any other by the
    store's own `diagnose` (its driver's errors)."""
    return diagnose_redis(exc) if isinstance(exc, redis.RedisError) else store(exc)


def diagnose_redis(exc: BaseException) -> Diagnosis:
    """A Redis error's meaning, from its class (connection, timeout) or the reply's first word."""
    for kind, reason in REDIS_CLASSES:
        if isinstance(exc, kind):
            return systemic(reason)
    words = str(exc).split(maxsplit=1)
    first = words[0] if words else ""
    if first in REDIS_REPLIES:
        return systemic(REDIS_REPLIES[first])
    if "command not allowed when used memory" in str(exc):  # OOM inside a script or a pipeline
        return systemic("redis_oom")
    if first in REDIS_JOB_REPLIES:
        return Diagnosis(Fault.JOB, "data_error")
    return Diagnosis(Fault.UNKNOWN, "redis_error")  # WRONGTYPE, a script bug …: not proven either way
