"""What Heroku's Python buildpacks refuse before installing anything, modelled from their sources.

Classic (Cedar): heroku-buildpack-python `bin/compile`, `lib/checks.sh`, `lib/hooks.sh`,
`lib/python_version.sh`.
CNB (Fir): heroku/buildpacks-python `src/checks.rs`, `src/detect.rs`. Stdlib only (runs in `--build`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .findings import Finding, error, warning
from .heroku import DEFAULT_STACK, EOL_STACKS, STACK_GLIBC

# The classic buildpack's MISSPELLED_PYTHON_VERSION_FILE_NAMES: each fails the build (unless runtime.txt).
MISSPELLED_VERSION_FILES = (
    " .python-version", ". python-version", ".python_version.txt", ".python_version", ".python-version ",
    ",python-version", ".python-version.", ".python-version.py", ".python-version.rtf", ".python-version.txt",
    ".python-version.TXT", ".Python-version", ".python.version", ".pythonversion", "'.python-version'",
    "python_version.txt", "python_version", "python-version.", "python-version.txt", "python-version",
)  # fmt: skip
# The Python CNB's FORBIDDEN_ENV_VARS: set as config vars, they fail a Fir build.
FORBIDDEN_ENV_VARS = (
    "PIP_CACHE_DIR", "PIP_PREFIX", "PIP_PYTHON", "PIP_ROOT", "PIP_TARGET", "PIP_USER", "POETRY_CACHE_DIR",
    "POETRY_DATA_DIR", "POETRY_HOME", "POETRY_VIRTUALENVS_CREATE", "POETRY_VIRTUALENVS_IN_PROJECT",
    "POETRY_VIRTUALENVS_USE_POETRY_PYTHON", "PYTHONHOME", "PYTHONINSPECT", "PYTHONNOUSERSITE",
    "PYTHONPLATLIBDIR", "PYTHONUSERBASE", "UV_CACHE_DIR", "UV_LINK_MODE", "UV_MANAGED_PYTHON", "UV_NO_CACHE",
    "UV_NO_MANAGED_PYTHON", "UV_PROJECT", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "UV_PYTHON_DOWNLOADS",
    "UV_PYTHON_PREFERENCE", "VIRTUAL_ENV",
)  # fmt: skip
_LOCKS = {"requirements.txt": "pip", "Pipfile.lock": "pipenv", "poetry.lock": "poetry", "uv.lock": "uv"}
_CNB = re.compile(r"""["'](heroku/python|heroku/buildpacks-python)["']|\[\[io\.buildpacks\.group\]\]""")


def package_manager(app: Path) -> str | None:
    """pip, pipenv, poetry or uv when exactly one lock file is present (the build's own rule), else None."""
    found = [name for lock, name in _LOCKS.items() if (app / lock).is_file()]
    return found[0] if len(found) == 1 else None


def detect_generation(app: Path) -> str:
    """fir when project.toml names the Python CNB or an inline buildpack group, else cedar."""
    project = app / "project.toml"
    if project.is_file() and _CNB.search(project.read_text(encoding="utf-8", errors="replace")):
        return "fir"
    return "cedar"


def misspelled_version_files(app: Path) -> list[Finding]:
    if (app / "runtime.txt").is_file():
        return []  # runtime.txt is read first; the misspelling check never runs
    return [
        error(
            "HW610", name, None, f"`{name}` looks like a misspelled .python-version: the build fails on it",
            f"rename it: `git mv '{name}' .python-version`",
        )
        for name in MISSPELLED_VERSION_FILES
        if (app / name).is_file()
    ]  # fmt: skip


def hooks(app: Path) -> list[Finding]:
    """bin/pre_compile and bin/post_compile: the classic build runs them; the CNB ignores them."""
    findings: list[Finding] = []
    project = app / "project.toml"
    inline = project.is_file() and "io.buildpacks.group.script" in project.read_text(errors="replace")
    for name in ("pre_compile", "post_compile"):
        path = app / "bin" / name
        if not path.is_file():
            continue
        if not inline:  # with an inline buildpack in project.toml, the app already has Fir's replacement
            findings.append(warning(
                "HW712", f"bin/{name}", None, f"bin/{name} never runs on Fir (the Python CNB ignores it)",
                "run build steps from an inline buildpack in project.toml (as this template does)",
            ))  # fmt: skip
        first = path.read_bytes().split(b"\n", 1)[0]
        if first.startswith(b"#!") and first.endswith(b"\r"):
            findings.append(error(
                "HW711", f"bin/{name}", 1, f"bin/{name} has CRLF line endings: its `#!` line fails",
                f"convert it: `sed -i 's/\\r$//' bin/{name}` (and commit it with LF)",
            ))  # fmt: skip
    return findings


def stack(app: Path) -> str:
    """The stack from app.json's `stack`, else Heroku's default."""
    try:
        data = json.loads((app / "app.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return DEFAULT_STACK
    value = data.get("stack") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value in STACK_GLIBC else DEFAULT_STACK


def check_stack(app: Path) -> list[Finding]:
    try:
        data = json.loads((app / "app.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return []
    value = data.get("stack") if isinstance(data, dict) else None
    if not isinstance(value, str) or value in STACK_GLIBC:
        return []
    why = (
        "has reached end-of-life"
        if value in EOL_STACKS or value.startswith("cedar")
        else "is not a Heroku stack"
    )
    return [error(
        "HW713", "app.json", None, f"stack `{value}` {why}: the Python buildpack refuses it",
        f"set `\"stack\": \"{DEFAULT_STACK}\"` in app.json (supported: {', '.join(STACK_GLIBC)})",
    )]  # fmt: skip


def forbidden_env(app: Path) -> list[Finding]:
    """Config vars in app.json `env` that the Python CNB refuses (it checks them before installing)."""
    try:
        data = json.loads((app / "app.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return []
    env = data.get("env") if isinstance(data, dict) else None
    found = [name for name in FORBIDDEN_ENV_VARS if isinstance(env, dict) and name in env]
    if not found:
        return []
    return [error(
        "HW904", "app.json", None, f"app.json sets {', '.join(found)}: the Python CNB fails the build on it",
        f"remove {', '.join(found)} from app.json `env` (and `heroku config:unset {' '.join(found)}`)",
    )]  # fmt: skip
