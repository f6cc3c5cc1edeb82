"""Running other programs: a clean environment, finding tools, and reading their failures (stdlib only).

Every module that starts a subprocess takes its helpers from here, so no check borrows them from another.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

# pip/uv output meaning the package index could not be reached: exit 2 (not checked), never an app error.
NETWORK_ERRORS = re.compile(
    r"Failed to fetch|error sending request|tcp connect error|dns error|Could not connect|NewConnectionError|"
    r"Max retries exceeded|Temporary failure in name resolution|Network is unreachable|ConnectionError|"
    r"Could not fetch URL|Name or service not known|Could not resolve host|timed out",
    re.IGNORECASE,
)
IN_HOOK = "PREFLIGHT_IN_HOOK"  # set for hooks the hooks step runs: a nested `--build` stops at once
TOOL_HINT = "install it beside the checker: `uv pip install uv deptry` (nox does), or `uv tool install {}`"


def cache_dir() -> Path:
    base = os.environ.get("PREFLIGHT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "heroku-preflight"
    )
    return Path(base)


def clean_environ(bindir: Path | None = None, pycache: Path | None = None) -> dict[str, str]:
    """The caller's environment minus everything that changes how Python finds modules."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTHON") and k not in ("VIRTUAL_ENV", "CONDA_PREFIX")
    }
    env["PYTHONNOUSERSITE"] = "1"
    # Bytecode goes to a cache of ours: fast re-runs, and no __pycache__ written into the app (or the slug).
    env["PYTHONPYCACHEPREFIX"] = str(pycache or cache_dir() / "pycache")
    env["UV_PYTHON_DOWNLOADS"] = os.environ.get("UV_PYTHON_DOWNLOADS", "never")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if bindir is not None:
        env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", os.defpath)
    return env


def find_tool(name: str) -> str | None:
    """A tool beside the running interpreter (the checker's own tool venv, activated or not), else on PATH."""
    beside = Path(sys.executable).parent / (f"{name}.exe" if os.name == "nt" else name)
    return str(beside) if beside.is_file() else shutil.which(name)


def last_line(text: str) -> str:
    """The line of a tool's output that says what went wrong (its last `error:`/`caused by:` line)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "caused by", "cause:"))]
    return (errors or lines or ["(no output)"])[-1][:400]
