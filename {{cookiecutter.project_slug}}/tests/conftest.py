"""Real services for the tests: Redis (and PostgreSQL), found or started, isolated per test run and per test.

Discovery, for each service: the URL in the environment (REDIS_URL / DATABASE_URL) when set (it must answer);
else the default local port when something listens there; else a throwaway server started for the session
(`redis-server`; PostgreSQL's `initdb`/`pg_ctl`); else the test fails and says what to install. Never a skip.
Each test gets its own queue name (Redis key prefix){% if cookiecutter.use_postgres %} and its own PostgreSQL schema, inside a database
created for this test run{% endif %}, so several test runs can share one server.
"""

from __future__ import annotations

import contextlib
{%- if cookiecutter.use_postgres %}
import glob
{%- endif %}
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator{% if cookiecutter.use_postgres %}, Mapping{% endif %}
from pathlib import Path
from typing import Any
{%- if cookiecutter.use_postgres %}
from urllib.parse import quote, urlsplit, urlunsplit
{%- endif %}

import pytest
import redis

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # the package is not installed: it is imported from the project folder
    sys.path.insert(0, str(PROJECT))
# (below the path: these import the package)
from eventgen import Stored, canon, canon_table  # noqa: E402

from {{ cookiecutter.__package_name }}.schema import JOB_TABLE, KEY, OUTPUTS, STORED  # noqa: E402

PACKAGE = "{{ cookiecutter.__package_name }}"
USE_POSTGRES = {{ "True" if cookiecutter.use_postgres else "False" }}

# Short timings so crash recovery and retries happen within a test's time.
FAST = {
    "HEARTBEAT_SECONDS": "0.15",
    "CLAIM_IDLE_SECONDS": "0.6",
    "POLL_TIMEOUT_MS": "100",
    "RETRY_BASE_SECONDS": "0.05",
    "RETRY_MAX_SECONDS": "0.2",
    "MAX_DELIVERIES": "3",
    "BATCH_SIZE": "500",
    "SHUTDOWN_TIMEOUT_SECONDS": "10",
    "LOG_LEVEL": "info",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "") -> Any:
    """Poll until condition() is truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


# --- throwaway servers --------------------------------------------------------------------------------------


class RedisServer:
    """A `redis-server` of our own, with an append-only file so a restart keeps the queue."""

    def __init__(self, directory: Path, port: int | None = None, *options: str) -> None:
        self.options = list(options)  # e.g. "--maxmemory", "4mb", "--maxmemory-policy", "noeviction"
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.fail(
                "No Redis: set REDIS_URL, run Redis on 127.0.0.1:6379, or install redis-server "
                "(apt install redis-server / brew install redis)"
            )
        self.directory = directory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), 10, what=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # redis-server flushes its append-only file and exits
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, down_for: float = 0.5) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False

{%- if cookiecutter.use_postgres %}


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
{%- endif %}


# --- session fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="worker-tests-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(servers_dir: Path) -> Iterator[str]:
    """REDIS_URL, else 127.0.0.1:6379, else a throwaway redis-server."""
    url = os.environ.get("REDIS_URL")
    if url:
        options = {"ssl_cert_reqs": "none"} if url.startswith("rediss://") else {}
        if not _pings(redis.Redis.from_url(url, **options)):
            pytest.fail("REDIS_URL is set but Redis does not answer there; unset it or start Redis")
        yield url
    elif listening(6379):
        yield "redis://127.0.0.1:6379/0"
    else:
        server = RedisServer(servers_dir / "redis").start()
        yield server.url
        server.stop()

{%- if cookiecutter.use_postgres %}


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
{%- endif %}


# --- per-test fixtures --------------------------------------------------------------------------------------


class Services:
    """What one test runs against: its environment for worker processes, and readers of the results."""

    def __init__(self, redis_url: str, queue_name: str, database_url: str = "") -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url)
        self.env = dict(os.environ, REDIS_URL=redis_url, QUEUE_NAME=queue_name, **FAST)
        self.env.pop("DYNO", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def config(self, **overrides: str) -> Any:
        from {{ cookiecutter.__package_name }} import config

        return config.load({**self.env, **overrides})

    # --- processes ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def worker_thread(self, **env: str) -> Iterator[Any]:
        """A Worker running in this process (no interpreter start-up), stopped as SIGTERM would stop it."""
        from {{ cookiecutter.__package_name }}.cli import build_worker

        worker = build_worker(self.config(**env), install_signals=False)
        thread = threading.Thread(target=worker.run, name="worker-under-test", daemon=True)
        thread.start()
        try:
            yield worker
        finally:
            worker.shutdown.requested.set()
            thread.join(30)
            assert not thread.is_alive(), "the worker did not stop"

    def cli(
        self, *args: str, input: bytes | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", PACKAGE, *args],
            input=input.decode() if input is not None else None,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT,
        )

    def start_worker(self, argv: list[str] | None = None, **env: str) -> subprocess.Popen[bytes]:
        """The Procfile's `worker:` command (python replaced by this interpreter), stdout to a log file."""
        command = argv or procfile_command("worker")
        log = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT
            )
        proc.log = log  # type: ignore[attr-defined]
        self.workers.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.unlink(missing_ok=True)

    # --- queue and results --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from {{ cookiecutter.__package_name }}.queue_operator import Operator
        from {{ cookiecutter.__package_name }}.queue_protocol import Limits

        return Operator(self.redis, self.queue_name, Limits.of(self.config())).status()

    def producer(self) -> Any:
        """A producer on this test's queue (with its settings' limits): for jobs `enqueue` would refuse."""
        from {{ cookiecutter.__package_name }}.queue_producer import Producer
        from {{ cookiecutter.__package_name }}.queue_protocol import Limits

        return Producer(self.redis, self.queue_name, Limits.of(self.config()))

    def drained(self, dead: int | None = 0) -> bool:
        """Nothing queued, in flight or waiting to retry, and exactly `dead` dead letters (None: any)."""
        s = self.status()
        settled = s["queued"] == 0 and s["in_flight"] == 0 and s["retrying"] == 0
        return settled and (dead is None or s["dead"] == dead)
{%- if cookiecutter.use_postgres %}

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

    def stored(self) -> Stored:
        """The job keys and every output table, as eventgen.expected gives them."""
        from {{ cookiecutter.__package_name }}.schema import types_of

        tables = {}
        for name, table in OUTPUTS.items():
            columns = list(types_of(table.row))
            names = ", ".join(f'"{c}"' for c in columns)
            rows = self.query(f'SELECT {names} FROM "{name}"')
            tables[name] = canon_table(name, [dict(zip(columns, row, strict=True)) for row in rows])
        return Stored(sorted(self.stored_keys()), tables)
{%- else %}

    def stored_keys(self) -> list[Any]:
        """Every stored job key (a hash: a key can only be there once)."""
        keys = self.redis.hkeys("{" + self.queue_name + "}:" + JOB_TABLE)
        return [canon(STORED[KEY], key.decode()) for key in keys]

    def stored(self) -> Stored:
        """The job keys and every output table, as eventgen.expected gives them."""
        from {{ cookiecutter.__package_name }}.store import Store

        store = Store(self.config())
        try:
            tables = {}
            for name, table in OUTPUTS.items():
                rows = []
                for joined, values in store.table(name).items():
                    key = joined.split("|") if len(table.key) > 1 else [joined]
                    rows.append({**dict(zip(table.key, key, strict=True)), **values})
                tables[name] = canon_table(name, rows)
        finally:
            store.close()
        return Stored(sorted(self.stored_keys()), tables)
{%- endif %}

    def cleanup(self) -> None:
        self.stop_all()
        keys = list(self.redis.scan_iter(match="{" + self.queue_name + "}:*", count=1000))
        if keys:
            self.redis.delete(*keys)
        self.redis.close()


def procfile_command(process: str) -> list[str]:
    """The Procfile's command for `process`, run with this interpreter."""
    for line in (PROJECT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            argv = shlex.split(command)
            return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]
    raise AssertionError(f"no {process}: line in the Procfile")


@pytest.fixture
def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"

{%- if cookiecutter.use_postgres %}


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
def services(redis_url: str, queue_name: str, database_url: str) -> Iterator[Services]:
    s = Services(redis_url, queue_name, database_url)
    s.cli("migrate").check_returncode()
    yield s
    s.cleanup()
{%- else %}


@pytest.fixture
def services(redis_url: str, queue_name: str) -> Iterator[Services]:
    s = Services(redis_url, queue_name)
    yield s
    s.cleanup()
{%- endif %}
