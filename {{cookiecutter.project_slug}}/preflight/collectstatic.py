"""Django's `manage.py collectstatic --noinput`, run as the classic build runs it, in a copy of the app.

The classic buildpack (bin/steps/collectstatic) runs it after the install when Django is importable, a
`manage.py` lies within three folders of the app root (the shallowest wins), and neither DISABLE_COLLECTSTATIC
(not "0") nor `.heroku/collectstatic_disabled` turns it off; a non-zero exit fails the build. It imports the
settings and every installed app, so a broken settings module, a missing staticfiles app or STATIC_URL
fails the build, not the dyno. Here it runs with the fresh env's Python and PYTHONPATH=. as the build sets it.
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


def check(app: Path, python: Path | None, django_required: bool) -> list[Finding]:
    """HW716 when collectstatic would fail the build; HW717 (NOT VERIFIED) without an env to run it in."""
    manage = manage_file(app)
    if manage is None or disabled(app):
        return []
    if python is None:
        if not django_required:
            return []
        message = "Django collectstatic NOT VERIFIED: the build runs it, and no fresh environment was built"
        fix = "run the full check of a requirements.txt app (`python -m preflight`)"
        if os.environ.get("CI", "").lower() == "true":
            return [could_not_run("HW717", message, fix)]
        return [warning("HW717", manage, None, message, fix)]
    env = {**clean_environ(python.parent), "PYTHONPATH": "."}
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('django') is None)"
    has_django = subprocess.run(
        [str(python), "-c", probe],
        cwd=app, env=env, capture_output=True, check=False,
    )  # fmt: skip
    if has_django.returncode != 0:
        return []
    with tempfile.TemporaryDirectory(prefix="preflight-collectstatic-") as tmp:
        build = Path(tmp) / "build"
        shutil.copytree(app, build, ignore=_SKIP, symlinks=True)
        try:
            proc = subprocess.run(
                [str(python), manage, "collectstatic", "--noinput", "--traceback"], cwd=build, env=env,
                capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return [
                could_not_run(
                    "HW717", f"collectstatic ran over {TIMEOUT:.0f} s", "raise PREFLIGHT_HOOK_TIMEOUT"
                )
            ]
    if proc.returncode == 0:
        return []
    return [
        error(
            "HW716", manage, None,
            f"`python {manage} collectstatic --noinput` exits {proc.returncode}: "
            f"{_last_error(proc.stderr + proc.stdout)}; the build fails",
            _FIX.format(manage),
        )
    ]  # fmt: skip


def _last_error(output: str) -> str:
    """The exception line of a traceback (its last line naming an Error/Exception), else the last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line.split(":")[0] or "Exception" in line.split(":")[0]:
            return line[:400]
    return last_line(output)
