"""What an error means for the jobs in hand: the job's own fault, or the system's (keep the jobs, pause).

Seam shared by the queue, the stores and the worker loop. Each store's `diagnose(exc)` (see the store
contract) returns a `Diagnosis`; the worker dead-letters only for `Fault.JOB`. Classification is by what the
error means (SQLSTATE class, Redis error reply), never by the module an exception class lives in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

{% if cookiecutter.use_postgres %}import psycopg2
{% endif %}import redis


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
{%- if cookiecutter.use_postgres %}


# SQLSTATE -> reason, for the codes a worker meets; then the class (first two characters) as a fallback.
PG_SYSTEMIC_CODES = {
    "25006": "database_read_only",  # failover, default_transaction_read_only, a hot standby
    "42501": "insufficient_privilege",  # Heroku "Access Restricted" (over the plan's storage): no INSERT
    "42P01": "undefined_table",  # schema missing: `migrate` has not run
    "42703": "undefined_column",  # schema older than the code: a migration is missing
    "42883": "undefined_function",
    "3D000": "database_does_not_exist",
    "3F000": "schema_does_not_exist",
    "53100": "disk_full",
    "53200": "database_out_of_memory",
    "53300": "too_many_connections",
    "57014": "query_canceled",  # statement_timeout, or an operator cancelled it
    "57P01": "database_shutdown",
    "57P02": "database_crashed",
    "57P03": "database_starting",
    "40001": "serialization_failure",
    "40P01": "deadlock",
    "55P03": "lock_not_available",
}
PG_SYSTEMIC_CLASSES = {
    "08": "database_unreachable",  # connection exception
    "25": "transaction_state",
    "28": "database_auth",  # invalid authorization
    "40": "transaction_rollback",
    "42": "schema_or_sql_error",  # the schema or the code's SQL, the same for every job
    "53": "database_resources",
    "55": "object_not_ready",
    "57": "operator_intervention",
    "58": "database_system_error",  # I/O error in the server
    "F0": "database_config_error",
    "HV": "foreign_data_error",
}
# What libpq says when a connection is refused by the server, which carries no SQLSTATE to psycopg2.
PG_CONNECT_MESSAGES = (
    ("too many connections", "too_many_connections"),  # per role or database (Heroku's plans)
    ("too many clients", "too_many_connections"),  # max_connections
    ("connection slots are reserved", "too_many_connections"),
    ("password authentication failed", "database_auth"),
    ("no password supplied", "database_auth"),
    ("pg_hba.conf", "database_auth"),
    ("role ", "database_auth"),  # role "x" does not exist
    ("database ", "database_does_not_exist"),  # database "x" does not exist
    ("connection option", "database_url_invalid"),  # invalid ... for connection option "port"
    ("could not translate host name", "database_host_unknown"),
)
PG_JOB_CLASSES = {
    "22": "data_exception",  # a value this job carries: out of range, bad encoding …
    "23": "constraint_violation",  # a constraint this job's row breaks
}


def _connect_reason(message: str) -> str:
    """A refused connection's reason, from libpq's message (the server's FATAL line, or libpq's own)."""
    fatal = message.partition("FATAL:")[2] or message
    for words, reason in PG_CONNECT_MESSAGES:
        if words in fatal and (not words.endswith(" ") or "does not exist" in fatal):
            return reason
    return "database_unreachable"  # refused, timed out, lost: the server never answered


def diagnose_postgres(exc: BaseException) -> Diagnosis:
    """A PostgreSQL error's meaning, by SQLSTATE (`exc.pgcode`); a connection error without one: systemic."""
    code = getattr(exc, "pgcode", None)
    if not code:
        if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
            return systemic(_connect_reason(str(exc)))
        if isinstance(exc, psycopg2.ProgrammingError) and "dsn" in str(exc).lower():
            return systemic("database_url_invalid")
        return Diagnosis(Fault.UNKNOWN, "database_error")
    if code in PG_SYSTEMIC_CODES:
        return systemic(PG_SYSTEMIC_CODES[code])
    if code[:2] in PG_SYSTEMIC_CLASSES:
        return systemic(f"{PG_SYSTEMIC_CLASSES[code[:2]]}_{code.lower()}")
    if code[:2] in PG_JOB_CLASSES:
        return Diagnosis(Fault.JOB, PG_JOB_CLASSES[code[:2]])
    return Diagnosis(Fault.UNKNOWN, f"database_error_{code.lower()}")
{%- endif %}


def diagnose(exc: BaseException) -> Diagnosis:
    """Dispatch on what the error is (a Redis or a PostgreSQL error); anything else: unknown."""
    if isinstance(exc, redis.RedisError):
        return diagnose_redis(exc)
{%- if cookiecutter.use_postgres %}
    if isinstance(exc, psycopg2.Error):
        return diagnose_postgres(exc)
{%- endif %}
    return Diagnosis(Fault.UNKNOWN, "unexpected_error")
