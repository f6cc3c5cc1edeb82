"""What an error means for the jobs in hand: the job's own fault, or the system's (keep the jobs, pause).

Seam shared by the queue, the stores and the worker loop. Each store's `diagnose(exc)` (see the store
contract) returns a `Diagnosis`; the worker dead-letters only for `Fault.JOB`. Classification is by what the
error means (SQLSTATE class, Redis error reply), never by the module an exception class lives in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import redis
{%- if cookiecutter.use_postgres %}
import psycopg2
{%- endif %}


class Fault(enum.Enum):
    JOB = "job"  # this job's own data or code: retry it, then dead-letter it
    SYSTEMIC = "systemic"  # every job would fail now (connection, read-only, privileges, memory): pause
    UNKNOWN = "unknown"  # cannot tell from the error alone: prove it is the job's before blaming the job


@dataclass(frozen=True)
class Diagnosis:
    fault: Fault
    reason: str  # short, stable, logfmt-safe: connection_lost, read_only, insufficient_privilege, redis_oom …


def diagnose_redis(exc: BaseException) -> Diagnosis:
    """A Redis error's meaning. (Stub carried over from the TRANSIENT tuples; the worker-edges work refines it.)"""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return Diagnosis(Fault.SYSTEMIC, "redis_unreachable")
    if isinstance(exc, redis.ReadOnlyError):
        return Diagnosis(Fault.SYSTEMIC, "redis_read_only")
    return Diagnosis(Fault.UNKNOWN, "redis_error")
{%- if cookiecutter.use_postgres %}


def diagnose_postgres(exc: BaseException) -> Diagnosis:
    """A PostgreSQL error's meaning. (Stub carried over from TRANSIENT; the worker-edges work classifies by SQLSTATE.)"""
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        return Diagnosis(Fault.SYSTEMIC, "database_unreachable")
    return Diagnosis(Fault.UNKNOWN, "database_error")
{%- endif %}
