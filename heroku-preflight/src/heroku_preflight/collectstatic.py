"""Django's `manage.py collectstatic --noinput`, run as each generation's build runs it, in a copy of the app.

Cedar: the classic buildpack (bin/steps/collectstatic) runs it after the install when Django is importable, a
`manage.py` lies within three folders of the app root (the shallowest wins), and neither DISABLE_COLLECTSTATIC
(not "0") nor `.heroku/collectstatic_disabled` turns it off; a non-zero exit fails the build.
Fir: the Python CNB (src/django.rs) runs it when Django is installed and `manage.py` is at the app root; first
`manage.py help collectstatic`, which skips the step when it says "Unknown command" (staticfiles not enabled)
and fails the build on any other error; no setting turns it off (the CNB clears the app's config vars).
It imports the settings and every installed app, so a broken settings module, a missing staticfiles app or
STATIC_ROOT fails the build, not the dyno. Here it runs with the fresh env's Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .findings import Finding, could_not_run, error, warning
from .run import clean_environ, last_line

TIMEOUT = float(os.environ.get("PREFLIGHT_HOOK_TIMEOUT", "300"))
_SKIP = shutil.ignore_patterns(".git", ".venv", "venv", ".nox", "__pycache__", "node_modules")
_FIX = (
    "run `python {0} collectstatic --noinput` from the app root, fix the error (or DISABLE_COLLECTSTATIC=1)"
)
_FIX_FIR = (
    "run `python manage.py collectstatic --noinput` from the app root without the app's config vars, fix it"
)


def manage_file(app: Path) -> str | None:
    """The manage.py the build would run: the shallowest within three folders (`find -maxdepth 3`)."""
    found = [p.relative_to(app) for p in app.glob("manage.py")]
    found += [p.relative_to(app) for p in app.glob("*/manage.py")]
    found += [p.relative_to(app) for p in app.glob("*/*/manage.py")]
    found = [p for p in found if (app / p).is_file()]
    return min(found, key=lambda p: (len(p.parts), p.as_posix())).as_posix() if found else None


def disabled(app: Path) -> bool:
    return (app / ".heroku" / "collectstatic_disabled").is_file() or os.environ.get(
        "DISABLE_COLLECTSTATIC", "0"
    ) not in ("", "0")


def check(app: Path, python: Path | None, django_required: bool, generation: str = "cedar") -> list[Finding]:
    """HW716 when collectstatic would fail the build; HW717 (NOT VERIFIED) without an env to run it in."""
    if generation == "fir":
        manage = "manage.py" if (app / "manage.py").is_file() else None
    else:
        manage = None if disabled(app) else manage_file(app)
    if manage is None:
        return []
    if python is None:
        if not django_required:
            return []
        message = "Django collectstatic NOT VERIFIED: the build runs it, and no fresh environment was built"
        fix = "run the full check of a requirements.txt app (`heroku-preflight`)"
        if os.environ.get("CI", "").lower() == "true":
            return [could_not_run("HW717", message, fix)]
        return [warning("HW717", manage, None, message, fix)]
    env = {**clean_environ(python.parent), **({"PYTHONPATH": "."} if generation == "cedar" else {})}
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('django') is None)"
    has_django = subprocess.run(
        [str(python), "-c", probe],
        cwd=app, env=env, capture_output=True, check=False,
    )  # fmt: skip
    if has_django.returncode != 0:
        return []
    steps = [["collectstatic", "--noinput", "--traceback"]]
    if generation == "fir":  # the CNB asks first whether the command exists
        steps.insert(0, ["help", "collectstatic"])
    with tempfile.TemporaryDirectory(prefix="preflight-collectstatic-") as tmp:
        build = Path(tmp) / "build"
        shutil.copytree(app, build, ignore=_SKIP, symlinks=True)
        for argv in steps:
            try:
                proc = subprocess.run(
                    [str(python), manage, *argv], cwd=build, env=env, capture_output=True, text=True,
                    timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return [
                    could_not_run(
                        "HW717", f"collectstatic ran over {TIMEOUT:.0f} s", "raise PREFLIGHT_HOOK_TIMEOUT"
                    )
                ]
            if proc.returncode != 0:
                if argv[0] == "help" and "Unknown command" in proc.stderr:
                    return []  # staticfiles is not enabled: the Fir build skips the step
                return [_failed(manage, argv, proc, generation)]
    return []


def _failed(manage: str, argv: list[str], proc: subprocess.CompletedProcess[str], generation: str) -> Finding:
    shown = " ".join(a for a in argv if a != "--traceback")
    return error(
        "HW716", manage, None,
        f"`python {manage} {shown}` exits {proc.returncode}: {_last_error(proc.stderr + proc.stdout)}; "
        f"the {generation.capitalize()} build fails",
        _FIX.format(manage) if generation == "cedar" else _FIX_FIR,
    )  # fmt: skip


def _last_error(output: str) -> str:
    """The exception line of a traceback (its last line naming an Error/Exception), else the last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line.split(":")[0] or "Exception" in line.split(":")[0]:
            return line[:400]
    return last_line(output)
