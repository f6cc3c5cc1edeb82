"""Redis and PostgreSQL for the template's own tests, found or started, never faked and never skipped.

For each service: the URL in the environment (REDIS_URL / DATABASE_URL) when set; else the default local port
when something listens there; else a throwaway server started for the test session (`redis-server`;
PostgreSQL's `initdb` + `pg_ctl`, run as the postgres user when we are root, since they refuse root); else the
test fails with a message that says what to install or set. (Baked projects carry the same policy in their own
tests/conftest.py, which can use redis-py and psycopg2; this module needs only the standard library and psql.)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class ServiceUnavailable(RuntimeError):
    """Neither a URL, nor a local server, nor the means to start one: the message says what to do."""


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not listening(port):
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"{what} did not start listening on 127.0.0.1:{port} within {seconds} s")
        time.sleep(0.1)


def pg_binary(name: str) -> str | None:
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


class Services:
    """The session's Redis and PostgreSQL, and any throwaway server started for them."""

    def __init__(
        self, environ: dict[str, str] | None = None, redis_port: int = 6379, postgres_port: int = 5432
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._default_ports = {"redis": redis_port, "postgres": postgres_port}
        self._cleanup: list[list[str]] = []
        self._dirs: list[Path] = []
        self._databases: list[str] = []
        self.redis_url = self._redis()
        self.postgres_url = self._postgres()

    def _redis(self) -> str:
        if self._environ.get("REDIS_URL"):
            return self._environ["REDIS_URL"]
        if listening(self._default_ports["redis"]):
            return f"redis://127.0.0.1:{self._default_ports['redis']}/0"
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable(
                "No Redis: set REDIS_URL, run Redis on 127.0.0.1:6379, or install redis-server so a throwaway "
                "one can be started"
            )
        port = free_port()
        subprocess.run(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize",
             "yes", "--pidfile", str(Path(tempfile.gettempdir()) / f"heroku-worker-tests-redis-{port}.pid")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(port, "redis-server")
        self._cleanup.append([shutil.which("redis-cli") or "redis-cli", "-p", str(port), "shutdown", "nosave"])
        return f"redis://127.0.0.1:{port}/0"

    def _postgres(self) -> str:
        if self._environ.get("DATABASE_URL"):
            return self._environ["DATABASE_URL"]
        if listening(self._default_ports["postgres"]):
            return f"postgresql://postgres@127.0.0.1:{self._default_ports['postgres']}/postgres"
        initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise ServiceUnavailable(
                "No PostgreSQL: set DATABASE_URL, run PostgreSQL on 127.0.0.1:5432, or install it so that "
                "initdb and pg_ctl exist for a throwaway cluster"
            )
        directory = Path(tempfile.mkdtemp(prefix="heroku-worker-tests-pg-"))
        self._dirs.append(directory)
        as_postgres = (
            [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        )
        if as_postgres:
            shutil.chown(directory, "postgres")
        port = free_port()
        data = directory / "data"
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
        subprocess.run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"], **quiet)
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-w", "-l", str(directory / "log"), "-o", options,
                        "start"], **quiet)  # fmt: skip
        self._cleanup.append([*as_postgres, pg_ctl, "-D", str(data), "-w", "-m", "immediate", "stop"])
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def psql(self, sql: str) -> None:
        psql = pg_binary("psql")
        if psql is None:
            raise ServiceUnavailable("psql is needed to create test databases: install the PostgreSQL client")
        subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", self.postgres_url, "-c", sql], check=True)

    def create_database(self) -> str:
        """A new, empty database for one test; its URL. Dropped when the session ends."""
        name = f"hw_template_{uuid.uuid4().hex[:12]}"
        self.psql(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        parts = urlsplit(self.postgres_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def close(self) -> None:
        for name in self._databases:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for command in self._cleanup:
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for directory in self._dirs:
            shutil.rmtree(directory, ignore_errors=True)
