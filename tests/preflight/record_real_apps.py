"""Record the truth of tests/preflight/real_apps/: Heroku's real classic build and dynos on each case, once.

Run as root from the repository root (the build installs Python under /app, as on Heroku):
    python -m tests.preflight.record_real_apps [CASE ...]
It writes each case's `truth` (build ok/failed, each process ran/crashed, and the output's tail that shows why)
into manifest.json. The tests never run this: a real build takes 30-170 s per app.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests import heroku_build

HERE = Path(__file__).parent / "real_apps"
MANIFEST = HERE / "manifest.json"
SECONDS = 8  # a process still running this long after start has got past its imports
# The app's own error at start-up (no config var or service fixes it): the process crashed.
OWN_ERROR = re.compile(
    r"^(ModuleNotFoundError|ImportError|AttributeError|NameError|SyntaxError|TypeError|"
    r"[\w.]*VersionMismatch)\b"
    r"|^bash: (line \d+: )?(exec: )?[^:\s]+: (command )?not found$",  # the Procfile's command is not installed
    re.MULTILINE,
)


def materialize(case: dict[str, Any], into: Path) -> Path:
    """The case's app folder with its `files` applied (a value `@path` is read from real_apps/path)."""
    shutil.copytree(HERE / case["app"], into)
    for rel, text in case["files"].items():
        target = into / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((HERE / text[1:]).read_text() if text.startswith("@") else text)
    return into


def commit(app: Path) -> None:
    git = ["git", "-c", "user.name=corpus", "-c", "user.email=corpus@example.invalid"]
    subprocess.run(["git", "init", "-q", str(app)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=app, check=True)
    subprocess.run([*git, "commit", "-qm", "case"], cwd=app, check=True)


def process_truth(early: int | None, output: str) -> str:
    if early is None or early == 0:
        return "ran"
    return "crashed" if OWN_ERROR.search(output) else "ran"


def record(name: str, case: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        app = materialize(case, Path(tmp) / "app")
        commit(app)
        with heroku_build.exclusive_app():
            build = heroku_build.compile_app(app, Path(tmp) / "work", stack="heroku-24", config=case["config"])
            truth: dict[str, Any] = {"build": "ok" if build.ok else "failed", "python": build.python}
            if not build.ok:
                truth["why"] = build.output.strip().splitlines()[-12:]
                return truth
            heroku_build.place_slug(build)
            processes = heroku_build.procfile()
            truth["processes"] = {}
            if "release" in processes:
                code, output = heroku_build.run_once(processes["release"], case["config"], "release.1")
                truth["processes"]["release"] = "ran" if code == 0 else "crashed"
            for process in case["processes"]:
                early, _, output = heroku_build.run_until_sigterm(
                    processes[process], case["config"], f"{process}.1", SECONDS
                )
                truth["processes"][process] = process_truth(early, output)
                truth.setdefault("why", {})[process] = output.strip().splitlines()[-8:]
            return truth


def main() -> None:
    manifest = json.loads(MANIFEST.read_text())
    names = sys.argv[1:] or list(manifest["cases"])
    for name in names:
        truth = record(name, manifest["cases"][name])
        print(name, truth["build"], truth.get("processes"), flush=True)
        manifest = json.loads(MANIFEST.read_text())  # re-read: another case may have been recorded meanwhile
        manifest["cases"][name]["truth"] = truth
        manifest["command"] = "python -m tests.preflight.record_real_apps (as root, from the repository root)"
        MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
