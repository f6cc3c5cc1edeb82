"""The tests' side of the PostgreSQL store: its server, a database per test run and a schema per test.

The one test module that knows which store was baked, as store.py is in the package (a Redis-only bake has
the Redis store's twin under this name). conftest.py loads it as a plugin (its fixtures).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from conftest import Services, free_port, listening
from eventgen import Stored, canon, canon_table

from events_worker.schema import JOB_TABLE, KEY, OUTPUTS, STORED


def _pg_bin(name: str) -> str:
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = shutil.which(name) or next(iter(installed), None)
    if found is None:
        pytest.fail(
            f"No PostgreSQL: set DATABASE_URL, run PostgreSQL on 127.0.0.1:5432, or install it so that "
            f"{name} exists (apt install postgresql / brew install postgresql)"
        )
    return found


class PostgresServer:
    """A PostgreSQL cluster of our own (initdb + pg_ctl), trust auth, on its own port."""

    def __init__(self, port: int | None = None) -> None:
        # its own top-level temp dir: when we are root, the postgres user must be able to reach it
        self.directory = Path(tempfile.mkdtemp(prefix="worker-tests-pg-"))
        self.port = port or free_port()
        self.user = "postgres"
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
        self.data = self.directory / "data"

    def _run(self, *argv: str) -> None:
        command = list(argv)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"  # /usr/sbin is off a plain PATH
            command = [runuser, "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> PostgresServer:
        if not self.data.exists():
            if os.geteuid() == 0:
                shutil.chown(self.directory, "postgres")
            self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "--no-sync")
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.directory / "log"),
            "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on",
            "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def restart(self, down_for: float = 0.5) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def _pg_ok(url: str) -> str | None:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return " ".join(str(exc).split())
    return None


def as_role(url: str, role: str, password: str) -> str:
    """url logging in as another role."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{role}:{password}@{host}", parts.path, parts.query, ""))


def schema_of(url: str) -> str:
    """The schema a with_database() URL selects."""
    return url.rsplit("search_path%3D", 1)[1].split("&")[0]


def with_database(url: str, database: str, schema: str | None = None) -> str:
    """url with another database (and a search_path), its other parameters (sslmode …) kept."""
    parts = urlsplit(url)
    query = [p for p in parts.query.split("&") if p and not p.startswith("options=")]
    if schema:
        query.append(f"options={quote(f'-csearch_path={schema}')}")
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "&".join(query), ""))


# --- session fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_url(servers_dir: Path) -> Iterator[str]:
    """DATABASE_URL, else postgres@127.0.0.1:5432 (or the current user), else a throwaway cluster."""
    url = os.environ.get("DATABASE_URL")
    server = None
    if url:
        problem = _pg_ok(url)
        if problem:
            pytest.fail(f"DATABASE_URL is set but PostgreSQL refuses it: {problem}")
    elif listening(5432):
        candidates = ["postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://127.0.0.1:5432/postgres"]
        url = next((c for c in candidates if _pg_ok(c) is None), None)
        if url is None:
            pytest.fail(
                "PostgreSQL listens on 127.0.0.1:5432 but refuses the user postgres and the current user; "
                "set DATABASE_URL to a URL that may create databases"
            )
    else:
        server = PostgresServer().start()
        url = server.url
    yield url
    if server is not None:
        server.remove()


@contextlib.contextmanager
def run_database(env: Mapping[str, str], admin_url: Callable[[], str]) -> Iterator[str]:
    """The database this test run works in; each test then gets a schema of its own inside it.

    TEST_DATABASE_URL set: that existing database, nothing created but schemas (for a CI user without
    CREATE DATABASE). Otherwise a new database named TEST_DATABASE_PREFIX + 12 hex digits (default prefix
    worker_test_), created through the admin URL and dropped at the end.
    """
    import psycopg2

    existing = env.get("TEST_DATABASE_URL")
    if existing:
        problem = _pg_ok(existing)
        if problem:
            pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL refuses it: {problem}")
        yield existing
        return
    prefix = env.get("TEST_DATABASE_PREFIX") or "worker_test_"
    if not prefix.replace("_", "a").isalnum() or not prefix[0].isalpha() or len(prefix) > 40:
        pytest.fail(f"TEST_DATABASE_PREFIX={prefix!r}: letters, digits and _ (a letter first, 40 at most)")
    name = f"{prefix.lower()}{uuid.uuid4().hex[:12]}"
    url = admin_url()
    admin = psycopg2.connect(url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield with_database(url, name)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture(scope="session")
def test_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """See run_database: TEST_DATABASE_URL, or a database of this run's own (TEST_DATABASE_PREFIX)."""
    with run_database(os.environ, lambda: str(request.getfixturevalue("pg_admin_url"))) as url:
        yield url


# --- per test -----------------------------------------------------------------------------------------------


class StoreServices(Services):
    """Services with the results in PostgreSQL: read with SQL, and statements run as the test's owner."""

    results_in_redis = False  # the results are in PostgreSQL

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg2

        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
        conn.close()
        return rows

    def execute(self, *statements: str, url: str = "") -> None:
        """Run statements in the test's database, autocommit (ALTER DATABASE, GRANT, pg_terminate_backend)."""
        import psycopg2

        conn = psycopg2.connect(url or self.database_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SET default_transaction_read_only = off")  # the test may have set it on
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def stored_keys(self) -> list[Any]:
        """Every stored job key, once per row (duplicates would show)."""
        return [canon(STORED[KEY], row[0]) for row in self.query(f'SELECT "{KEY}" FROM "{JOB_TABLE}"')]

    def create_table(self, ddl: str) -> None:
        self.execute(ddl)

    def read_table(self, name: str, key: str, columns: list[str]) -> dict[Any, tuple[Any, ...]]:
        names = ", ".join(f'"{c}"' for c in [key, *columns])
        return {row[0]: tuple(row[1:]) for row in self.query(f'SELECT {names} FROM "{name}"')}

    def stored(self) -> Stored:
        """The job keys and every output table, as eventgen.expected gives them."""
        from events_worker.schema import types_of

        tables = {}
        for name, table in OUTPUTS.items():
            columns = list(types_of(table.row))
            names = ", ".join(f'"{c}"' for c in columns)
            rows = self.query(f'SELECT {names} FROM "{name}"')
            tables[name] = canon_table(name, [dict(zip(columns, row, strict=True)) for row in rows])
        return Stored(sorted(self.stored_keys()), tables)


@pytest.fixture
def database_url(test_database: str) -> Iterator[str]:
    """A fresh schema in this run's database, dropped after the test; the URL selects it with search_path."""
    import psycopg2

    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg2.connect(test_database) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    conn.close()
    yield with_database(test_database, urlsplit(test_database).path.lstrip("/"), schema)
    conn = psycopg2.connect(test_database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()


@pytest.fixture
def services(redis_url: str, queue_name: str, database_url: str) -> Iterator[StoreServices]:
    s = StoreServices(redis_url, queue_name, database_url)
    s.cli("migrate").check_returncode()
    yield s
    s.cleanup()
