"""Find a working interpreter for each Python X.Y on this machine, wherever it came from.

Candidates, in order: pyenv's versions folder (the real binaries, never its shims, which exit 127 outside a
folder that selects that version), uv-managed interpreters (`uv python find`, never downloading), `pythonX.Y`
on PATH, and the system's `/usr/bin/pythonX.Y` (distribution or deadsnakes). Every candidate is *run*; one
that does not answer with the right version is skipped for the next. Stdlib only: the template's noxfile
loads this file by path, so it works before any environment exists.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"

# Offered Pythons that a machine running this template's tests may lack, each with the reason. A version
# with no interpreter is always reported as NOT VERIFIED; under CI=true that fails the run unless the version
# is listed here. Nothing else is ever allowed: an interpreter that exists but whose checks skipped fails CI.
KNOWN_UNVERIFIED: dict[str, str] = {
    "3.14": "offered because Heroku builds it, but pyenv on the template's own test machine has no 3.14 yet; "
    "the GitHub workflow installs it and verifies it",
}


def pyenv_root() -> Path | None:
    """`$(pyenv root)`: PYENV_ROOT when set, else pyenv's answer, else its default folder."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def pyenv_candidates(version: str) -> Iterator[str]:
    root = pyenv_root()
    if root is None:
        return
    # Newest patch first: "3.12.10" sorts after "3.12.9" by its numbers, not its text.
    folders = [p for p in (root / "versions").glob(f"{version}.*") if p.name[len(version) + 1 :].isdigit()]
    for folder in sorted(folders, key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True):
        yield str(folder / "bin" / f"python{version}")


def uv_candidates(version: str) -> Iterator[str]:
    uv = shutil.which("uv")
    if uv is None:
        return
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    args = [uv, "python", "find", "--no-project", version]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, env=env)
    if done.returncode == 0 and done.stdout.strip():
        yield done.stdout.strip()


def path_candidates(version: str) -> Iterator[str]:
    found = shutil.which(f"python{version}")
    if found:
        yield found
    yield f"/usr/bin/python{version}"


def candidates(version: str) -> Iterator[str]:
    yield from pyenv_candidates(version)
    yield from uv_candidates(version)
    yield from path_candidates(version)


def runs_as(path: str, version: str) -> bool:
    """True when `path` starts and reports Python `version` (a pyenv shim that exits 127 does not)."""
    if not os.access(path, os.X_OK):
        return False
    try:
        done = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == version


@functools.cache
def find_python(version: str) -> str | None:
    """The path of an interpreter that runs as Python `version` ("3.12"), or None when there is none here."""
    return next((path for path in candidates(version) if runs_as(path, version)), None)


def available(versions: list[str]) -> dict[str, str]:
    """The versions (of those given) that have a working interpreter here, each with its path."""
    found = {version: find_python(version) for version in versions}
    return {version: path for version, path in found.items() if path is not None}


def on_ci() -> bool:
    """CI=true (or 1), as GitHub Actions and most CI services set it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unverified_is_failure(version: str) -> bool:
    """Whether an offered `version` with no interpreter here fails the run: under CI, unless allowed above."""
    return on_ci() and version not in KNOWN_UNVERIFIED


def not_verified(why: str, version: str) -> NoReturn:
    """In a pytest test: report NOT VERIFIED as a skip, or as a failure when `unverified_is_failure`."""
    import pytest  # only the tests call this; the noxfile loads this module without pytest

    message = f"NOT VERIFIED: {why}"
    if unverified_is_failure(version):
        pytest.fail(f"{message} (CI=true and {version} is not in tests/pythons.py KNOWN_UNVERIFIED)")
    pytest.skip(f"{message} ({KNOWN_UNVERIFIED.get(version, 'allowed outside CI only')})")


def skipped_sessions(report: dict[str, Any]) -> list[str]:
    """Every session in a `nox --report` file that did not succeed, with nox's reason ("lint: skipped (…)")."""
    return [
        f"{entry['name']}: {entry['result']}" + (f" ({entry['reason']})" if entry.get("reason") else "")
        for entry in report.get("sessions", [])
        if entry.get("result") != "success"
    ]


if __name__ == "__main__":  # python tests/pythons.py 3.10 3.11 ...: what this machine offers
    import sys

    for wanted in sys.argv[1:]:
        print(wanted, find_python(wanted) or "NOT FOUND")
