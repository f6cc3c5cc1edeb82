"""Helpers for preflight's tests: small Heroku apps as plain directories, and a way to run the checker.

The checker runs as a subprocess (`python -m heroku_preflight APP --json`), exactly as its callers run it, from
the installed wheel (the `tests` session installs the wheel it builds, which is the one every bake carries). The
apps target the Python running the tests, so the fresh-environment step can build them here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TEMPLATE_PROJECT = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}"
# The checker's wheel every bake carries; the `tests` session checks it is the build of heroku-preflight/ and
# installs it, so tests that make an environment of their own install this very file.
(CHECKER_WHEEL,) = (TEMPLATE_PROJECT / "vendor").glob("heroku_preflight-*-py3-none-any.whl")

PY = f"{sys.version_info.major}.{sys.version_info.minor}"

# A small, correct worker app: every test starts from it and breaks one thing.
GOOD_APP: dict[str, str | None] = {
    ".python-version": f"{PY}\n",
    "Procfile": "worker: python -m shop\n",
    "requirements.txt": "six==1.17.0\n",
    "shop/__init__.py": '"""The app."""\n',
    "shop/__main__.py": "from shop.worker import main\n\nmain()\n",  # unguarded on purpose: must not run
    "shop/worker.py": "import six\n\n\ndef main() -> None:\n    print(six.PY3)\n",
    ".gitignore": ".venv/\n",
}


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str], data: dict[str, Any] | None) -> None:
        self.proc, self.data = proc, data
        self.exit_code = proc.returncode

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.data["findings"] if self.data else []

    @property
    def codes(self) -> set[str]:
        return {f["code"] for f in self.findings}

    def of(self, code: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["code"] == code]

    def __repr__(self) -> str:  # shown when an assertion fails
        return f"exit {self.exit_code}\n{self.proc.stdout}\n{self.proc.stderr}"


def checker_env(**extra: str) -> dict[str, str]:
    # Neither PYTHONPATH nor CI leaks in: under CI=true, NOT VERIFIED blocks (tests that want it pass CI="true").
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI")}
    env.update(UV_PYTHON_DOWNLOADS="never")
    env.setdefault("PREFLIGHT_CACHE_DIR", os.path.join(tempfile.gettempdir(), "preflight-tests-cache"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # uv, deptry of this venv
    env.update(extra)
    return env


def run_preflight(
    app: Path,
    *args: str,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """`python -m heroku_preflight APP --json ARGS` as a subprocess; cwd is outside the app unless given.

    Another interpreter (a pyenv Python) runs the checker from its wheel on PYTHONPATH, as the bake's hook does.
    """
    if env is None:
        env = checker_env(**({} if python == sys.executable else {"PYTHONPATH": str(CHECKER_WHEEL)}))
    proc = subprocess.run(
        [python, "-m", "heroku_preflight", str(app), "--json", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or app.parent,
        timeout=600,
        check=False,
    )
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    return Result(proc, data)


def write_app(root: Path, files: dict[str, str | None]) -> Path:
    """Write GOOD_APP overridden by `files` (None deletes a file)."""
    merged = {**GOOD_APP, **files}
    for rel, text in merged.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def assert_agreement(
    what: str, truth: dict[str, str], got: dict[str, tuple[str, Any]], at_least: float, known: dict[str, str]
) -> None:
    """The checker's verdicts (`got`: name -> (verdict, codes)) against the real build's (`truth`): agreement
    of at least `at_least`, and exactly the `known` disagreements (a new one, or one fixed, fails)."""
    differ = {n: f"build {truth[n]}, checker {got[n][0]} {got[n][1]}" for n in truth if got[n][0] != truth[n]}
    agree = len(truth) - len(differ)
    print(f"agreement with the real build {what}: {agree}/{len(truth)} ({100 * agree / len(truth):.1f}%)")
    assert agree / len(truth) >= at_least, differ
    assert set(differ) == set(known), {
        "new disagreements": {n: differ[n] for n in set(differ) - set(known)},
        "now agree (remove from KNOWN_DISAGREEMENTS)": sorted(set(known) - set(differ)),
    }
