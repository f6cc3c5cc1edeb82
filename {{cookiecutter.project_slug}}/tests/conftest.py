"""Real services for the tests: Redis here, the store's own in store_support.py; found or started, isolated
per test run and per test.

Discovery, for each service: the URL in the environment (REDIS_URL / DATABASE_URL) when set (it must answer);
else the default local port when something listens there; else a throwaway server started for the session
(`redis-server`; PostgreSQL's `initdb`/`pg_ctl`); else the test fails and says what to install. Never a skip.
Each test gets its own queue name (Redis key prefix), and with PostgreSQL its own schema, inside a database
created for this test run, so several test runs can share one server.

The store's side (`Services.stored`, the `services` fixture) is in store_support.py, the one test module that
knows which store was baked, as store.py is in the package.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis
from eventgen import Stored

PROJECT = Path(__file__).resolve().parent.parent  # on sys.path by pyproject.toml's pytest `pythonpath`

PACKAGE = "events_worker"
pytest_plugins = ["store_support"]  # the baked store's fixtures: `services` and what it needs

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


# --- per-test fixtures --------------------------------------------------------------------------------------


class WorkerProcess(subprocess.Popen[bytes]):
    """A worker process whose stdout and stderr go to the file `log`."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            super().__init__(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT)

    def logged(self, text: str) -> bool:
        """Whether the log holds `text` yet."""
        return text in self.log.read_text()


class Services:
    """What one test runs against: its environment for worker processes, and readers of the results."""

    results_in_redis: bool  # the store's answer: are the results in the queue's Redis (full when it is)?

    def __init__(self, redis_url: str, queue_name: str, database_url: str = "") -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url)
        self.env = dict(os.environ, REDIS_URL=redis_url, QUEUE_NAME=queue_name, **FAST)
        self.env["PYTHONPATH"] = str(PROJECT)  # as on a dyno (PYTHONPATH=/app): scripts import the package
        self.env.pop("DYNO", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.workers: list[WorkerProcess] = []
        self.logs: list[Path] = []

    def config(self, **overrides: str) -> Any:
        from events_worker import config

        return config.load({**self.env, **overrides})

    # --- processes ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def worker_thread(self, **env: str) -> Iterator[Any]:
        """A Worker running in this process (no interpreter start-up), stopped as SIGTERM would stop it."""
        from events_worker.cli import build_worker

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
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float = 60,
        env: Mapping[str, str] | None = None,
        **variables: str,
    ) -> subprocess.CompletedProcess[str]:
        """The CLI in a process, its environment the test's, then `env`, then `variables` (NAME="value")."""
        return subprocess.run(
            [sys.executable, "-m", PACKAGE, *args],
            input=input.decode() if input is not None else None,
            env={**self.env, **(env or {}), **variables},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT,
        )

    def start_worker(
        self, argv: list[str] | None = None, env: Mapping[str, str] | None = None, **variables: str
    ) -> WorkerProcess:
        """The Procfile's `worker:` command (python replaced by this interpreter), stdout to a log file.

        Its environment is the test's, then `env`, then `variables` (NAME="value")."""
        command = argv or procfile_command("worker")
        log = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])
        self.logs.append(log)
        proc = WorkerProcess(command, {**self.env, **(env or {}), **variables}, log)
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
        from events_worker.queue_operator import Operator
        from events_worker.queue_protocol import Limits

        return Operator(self.redis, self.queue_name, Limits.of(self.config())).status()

    def producer(self) -> Any:
        """A producer on this test's queue (with its settings' limits): for jobs `enqueue` would refuse."""
        from events_worker.queue_producer import Producer
        from events_worker.queue_protocol import Limits

        return Producer(self.redis, self.queue_name, Limits.of(self.config()))

    def drained(self, dead: int | None = 0) -> bool:
        """Nothing queued, in flight or waiting to retry, and exactly `dead` dead letters (None: any)."""
        s = self.status()
        settled = s["queued"] == 0 and s["in_flight"] == 0 and s["retrying"] == 0
        return settled and (dead is None or s["dead"] == dead)

    # --- the store's side: store_support.py, the one test module that knows the baked store ----------------

    def stored_keys(self) -> list[Any]:
        """Every stored job key, once per row (duplicates would show)."""
        raise NotImplementedError

    def stored(self) -> Stored:
        """The job keys and every output table, as eventgen.expected gives them."""
        raise NotImplementedError

    def create_table(self, ddl: str) -> None:
        """A table a test's own schema declares (PostgreSQL runs the DDL; Redis needs none)."""
        raise NotImplementedError

    def read_table(self, name: str, key: str, columns: list[str]) -> dict[Any, tuple[Any, ...]]:
        """Any table as stored, even one the test process has not declared: {key: column values}."""
        raise NotImplementedError

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
