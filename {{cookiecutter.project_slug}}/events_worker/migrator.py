"""Versioned schema migrations for PostgreSQL: `migrations/NNNN_name.sql`, applied in order, each once.

Each pending file runs in its own transaction that first takes `pg_advisory_xact_lock`, then re-reads
`schema_migrations` (so of two releases racing, the second finds the work done and skips it), applies the
file and records its name and checksum. A failing file rolls back alone: the ones before it stay applied,
the release command exits non-zero naming it, and Heroku keeps the previous release running. The lock is
the server's: a killed release leaves nothing to clean up. Workers only read `schema_migrations`
(`missing`): they never run DDL.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from .contract import MigrationFailed

FOLDER = Path(__file__).with_name("migrations")
LOCK = 0x6576_656E_7473  # pg_advisory_xact_lock key: one migration at a time per database
LOCK_TIMEOUT = "5s"  # how long one migration statement may wait for a table lock before it tries again
LOCK_TRIES = 12  # tries per migration (with 0.5-5 s between them) before the release fails, naming it
TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def shipped() -> list[Migration]:
    """The migrations this code ships, in the order of their names (0001_…, 0002_…)."""
    return [Migration(path.name, path.read_text(encoding="utf-8")) for path in sorted(FOLDER.glob("*.sql"))]


def applied(conn: psycopg2.extensions.connection) -> dict[str, str]:
    """name -> checksum of the migrations recorded in this database ({} when none ever ran)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = cur.fetchone()
        if not (row and row[0]):
            return {}
        cur.execute("SELECT name, checksum FROM schema_migrations")
        return {str(name): str(checksum) for name, checksum in cur.fetchall()}


def missing(conn: psycopg2.extensions.connection) -> list[str]:
    """The shipped migrations this database has not applied (a read; takes no lock)."""
    try:
        done = applied(conn)
    finally:
        conn.rollback()  # end the read transaction: hold no snapshot while idle
    return [m.name for m in shipped() if m.name not in done]


def migrate(conn: psycopg2.extensions.connection) -> list[str]:
    """Apply every pending migration, each in its own locked transaction; return the names applied.

    Waiting for another release's `migrate` has no time limit (statement_timeout 0 before the advisory lock):
    the second one waits, then finds the work done. Each migration's own statements run with LOCK_TIMEOUT: a
    statement that would queue behind a reader's lock (and make every worker insert queue behind it) gives
    up and the migration is tried again, up to LOCK_TRIES times, so the workers' writes never stall for long.
    """
    done: list[str] = []
    for migration in shipped():
        for attempt in range(1, LOCK_TRIES + 1):
            try:
                if _apply(conn, migration):
                    done.append(migration.name)
                break
            except psycopg2.errors.LockNotAvailable as exc:
                if attempt == LOCK_TRIES:
                    raise MigrationFailed(
                        f"migration {migration.name} could not take its locks in {LOCK_TRIES} tries of "
                        f"{LOCK_TIMEOUT}: {' '.join(str(exc).split())}; another session holds them"
                    ) from exc
                time.sleep(min(2.0**attempt / 4, 5.0))
            except psycopg2.Error as exc:
                reason = " ".join(str(exc).split())
                message = f"migration {migration.name} failed and was rolled back: {reason}"
                raise MigrationFailed(message) from exc
    return done


def _apply(conn: psycopg2.extensions.connection, migration: Migration) -> bool:
    """One migration in its own transaction, after the advisory lock; False when it was applied already."""
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL statement_timeout = 0")  # the lock wait and a long backfill: no time limit
        cur.execute("SET LOCAL lock_timeout = 0")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        cur.execute(TABLE)
        cur.execute("SELECT checksum FROM schema_migrations WHERE name = %s", (migration.name,))
        row = cur.fetchone()
        if row is not None:
            if row[0] != migration.checksum:
                raise MigrationFailed(
                    f"{migration.name} was edited after it was applied; undo the edit and add a new "
                    "migration file instead"
                )
            return False
        cur.execute("SET LOCAL lock_timeout = %s", (LOCK_TIMEOUT,))
        cur.execute(migration.sql)
        record = "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)"
        cur.execute(record, (migration.name, migration.checksum))
        return True
