"""Results in PostgreSQL: storing a batch exactly once, in one transaction (the schema: migrator.py).

Job rows and output rows (combined per table key) are COPied into temporary staging tables; one statement
(SAVE) inserts the job rows into schema.JOB_TABLE (ON CONFLICT DO NOTHING RETURNING the keys) and merges
the output rows into their tables when every job was new; otherwise only the outputs of the new jobs are
merged. A job delivered twice changes no table.
"""

from __future__ import annotations

import contextlib
import csv
import io
import ipaddress
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg2
import psycopg2.extensions

from . import migrator
from .contract import MigrationFailed, SchemaNotReady
from .environment import ConfigError, Setting
from .faults import Diagnosis, Fault, systemic
from .output import Batch, Rows, combine
from .schema import DECIMALS, JOB_TABLE, KEY, OUTPUTS, STORED, Table, decimals_of, types_of

if TYPE_CHECKING:  # config.py imports this module for its settings
    from .config import Config

# The staging column for each declared type (times travel as microseconds since 1970 UTC); the table's own
# column (a migration) says the rest, e.g. numeric(12, 2) for money declared with 2 decimals.
PG_TYPES: dict[type, str] = {
    str: "text",
    float: "numeric",
    Decimal: "numeric",
    int: "bigint",
    bool: "boolean",
    datetime: "bigint",
    date: "date",
}

NAME = "PostgreSQL"  # in the CLI's one-line errors
ERRORS: tuple[type[Exception], ...] = (psycopg2.Error,)  # the driver's: the CLI reports them as one line
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "PostgreSQL for results; sslmode=require is added for non-local hosts unless the URL sets sslmode.",
    ),
)
_LOCAL_HOSTS = {"localhost", ""}


def configure(values: Mapping[str, str]) -> str:
    """The store's settings (SETTINGS' raw values) as Config.database_url: DATABASE_URL as libpq takes it."""
    return database_dsn(values["DATABASE_URL"])


def secrets(database_url: str) -> list[str]:
    """The password in DATABASE_URL, for logs.hide()."""
    return [_dsn_parts(database_url).get("password", "")]


def is_local_host(host: str | None) -> bool:
    """True for localhost, loopback addresses and Unix socket paths."""
    if host is None or host in _LOCAL_HOSTS or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quote_userinfo(url: str) -> str:
    """A raw "@", "/" or ":" in a URL's password percent-encoded. libpq would take what follows a raw "/" for
    the port and the path, and print part of the password in its error ("invalid integer value")."""
    scheme, sep, rest = url.partition("://")
    query = rest.find("?")
    at = rest.rfind("@", 0, query if query >= 0 else len(rest))  # the userinfo ends at its last "@"
    if not sep or at < 0 or "/" in rest[:at].partition(":")[0]:
        return url  # no userinfo (an "@" in the path), or a user name that is really a path: left as given
    user, colon, password = rest[:at].partition(":")
    return f"{scheme}://{quote(user, safe='%')}{colon}{quote(password, safe='%')}@{rest[at + 1 :]}"


def _dsn_parts(dsn: str) -> dict[str, str]:
    try:
        return dict(psycopg2.extensions.parse_dsn(dsn))
    except psycopg2.ProgrammingError as exc:
        raise ConfigError(f"DATABASE_URL is not a connection string libpq accepts: {exc}") from None


def database_dsn(url: str) -> str:
    """DATABASE_URL as libpq takes it, with sslmode=require added when any host is remote.

    Every form libpq accepts works: postgres:// and postgresql:// URIs (a raw "@" in the password too),
    `postgresql:///db?host=remote`, and key=value strings. Hosts may be given in the URI's authority, in
    `host=`/`hostaddr=` (comma-separated lists), or be Unix socket paths (local: no TLS).
    """
    url = url.strip()
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme and scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"DATABASE_URL must start with postgres:// or postgresql://, not {scheme!r}://")
    if scheme:
        url = _quote_userinfo(url)
    parts = _dsn_parts(url)
    if "sslmode" in parts:
        return url
    hosts = [h for key in ("host", "hostaddr") for h in parts.get(key, "").split(",")]
    if all(is_local_host(h.strip()) for h in hosts):
        return url
    if scheme:  # appended as text: urlunsplit() would turn postgresql:///db into postgresql:/db
        return url + ("&" if "?" in url else "?") + "sslmode=require"
    return f"{url} sslmode=require"


def quoted(name: str) -> str:
    return f'"{name}"'  # names are Python identifiers: no quote inside; reserved words stay usable


def from_stage(column: str, kind: type, decimals: int | None = None) -> str:
    """A staged value (an SQL expression) as the table stores it (times travel as microseconds since 1970)."""
    if kind is datetime:
        return f"'epoch'::timestamptz + ({column}) * interval '1 microsecond'"
    return f"round({column}, {decimals})" if decimals is not None else column


def stage_table(name: str, types: dict[str, type]) -> str:
    columns = ", ".join(f"{quoted(column)} {PG_TYPES[kind]}" for column, kind in types.items())
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {quoted('stage_' + name)} ({columns}) ON COMMIT DELETE ROWS"


MERGED = {
    "add": "t.{c} + EXCLUDED.{c}",
    "greatest": "GREATEST(t.{c}, EXCLUDED.{c})",
    "least": "LEAST(t.{c}, EXCLUDED.{c})",
    "first": "COALESCE(t.{c}, EXCLUDED.{c})",
}


def merge_output(name: str, table: Table, where: str = "") -> str:
    """INSERT the staged rows of a table (already one per key) and merge each into the stored row."""
    types, decimals = types_of(table.row), decimals_of(table.row)
    values = ", ".join(from_stage(quoted(c), kind, decimals.get(c)) for c, kind in types.items())
    key = ", ".join(map(quoted, table.key))
    updates = ", ".join(f"{quoted(c)} = " + MERGED[table.merge[c]].format(c=quoted(c)) for c in table.merge)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"""INSERT INTO {quoted(name)} AS t ({", ".join(map(quoted, types))})
    SELECT {values} FROM {quoted("stage_" + name)} {where}
    ORDER BY {key}
    ON CONFLICT ({key}) {action}"""


# Derived from schema.py. One statement stores a batch in the usual case, where every job is new: the job
# rows go into JOB_TABLE (ON CONFLICT DO NOTHING RETURNING the keys inserted) and, only if every staged job
# was inserted, the output rows (combined per table key beforehand, see output.combine) are merged into
# their tables. Otherwise it returns the keys inserted, and save() merges the outputs of exactly those jobs
# (MERGE). A job delivered twice changes no table. ORDER BY gives a fixed lock order: no deadlocks between
# workers. Combining in Python (about 1 ms a batch) rather than in this statement (GROUP BY over every job's
# row) halves the rows staged and the statement's time (measured: the template repository's worker docs).
STAGES = [stage_table(JOB_TABLE, STORED)]
STAGES += [stage_table(name, types_of(table.row)) for name, table in OUTPUTS.items()]
EVERY_JOB_NEW = f"(SELECT count(*) FROM inserted) = (SELECT count(*) FROM {quoted('stage_' + JOB_TABLE)})"
SAVE = f"""WITH inserted AS (
    INSERT INTO {quoted(JOB_TABLE)} ({", ".join(map(quoted, STORED))})
    SELECT {", ".join(from_stage(quoted(c), kind, DECIMALS.get(c)) for c, kind in STORED.items())}
    FROM {quoted("stage_" + JOB_TABLE)}
    ORDER BY {quoted(KEY)}
    ON CONFLICT ({quoted(KEY)}) DO NOTHING
    RETURNING {quoted(KEY)}
)"""
for _name, _table in OUTPUTS.items():
    SAVE += f""",
{quoted("merged_" + _name)} AS (
    {merge_output(_name, _table, f"WHERE {EVERY_JOB_NEW}")}
    RETURNING 1
)"""
SAVE += f"""
SELECT (SELECT count(*) FROM inserted),
    CASE WHEN NOT {EVERY_JOB_NEW} THEN ARRAY(SELECT {quoted(KEY)} FROM inserted) END"""
MERGE = {name: merge_output(name, table) for name, table in OUTPUTS.items()}


TEXT_SPECIAL = ("\\", "\t", "\n", "\r")  # characters COPY's text format would need escaped


def plain_text(values: list[str]) -> bool:
    """True when COPY's text format takes these values as they are: non-empty strings, nothing to escape.

    (An empty string is NULL in CSV, refused by NOT NULL, but "" in text: such rows keep CSV's behaviour.)
    """
    try:
        joined = "".join(values)  # TypeError unless every value is a string
    except TypeError:
        return False
    return all(values) and not any(c in joined for c in TEXT_SPECIAL)


def as_text(kind: type, values: list[Any]) -> list[str]:
    """One column's values as COPY text (times are already integers)."""
    if kind is str:
        return values
    if kind is bool:
        return ["t" if v else "f" for v in values]
    return list(map(str, values))  # ints, floats (str is repr), Decimals, dates (ISO 8601)


def copy_data(table: str, rows: Rows, types: dict[str, type]) -> tuple[str, str]:
    """The COPY statement and its data: text format when no escaping is needed (the usual case), else CSV."""
    columns = [as_text(kind, rows.columns[name]) for name, kind in types.items()]
    target = quoted("stage_" + table)
    if all(plain_text(c) for c, kind in zip(columns, types.values(), strict=True) if kind is str):
        lines = map("\t".join, zip(*columns, strict=True))
        return f"COPY {target} FROM STDIN", "\n".join(lines) + "\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(zip(*columns, strict=True))
    return f"COPY {target} FROM STDIN WITH (FORMAT csv)", buffer.getvalue()


def table_copy(name: str, rows: Rows, jobs: set[Any]) -> tuple[str, str] | None:
    """The COPY of an output table's rows of `jobs`, combined per table key (None when there are none)."""
    combined = combine(name, rows, jobs)
    return copy_data(name, combined, types_of(OUTPUTS[name].row)) if len(combined) else None


def merge_some(cur: psycopg2.extensions.cursor, batch: Batch, new: set[Any]) -> None:
    """In SAVE's transaction, when some jobs were stored before: merge the outputs of the `new` jobs only."""
    for name, rows in batch.tables.items():
        cur.execute(f"DELETE FROM {quoted('stage_' + name)}")
        copy = table_copy(name, rows, new)
        if copy is not None:
            cur.copy_expert(copy[0], io.StringIO(copy[1]))
            cur.execute(MERGE[name])


class Store:
    """One PostgreSQL connection, opened on first use and again after it drops."""

    def __init__(self, config: Config, application_name: str = "worker") -> None:
        self.dsn = config.database_url
        self.application_name = application_name[:63]
        self.conn: psycopg2.extensions.connection | None = None

    def connect(self) -> psycopg2.extensions.connection:
        if self.conn is None or self.conn.closed:
            conn = psycopg2.connect(
                self.dsn,
                connect_timeout=5,
                application_name=self.application_name,
                keepalives=1,
                keepalives_idle=20,
                keepalives_interval=5,
                keepalives_count=3,
            )
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = '60s'")
                for stage in STAGES:
                    cur.execute(stage)
            conn.commit()
            self.conn = conn
        return self.conn

    def migrate(self) -> list[str]:
        """Apply the pending migrations (release phase); safe twice and concurrently (see migrator.py)."""
        try:
            conn = self.connect()
        except psycopg2.Error as exc:
            raise MigrationFailed(f"cannot connect: {' '.join(str(exc).split())}") from exc
        return migrator.migrate(conn)

    def check_schema(self) -> None:
        """Raise SchemaNotReady naming the first shipped migration this database has not applied."""
        pending = migrator.missing(self.connect())
        if pending:
            more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
            raise SchemaNotReady(
                f"the database lacks migration {pending[0]}{more}: run `python -m {__package__} migrate` "
                "(the release phase does this on Heroku); workers never change the schema"
            )

    def encode(self, batch: Batch) -> Batch:
        """The batch with its COPY data: the job rows, and each output table's rows combined per key."""
        if batch.encoded is not None:
            return batch
        jobs = set(batch.rows.keys)  # a job that transform dropped from the rows feeds no table
        tables = [table_copy(name, rows, jobs) for name, rows in batch.tables.items()]
        copies = [copy_data(JOB_TABLE, batch.rows, STORED), *(copy for copy in tables if copy is not None)]
        return replace(batch, encoded=tuple(copies))

    def save(self, batch: Batch) -> int:
        """Store the rows and their output tables in one transaction; returns how many job rows were new."""
        if not len(batch):
            return 0
        copies = self.encode(batch).encoded
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                for statement, data in copies:
                    cur.copy_expert(statement, io.StringIO(data))
                cur.execute(SAVE)
                inserted, keys = cur.fetchone() or (0, None)
                if keys is not None:  # some jobs were stored before: merge the outputs of the new ones only
                    merge_some(cur, batch, set(keys))
            conn.commit()
        except BaseException:
            self.reset()
            raise
        return int(inserted)

    def reset(self) -> None:
        """Roll back, or drop the connection when it is broken (the next call reconnects)."""
        if self.conn is None:
            return
        try:
            if self.conn.closed:
                self.conn = None
            else:
                self.conn.rollback()
        except psycopg2.Error:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg2.Error):
                self.conn.close()
            self.conn = None

    def diagnose(self, exc: BaseException) -> Diagnosis:
        return diagnose(exc)


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


def diagnose(exc: BaseException) -> Diagnosis:
    """A PostgreSQL error's meaning, by SQLSTATE (`exc.pgcode`); a connection error without one: systemic."""
    if not isinstance(exc, psycopg2.Error):
        return Diagnosis(Fault.UNKNOWN, "unexpected_error")
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
