"""Development tasks for this service: `nox` runs lint, typing, preflight and tests; `nox -s lock` relocks."""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"

ROOT = Path(__file__).parent
HEROKU_PLATFORM = "x86_64-manylinux_2_39"  # heroku-24: Ubuntu 24.04, glibc 2.39, x86_64


def heroku_python() -> str:
    """The X.Y that Heroku will run, read from the same file the buildpack reads."""
    for name, pattern in ((".python-version", r"(3\.\d+)"), ("runtime.txt", r"python-(3\.\d+)")):
        path = ROOT / name
        if path.exists():
            match = re.match(pattern, path.read_text().strip())
            if match:
                return match.group(1)
    raise SystemExit("No valid .python-version or runtime.txt: `python -m preflight --static` says why.")


PYTHON = heroku_python()


def install_runtime(session: nox.Session) -> None:
    # Two calls: requirements.txt is hash-checked, the development file is not.
    session.install("-r", "requirements.txt")
    session.install("-r", "requirements-dev.txt")


@nox.session(python=PYTHON, default=True)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, default=True)
def typing(session: nox.Session) -> None:
    """mypy --strict on the package."""
    install_runtime(session)
    session.run("mypy")


@nox.session(python=PYTHON, default=True)
def preflight(session: nox.Session) -> None:
    """The full checker: fresh environment from requirements.txt, deptry, Heroku platform resolve."""
    # The checker's own environment holds only its tools, so it cannot hide a missing requirement.
    session.install("uv", "deptry", "pip")
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    session.run("python", "-m", "preflight", "--strict", *session.posargs, env=env)


@nox.session(python=PYTHON, default=True)
def tests(session: nox.Session) -> None:
    """The worker's tests against real Redis and PostgreSQL."""
    install_runtime(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, default=False)
def lock(session: nox.Session) -> None:
    """Recompile requirements.txt from requirements.in for Heroku (`-- --upgrade` moves to newest)."""
    session.install("uv")
    session.run(
        "uv", "pip", "compile", "--quiet", "--generate-hashes", "--no-build",
        "--python-version", PYTHON, "--python-platform", HEROKU_PLATFORM,
        "--custom-compile-command", "nox -s lock",
        *session.posargs, "requirements.in", "-o", "requirements.txt",
        env={"UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    session.run("python", "-m", "preflight", "--static", "--strict")


@nox.session(python=PYTHON, default=False, name="refresh-versions")
def refresh_versions(session: nox.Session) -> None:
    """Refresh preflight's table of Heroku's Python versions from the buildpack (needs the network)."""
    session.run("python", "-m", "preflight.refresh_versions")
