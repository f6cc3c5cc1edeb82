"""Finish the baked project, then prove it with the project's own checker (preflight).

Safe to run again: cruft runs post-gen hooks on every `cruft update`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SKIP_ENV = "HEROKU_WORKER_SKIP_VERIFY"  # set to 1 to skip the fresh-environment check for one bake
EXECUTABLES = ("bin/post_compile",)

# What the checker's exit codes mean to the bake (see preflight's docs).
CLEAN, FINDINGS, COULD_NOT_RUN = 0, 1, 2


def make_executable(project: Path) -> None:
    for name in EXECUTABLES:
        path = project / name
        if path.exists():
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def remove_empty_dirs(project: Path) -> None:
    """Folders whose every file was skipped by its name (e.g. .github without GitHub Actions) go too."""
    for folder in sorted((p for p in project.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if ".git" not in folder.relative_to(project).parts and not any(folder.iterdir()):
            folder.rmdir()


def should_verify(answers: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    return bool(answers.get("verify_on_bake")) and environ.get(SKIP_ENV, "") not in ("1", "true", "yes")


def run_step(label: str, project: Path, args: Sequence[str]) -> int:
    """Run one preflight invocation, show it on one line with its time, and return its exit code."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    seconds = time.perf_counter() - started
    status = {CLEAN: "ok", FINDINGS: "FAILED", COULD_NOT_RUN: "not run"}.get(result.returncode, "FAILED")
    print(f"  {label:<44} {status:<8} {seconds:6.2f} s")
    if result.returncode != CLEAN:
        for line in (result.stdout + result.stderr).strip().splitlines():
            print(f"    {line}")
    return result.returncode


def main(answers: Mapping[str, Any], project: Path, environ: Mapping[str, str]) -> int:
    make_executable(project)
    remove_empty_dirs(project)
    print(f"Verifying {project.name} with its own checker (python -m preflight):")
    if run_step("static checks (files, pins, Procfile, version)", project, ["--static"]) != CLEAN:
        return 1
    if not should_verify(answers, environ):
        print(f"  fresh-environment import check skipped (verify_on_bake=no or {SKIP_ENV}=1);")
        print(f"  run it later with: cd {project.name} && nox -s preflight")
        return 0
    code = run_step("fresh env from requirements.txt, imports", project, ["--steps", "fresh-env"])
    if code == COULD_NOT_RUN:
        print("  The fresh-environment check could not run here (see above); the bake is kept.")
        print(f"  Run it where the package index and Python {answers['python_version']} are available:")
        print(f"    cd {project.name} && nox -s preflight")
        return 0
    return 0 if code == CLEAN else 1


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd(), os.environ))
