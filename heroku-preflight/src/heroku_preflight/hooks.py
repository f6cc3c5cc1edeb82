"""Run `bin/pre_compile` and `bin/post_compile` as the classic build does, in a throwaway copy of the app.

The classic buildpack runs each hook (after `chmod +x`) from the build directory with BUILD_DIR, CACHE_DIR and
ENV_DIR set; a non-zero exit fails the build. Here the copy, cache and env folders are temporary, so a hook's
side effects stay out of the app. post_compile runs only with the app's environment (the fresh env): it runs
after the install. A nested `heroku-preflight --build` (this template's own post_compile) sees
PREFLIGHT_IN_HOOK and stops at once: the run that started it already checks the same things.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from .findings import Finding, could_not_run, error, warning
from .heroku import DEFAULT_STACK
from .run import IN_HOOK, clean_environ, last_line

HOOKS = ("pre_compile", "post_compile")
TIMEOUT = float(os.environ.get("PREFLIGHT_HOOK_TIMEOUT", "300"))
_SKIP = shutil.ignore_patterns(".git", ".venv", "venv", ".nox", "__pycache__", "node_modules")


def run_hooks(app: Path, bindir: Path | None) -> list[Finding]:
    present = [name for name in HOOKS if (app / "bin" / name).is_file()]
    skipped: list[Finding] = []
    if bindir is None and "post_compile" in present:
        present.remove("post_compile")
        skipped = [_not_verified()]
    if not present:
        return skipped
    with tempfile.TemporaryDirectory(prefix="preflight-hooks-") as tmp:
        build, cache, env_dir = Path(tmp) / "build", Path(tmp) / "cache", Path(tmp) / "env"
        shutil.copytree(app, build, ignore=_SKIP, symlinks=True)
        cache.mkdir()
        env_dir.mkdir()
        env = {**clean_environ(bindir), "BUILD_DIR": str(build), "CACHE_DIR": str(cache),
               "ENV_DIR": str(env_dir), "STACK": os.environ.get("STACK", DEFAULT_STACK),
               IN_HOOK: "1"}  # fmt: skip
        for name in present:
            finding = _run(build, name, env)
            if finding is None and not cache.is_dir():
                finding = error(
                    "HW714", f"bin/{name}", None, f"bin/{name} deletes $CACHE_DIR: the buildpack then fails",
                    "leave $CACHE_DIR alone (write temporary files under /tmp)",
                )  # fmt: skip
            if finding:
                return [finding]  # the build stops at the first failing hook
    return skipped


def _not_verified() -> Finding:
    """post_compile needs the installed app; without a fresh env it is NOT VERIFIED (blocking under CI)."""
    message = "bin/post_compile NOT VERIFIED: it runs after the install, and no fresh environment was built"
    fix = "run the full check of a requirements.txt app (`heroku-preflight`), or bin/post_compile yourself"
    if os.environ.get("CI", "").lower() == "true":
        return could_not_run("HW715", message, fix)
    return warning("HW715", "bin/post_compile", None, message, fix)


def _run(build: Path, name: str, env: dict[str, str]) -> Finding | None:
    script = build / "bin" / name
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    try:
        proc = subprocess.run(
            [str(script)], cwd=build, env=env, capture_output=True, text=True, timeout=TIMEOUT,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return could_not_run("HW714", f"bin/{name} ran over {TIMEOUT:.0f} s", "raise PREFLIGHT_HOOK_TIMEOUT")
    except OSError as exc:  # no such interpreter in the `#!` line, exec format error
        return error("HW711", f"bin/{name}", 1, f"bin/{name} cannot start: {exc}", "fix its `#!` line")
    if proc.returncode == 0:
        return None
    return error(
        "HW714", f"bin/{name}", None,
        f"bin/{name} exits {proc.returncode}: {last_line(proc.stderr + proc.stdout)}; the build fails",
        f"run `bin/{name}` from the app root to see the error, and fix it (or remove the hook)",
    )  # fmt: skip
