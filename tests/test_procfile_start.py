"""A baked default project starts its worker with the Procfile command and stops cleanly on SIGTERM.

The environment is built from requirements.txt alone, the process environment is clean, and the command runs
from the app root, as on a dyno.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

READY = re.compile(r"at=info event=worker_(started|ready)\b")


def procfile_commands(project: Path) -> dict[str, str]:
    lines = (project / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def fresh_env(project: Path) -> Path:
    """A new venv with requirements.txt alone (hash-checked), as Heroku's build makes it."""
    venv = project / ".venv"
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-r", "requirements.txt"],
        cwd=project,
        check=True,
    )
    return venv


def wait_for(process: subprocess.Popen[str], pattern: re.Pattern[str], seconds: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            if pattern.search(line):
                return lines
        elif process.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern.pattern!r} within {seconds} s:\n{''.join(lines)}")


@pytest.mark.network
def test_default_project_starts_from_procfile_and_stops_on_sigterm(bake: Any, services: Any) -> None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # an interpreter this machine surely has
    project = bake(python_version=python)
    venv = fresh_env(project)
    database = services.create_database()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",  # `python` is the fresh env's, as on a dyno
        "HOME": str(project),
        "REDIS_URL": services.redis_url,
        "DATABASE_URL": database,
        "QUEUE_NAME": f"procfile-{uuid.uuid4().hex[:8]}",
    }
    commands = procfile_commands(project)
    release = subprocess.run(commands["release"].split(), cwd=project, env=env, capture_output=True, text=True)
    assert release.returncode == 0, release.stdout + release.stderr

    worker = subprocess.Popen(
        commands["worker"].split(), cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for(worker, READY, seconds=30)
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=25)
        stopped_in = time.monotonic() - started
    finally:
        if worker.poll() is None:
            worker.kill()
    output = worker.stdout.read() if worker.stdout else ""
    assert code == 0, output
    assert stopped_in < 25, f"took {stopped_in:.1f} s to stop after SIGTERM"
    assert "Traceback" not in output
    assert os.path.isdir(project / os.path.basename(project).replace("-", "_"))


@pytest.mark.network
@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "redis-only"])
def test_bare_honcho_start_runs_the_worker_until_ctrl_c(bake: Any, services: Any, use_postgres: bool) -> None:
    """The README's `cp .env.example .env; honcho start -e /dev/null -f Procfile.dev`: it must not end when a
    release process exits, and on Ctrl-C the worker itself exits 0 (Procfile.dev `exec`s it: without `exec`
    the shell took the SIGTERM and honcho reported rc=-15)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    options = {} if use_postgres else {"use_postgres": False, "use_pandas": False}
    project = bake(python_version=python, **options)
    venv = fresh_env(project)
    subprocess.run(["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "honcho"], check=True)
    dotenv = (project / ".env.example").read_text()
    settings = {"REDIS_URL": services.redis_url, "QUEUE_NAME": f"honcho-{uuid.uuid4().hex[:8]}"}
    if use_postgres:
        settings["DATABASE_URL"] = services.create_database()  # empty: Procfile.dev migrates it first
    for name, value in settings.items():
        dotenv = re.sub(rf"^{name}=.*$", f"{name}={value}", dotenv, flags=re.M)
    (project / ".env").write_text(dotenv)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(project), "PYTHONUNBUFFERED": "1"}
    honcho = subprocess.Popen(
        [str(venv / "bin" / "honcho"), "start", "-e", "/dev/null", "-f", "Procfile.dev"], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        seen = wait_for(honcho, READY, seconds=60)
        assert honcho.poll() is None, "honcho stopped once the worker was up:\n" + "".join(seen)
        assert not any("release" in line for line in seen), "a bare `honcho start` ran the release process"
        honcho.send_signal(signal.SIGINT)  # Ctrl-C
        code = honcho.wait(timeout=30)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    output = "".join(seen) + (honcho.stdout.read() if honcho.stdout else "")
    assert code in (0, 130), output  # 130: honcho's own exit status after Ctrl-C
    assert "worker.1 stopped (rc=0)" in output, output
    assert "event=worker_stopped" in output, "the worker did not finish cleanly on Ctrl-C:\n" + output
    assert "Traceback" not in output, output
