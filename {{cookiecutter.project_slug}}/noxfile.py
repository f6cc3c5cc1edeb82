"""Development tasks for this service: `nox` runs lint, typing, preflight and tests; `nox -s lock` relocks.

Settings come from `.env` (as `honcho run` reads it) unless the shell already sets them; the Python is the
one Heroku runs (`.python-version` or `runtime.txt`), found wherever it is installed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))  # this project's package: its `.env` reader below
nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"

from events_worker import environment  # noqa: E402  (its .env reader; it imports only the stdlib)


def heroku_python() -> str:
    """The X.Y that Heroku will run, read from the same file the buildpack reads."""
    for name, pattern in ((".python-version", r"(3\.\d+)"), ("runtime.txt", r"python-(3\.\d+)")):
        path = ROOT / name
        if path.exists():
            match = re.match(pattern, path.read_text().strip())
            if match:
                return match.group(1)
    raise SystemExit("No valid .python-version or runtime.txt: `heroku-preflight --static` says why.")


def find_python(version: str) -> str:
    """A path to a Python `version` that really runs, or `version` itself (nox then reports it missing).

    pyenv's shims exit 127 outside a folder that selects their version, so nox and uv cannot use a bare
    "3.12": try pyenv's own binaries, uv's managed Pythons, then PATH and /usr/bin, and run each one.
    """
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    uv = shutil.which("uv")
    if uv:
        find = [uv, "python", "find", "--no-project", version]
        found = subprocess.run(find, capture_output=True, text=True)
        candidates.append(found.stdout.strip())  # empty when uv finds none
    candidates += [shutil.which(f"python{version}") or "", f"/usr/bin/python{version}"]
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for path in filter(None, candidates):
        try:
            ran = subprocess.run([path, "-c", probe], capture_output=True, text=True, timeout=60)
        except OSError:
            continue
        if ran.returncode == 0 and ran.stdout.strip() == version:
            return path
    return version


def heroku_stack() -> str:
    """The stack app.json names (the Heroku Button and `heroku create --stack` use it); locks target it."""
    stack = json.loads((ROOT / "app.json").read_text()).get("stack")
    if not isinstance(stack, str):
        raise SystemExit('app.json names no "stack" (e.g. "heroku-24"): the locks are compiled for it')
    return stack


def load_dotenv() -> None:
    """Read `.env` as every command of the project does (`environment.load_dotenv`).

    A variable the shell already sets wins, so `REDIS_URL=... nox` still works. Only names are printed.
    """
    loaded = environment.load_dotenv(path=ROOT / ".env")
    if (ROOT / ".env").exists():
        print(f"nox: from .env: {', '.join(loaded) or 'nothing new'}", file=sys.stderr)


def ruff_pin() -> str:
    """ruff's `==` line in requirements-dev.txt, the one pin the pre-commit hook also uses."""
    match = re.search(r"^ruff==\S+", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit("requirements-dev.txt must pin ruff with == (the pre-commit hook uses the same pin)")
    return match.group(0)


load_dotenv()
PYTHON = heroku_python()
INTERPRETER = find_python(PYTHON)
UV_ENV = {"UV_PYTHON_DOWNLOADS": "never"}


def install_checker(session: nox.Session) -> None:
    """heroku-preflight exactly as requirements.txt pins it (version and hash), and nothing else: every caller
    (this file, the pre-commit hook through the venv, CI, Heroku's build) runs that one version."""
    pinned = re.search(r"^heroku-preflight==\S+(?:[ \t]*\\\n\s*--hash=\S+)+", read("requirements.txt"), re.M)
    if pinned is None:
        session.error("requirements.txt pins no heroku-preflight with a hash: list it in requirements.in")
    only = Path(session.create_tmp()) / "heroku-preflight.txt"
    only.write_text(f"--find-links {ROOT / 'vendor'}\n{pinned.group(0)}\n")
    session.install("--no-deps", "--require-hashes", "-r", str(only))


def read(name: str) -> str:
    return (ROOT / name).read_text()


def install_runtime(session: nox.Session) -> None:
    # Two calls: requirements.txt is hash-checked, the development file is not.
    session.install("-r", "requirements.txt")
    session.install("-r", "requirements-dev.txt")


@nox.session(python=INTERPRETER, default=True)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, with the ruff version the pre-commit hook pins."""
    session.install(ruff_pin())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=INTERPRETER, default=True)
def typing(session: nox.Session) -> None:
    """mypy --strict on the package."""
    install_runtime(session)
    session.run("mypy")


@nox.session(python=INTERPRETER, default=True)
def preflight(session: nox.Session) -> None:
    """The full checker (fresh env, deptry, Heroku platform resolve) for each generation it deploys to.

    `-- --generation cedar` checks one.
    """
    # The checker's own environment holds only its tools, so it cannot hide a missing requirement.
    session.install("uv", "deptry", "pip")
    install_checker(session)
    chosen = any(arg.startswith("--generation") for arg in session.posargs)
    for generation in [None] if chosen else generations():
        picked = ["--generation", generation] if generation else []
        session.run("heroku-preflight", "--strict", *picked, *session.posargs, env=UV_ENV)


def generations() -> list[str]:
    """Cedar always (a plain `heroku create` app: the classic buildpack ignores project.toml); Fir too when
    project.toml makes this a Cloud Native Buildpacks app (a Fir space builds it with the Python CNB)."""
    return ["cedar", "fir"] if (ROOT / "project.toml").is_file() else ["cedar"]


@nox.session(python=INTERPRETER, default=True)
def tests(session: nox.Session) -> None:
    """The worker's tests against real Redis and the store, four at a time (PYTEST_WORKERS to change it)."""
    install_runtime(session)
    # Most of a test's time is waiting on a worker process or a server, so more processes than
    # cores pay: 99 tests took 114 s one at a time, 53 s four at a time on 2 cores. Each test has its own
    # queue and schema.
    session.run("pytest", "-n", os.environ.get("PYTEST_WORKERS", "4"), *session.posargs)


@nox.session(python=INTERPRETER, default=False)
def lock(session: nox.Session) -> None:
    """Recompile requirements.txt from requirements.in for Heroku's stack (`-- --upgrade` moves to newest)."""
    session.install("uv")
    install_checker(session)  # Heroku's platform facts are the checker's: the wheel tag of this stack
    tag = "from heroku_preflight.heroku import platform_tag as t; import sys; print(t(sys.argv[1]))"
    platform = session.run("python", "-c", tag, heroku_stack(), silent=True)
    session.run(
        "uv", "pip", "compile", "--quiet", "--generate-hashes", "--no-build", "--emit-find-links",
        "--python-version", PYTHON, "--python-platform", str(platform).strip(),
        "--custom-compile-command", "nox -s lock",
        "--upgrade-package", "heroku-preflight",  # a new wheel in vendor/ may keep its version: hash it anew
        *session.posargs, "requirements.in", "-o", "requirements.txt",
        env=UV_ENV,
    )  # fmt: skip
    install_checker(session)  # the relocked pin, hash checked
    session.run("heroku-preflight", "--static", "--strict")
