"""`heroku local worker`, for real: a Procfile runner starts the Procfile's worker process.

Two runners: honcho (Python, in requirements-dev.txt) for both result stores, and the Heroku CLI's own
`heroku local` (installed from the npm registry into a cache folder on first use) for the default answers.
The Redis-only run goes through TLS with a self-signed certificate, as Heroku's Redis does (`rediss://`).

The baked project gets its own environment from its requirements.txt (plus honcho), a `.env` made from
`.env.example` pointing at its own queue and database, and then, as a team would: `honcho run ... migrate`,
`honcho start worker`, `honcho run ... enqueue -`, `honcho run ... status --json`, Ctrl-C. The jobs must end
up stored, a malformed one dead-lettered, and the worker must stop cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from .conftest import CONTEXT
from .pythons import find_python

pytestmark = [pytest.mark.network, pytest.mark.xdist_group("local-run")]

JOBS = 300
VARIANTS = {
    "postgres": {},
    "redis-only": {"use_postgres": False, "use_pandas": False, "release_phase": False},
}
HEROKU_CLI = "heroku@11.10.0"

# Run in the baked project's environment (redis and psycopg2 are there, not in the template's test env).
ADMIN = r"""
import json, sys
import redis
action, redis_url, queue, database_url = sys.argv[1:5]
r = redis.Redis.from_url(redis_url)
prefix = "{" + queue + "}:"
if action == "count":
    if database_url:
        import psycopg2
        with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM events")
            events = cur.fetchone()[0]
            cur.execute("SELECT coalesce(sum(event_count), 0) FROM account_totals")
            counted = int(cur.fetchone()[0])
    else:
        events = r.hlen(prefix + "events")
        counted = sum(int(v) for v in r.hvals(prefix + "account_totals:event_count"))
    print(json.dumps({"events": events, "counted": counted}))
elif action == "create-db" or action == "drop-db":
    import psycopg2
    admin_url, name = database_url.rsplit("/", 1)[0] + "/postgres", database_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        verb = "CREATE DATABASE " if action == "create-db" else "DROP DATABASE IF EXISTS "
        cur.execute(verb + '"' + name + '"')
    conn.close()
elif action == "foreign-job":  # a producer that skips `enqueue` and its validation
    r.xadd(prefix + "stream", {"j": "this is not JSON"})
elif action == "cleanup":
    for key in r.scan_iter(match=prefix.replace("{", "\\{").replace("}", "\\}") + "*"):
        r.delete(key)
"""


def interpreter() -> tuple[str, str]:
    """The newest offered X.Y with a working interpreter here (pyenv, uv, PATH or system), and its path."""
    for version in ("3.13", "3.12", "3.11", "3.14"):
        path = find_python(version) if version in CONTEXT["python_version"] else None
        if path:
            return version, path
    raise AssertionError("no Python 3.11-3.14 found (pyenv, uv, PATH, /usr/bin): the local run needs one")


def read_dotenv(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def job(i: int) -> str:
    return json.dumps(
        {"id": f"e-{i}", "account": f"acct-{i % 7}", "amount": i / 4, "occurred_at": "2026-01-01T00:00:00Z"}
    )


def heroku_cli() -> str:
    """The Heroku CLI from the npm registry, installed once per version into the user's cache folder."""
    prefix = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "heroku-worker-tests" / HEROKU_CLI
    binary = prefix / "node_modules" / ".bin" / "heroku"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "`heroku local` needs Node.js and npm (the Heroku CLI installs from the npm registry)"
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", HEROKU_CLI],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    return str(binary)


@contextlib.contextmanager
def tls_front(redis_url: str, workdir: Path) -> Iterator[str]:
    """A TLS endpoint with a fresh self-signed certificate in front of a plain Redis: what Heroku's Redis presents.

    Yields the rediss:// URL to use instead of redis_url.
    """
    cert, key = workdir / "redis-cert.pem", workdir / "redis-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=redis-tls-test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    target = urlsplit(redis_url)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target.hostname, target.port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0, ssl=context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = server.sockets[0].getsockname()[1]
    try:
        yield urlunsplit(("rediss", f"127.0.0.1:{port}", target.path, target.query, ""))
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("variant", "runner", "tls"),
    [("postgres", "honcho", False), ("redis-only", "honcho", True), ("postgres", "heroku-local", False)],
)
def test_procfile_worker_runs_locally(
    bake: Any, request: pytest.FixtureRequest, variant: str, runner: str, tls: bool
) -> None:
    answers = VARIANTS[variant]
    python, python_path = interpreter()
    project = bake(python_version=python, **answers)
    package = project.name.replace("-", "_")
    use_postgres = answers.get("use_postgres", True)

    # The team's setup: a virtualenv from requirements.txt, honcho, and .env from .env.example.
    venv = project / ".venv"
    uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(["uv", "venv", "-q", "--python", python_path, str(venv)], check=True, env=uv_env)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
         "-r", "requirements.txt", "honcho"],
        cwd=project, check=True, env=uv_env,
    )  # fmt: skip
    dotenv = read_dotenv(project / ".env.example")
    tag = uuid.uuid4().hex[:10]
    dotenv["QUEUE_NAME"] = f"local-run-{tag}"
    direct_redis_url = os.environ.get("REDIS_URL", dotenv["REDIS_URL"])
    dotenv["REDIS_URL"] = direct_redis_url
    if tls:
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)
        dotenv["REDIS_URL"] = stack.enter_context(tls_front(direct_redis_url, project.parent))
        assert dotenv["REDIS_SSL_CERT_REQS"] == "none"  # the default accepts Heroku's self-signed certificate
    dotenv["POLL_TIMEOUT_MS"] = "200"
    dotenv["BATCH_SIZE"] = "64"
    if use_postgres:
        dotenv["DATABASE_URL"] = with_database(
            os.environ.get("DATABASE_URL", dotenv["DATABASE_URL"]), f"local_run_{tag}"
        )
    # `cp .env.example .env`, then this run's own values: the comments stay, as the runners must read them.
    lines = (project / ".env.example").read_text().splitlines()
    (project / ".env").write_text(
        "".join((f"{n}={dotenv[n]}" if (n := line.split("=", 1)[0]) in dotenv else line) + "\n" for line in lines)
    )

    # .env decides, as with `heroku local`: nothing inherited may override it.
    env = {k: v for k, v in os.environ.items() if k not in dotenv and k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"

    def honcho_run(*args: str, stdin: str | None = None, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["honcho", "run", "python", "-m", package, *args],
            cwd=project, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == code, f"honcho run ... {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def admin(action: str) -> str:
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-c", ADMIN, action, direct_redis_url, dotenv["QUEUE_NAME"],
             dotenv.get("DATABASE_URL", "")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{action}: {result.stderr}"
        return result.stdout

    log = project / "honcho.log"
    worker = None
    try:
        if use_postgres:
            admin("create-db")
            honcho_run("migrate")  # what the release phase runs on Heroku
        start = ["honcho", "start", "worker"] if runner == "honcho" else [heroku_cli(), "local", "worker"]
        with log.open("w") as out:
            worker = subprocess.Popen(
                start, cwd=project, env={**env, "HEROKU_SKIP_ANALYTICS": "1"}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        # enqueue refuses what can never succeed, says which line and why, queues the rest, and exits 1.
        lines = [job(i) for i in range(JOBS)] + ['{"id": "bad", "account": "acct-0", "amount": "NaN?"}']
        enqueued = honcho_run("enqueue", "-", stdin="\n".join(lines) + "\n", code=1).stdout
        assert f"line={JOBS + 1}" in enqueued and f"queued={JOBS} refused=1" in enqueued, enqueued
        admin("foreign-job")  # this one reaches the worker, which must dead-letter it

        deadline = time.monotonic() + 90
        counts = {"events": 0, "counted": 0}
        while time.monotonic() < deadline:
            assert worker.poll() is None, f"the worker stopped early:\n{log.read_text()}"
            counts = json.loads(admin("count"))
            if counts["events"] >= JOBS:
                break
            time.sleep(0.5)
        assert counts == {"events": JOBS, "counted": JOBS}, f"{counts}\n{log.read_text()}"

        # status, as the README reads it: nothing waiting or in flight, one dead letter, one live worker.
        for _ in range(20):
            status = json.loads(honcho_run("status", "--json").stdout)
            if status["dead"] == 1:
                break
            time.sleep(0.5)
        assert (status["queued"], status["in_flight"], status["retrying"], status["dead"]) == (0, 0, 0, 1), status
        assert len(status["workers"]) == 1 and status["workers"][0]["seconds_ago"] < 30, status
        assert "queued=0 in_flight=0 retrying=0 dead=1" in honcho_run("status").stdout
        dead = honcho_run("dead", "list").stdout
        assert "this is not JSON" in dead or "JSON" in dead, f"the foreign job is not in the dead letters:\n{dead}"

        # Ctrl-C, as a developer stops the runner: the terminal sends SIGINT to the runner and the worker.
        os.killpg(worker.pid, signal.SIGINT)
        code = worker.wait(timeout=40)
        deadline = time.monotonic() + 30  # the runner may exit before its child: wait for the whole group
        while time.monotonic() < deadline:
            try:
                os.killpg(worker.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the worker outlived its runner by 30 s:\n{log.read_text()}")
        output = log.read_text()
        # honcho exits 130 on SIGINT; the Heroku CLI exits 1 ("Interrupted by User").
        assert code in ((0, 130) if runner == "honcho" else (0, 1, 130)), f"{runner} exited {code}:\n{output}"
        # The runner's prefix on the worker's logfmt lines.
        events = ["worker_started", "batch_stored", "shutdown_requested"]
        events += ["worker_stopped"] if runner == "honcho" else []  # the Heroku CLI stops reading first
        for event in events:
            assert re.search(rf"worker\.1 +\| +at=info event={event}", output), f"{event}:\n{output}"
        # It drained and left: nothing in flight, no worker registered any more.
        after = json.loads(honcho_run("status", "--json").stdout)
        assert after["in_flight"] == 0 and after["workers"] == [], after
        assert "Traceback" not in output, output

        if tls:
            # The same self-signed certificate with verification required: refused, with a line that says why.
            refused = subprocess.run(
                ["python", "-m", package, "status"], cwd=project, capture_output=True, text=True, timeout=60,
                env={**env, **dotenv, "REDIS_SSL_CERT_REQS": "required"}, check=False,
            )  # fmt: skip
            assert refused.returncode != 0 and "certificate verify failed" in refused.stderr, refused.stderr
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        admin("cleanup")
        if use_postgres:
            admin("drop-db")
