"""pip's verdict on requirements.txt for Heroku's platform (`pip install --dry-run`: resolve, no install).

The builds run pip, and pip is stricter than uv in places (it refuses distributions whose metadata does not
parse, e.g. celery 5.2.0's `pytz>dev`), so where the two disagree pip is the truth. It runs beside uv's
resolve
(started first, collected after) so it adds little to the platform step's time.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from .findings import Finding, could_not_run, error
from .heroku import BUILD_TOOLS, STACK_GLIBC
from .requirements_file import Requirements
from .run import NETWORK_ERRORS, TOOL_HINT, clean_environ, find_tool, last_line

TIMEOUT = 300
# pip's words when it refuses its own command line (an old pip, an unknown option): never the app's fault.
USAGE_ERRORS = re.compile(r"no such option|Can not use any platform or abi specific options|^Usage:", re.M)


def platforms(stack: str) -> list[str]:
    """Every manylinux tag the stack's glibc accepts: pip, unlike uv, does not widen `--platform` itself."""
    newest = STACK_GLIBC[stack][1]
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(newest, 4, -1)]
    return [*tags, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def pip_command() -> list[str] | None:
    """The pip the classic build installs (heroku_versions.json `build_tools`), run by uv; else the pip beside
    the checker (a venv's own pip can be years older: it accepts metadata that newer pip refuses)."""
    uv = find_tool("uv")
    if uv and BUILD_TOOLS.get("pip"):
        return [uv, "tool", "run", "--quiet", "--from", f"pip=={BUILD_TOOLS['pip']}", "pip"]
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    pip = Path(sys.executable).with_name("pip")  # beside the checker only: a system pip may be years old
    return [str(pip)] if pip.is_file() else None


def start(reqs: Requirements, python_version: str, stack: str) -> subprocess.Popen[str] | Finding | None:
    pip = pip_command()
    if pip is None:
        message = "pip is not installed beside the checker, so pip's verdict was not taken"
        return could_not_run("HW399", message,
                             TOOL_HINT.format("pip").replace("uv deptry", "uv deptry pip"))  # fmt: skip
    # pip takes --platform with wheels only: a requirement marked sdist-ok is left out of pip's input.
    wanted = ["-r", "requirements.txt"]
    if any(r.sdist_ok for r in reqs.items):
        wanted = [r.text for r in reqs.items if not r.sdist_ok]
        if not wanted:
            return None
    # `--target` (a folder --dry-run never creates): pip before 24 refuses --platform without it, and any pip
    # then ignores what is installed beside the checker.
    target = os.path.join(tempfile.gettempdir(), f"preflight-pip-target-{uuid.uuid4().hex}")
    command = [
        *pip, "install", "--dry-run", "--quiet", "--target", target, "--disable-pip-version-check",
        "--python-version", python_version, "--implementation", "cp",
        "--abi", f"cp{python_version.replace('.', '')}",
        *(a for tag in platforms(stack) for a in ("--platform", tag)), "--only-binary", ":all:", *wanted,
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=reqs.app_dir, env=clean_environ(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str] | Finding | None, uv_found: list[Finding]) -> list[Finding]:
    """Combine the two verdicts; where they differ pip (what the build runs) wins.

    pip passes: uv's errors were uv's own limits (e.g. editable git requirements), so none is kept (uv not
    running at all is still reported). Both fail:
    uv's findings, whose messages are clearer. Only pip fails: HW303 with pip's words.
    """
    if proc is None or isinstance(proc, Finding):
        return [*uv_found, *([proc] if proc else [])]
    try:
        _out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        err = f"timed out after {TIMEOUT} s"
    if proc.returncode == 0:
        return [f for f in uv_found if f.blocking]  # uv missing or offline stays NOT VERIFIED
    if USAGE_ERRORS.search(err):  # pip refused our command line, not the app's requirements: its own limits
        return [*uv_found, could_not_run(
            "HW399", f"pip beside the checker could not take the verdict's options: {last_line(err)}",
            "upgrade pip beside the checker (`python -m pip install -U pip`), then run again",
        )]  # fmt: skip
    if NETWORK_ERRORS.search(err) or "Could not resolve host" in err:
        # pip could not answer: keep uv's wheel facts, not its resolver's own refusals (pip may accept those)
        kept = [f for f in uv_found if f.code != "HW302"]
        return [*kept, could_not_run(
            "HW399", f"pip could not reach an index or repository: {last_line(err)}",
            "check the network / PIP_INDEX_URL, then run again (pip's verdict was not taken)",
        )]  # fmt: skip
    if any(f.severity == "error" and not f.blocking for f in uv_found):
        return uv_found
    blocked = [f for f in uv_found if f.blocking]
    lines = err.splitlines()
    detail = " ".join(line.strip() for line in lines if "ERROR" in line or "invalid" in line.lower())
    uv_said = "uv could not run" if blocked else "uv resolves it"
    return [*blocked, error(
        "HW303", "requirements.txt", None,
        f"pip (what Heroku runs) rejects requirements.txt ({uv_said}): {detail[:500] or last_line(err)}",
        "move the named distribution to a release pip accepts (e.g. a newer version), then re-lock",
    )]  # fmt: skip
