"""Config vars an app reads at import: a crash without them is the dyno's configuration, not a defect.

A bot that refuses to start without its token, or `ValueError("No encryption key configured")` at import,
crash here only because the var is unset on this machine; on Heroku it is set (`heroku config:set`), and the
checker cannot know its value. Such a crash is HW414, a warning that names the variable, never an error. It
counts only when the file that raised reads an unset var at or before the failing line; a missing module, a
syntax error or a wrong name stays an error (those crash with any configuration).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# os.environ["X"], os.environ.get("X"), os.getenv("X"), environ["X"], and env("X") / config("X") helpers.
_READS = re.compile(
    r"""(?:environ(?:\.get)?\s*[\[(]|getenv\s*\(|\benv\s*\(|\bconfig\s*\()\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# Crashes no configuration can cause: the code or its dependencies are wrong whatever the dyno sets.
_NEVER_CONFIG = (
    "ModuleNotFoundError", "ImportError", "SyntaxError", "IndentationError", "TabError", "NameError",
)  # fmt: skip


def unset_reads(app: Path, file: str | None, line: int | None, error: str) -> list[str]:
    """The unset config vars that `file` reads up to `line`, where an import raised `error` ([] if none)."""
    if not file or not line or error.startswith(_NEVER_CONFIG):
        return []
    path = Path(file) if Path(file).is_absolute() else app / file
    try:
        head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:line]
    except OSError:
        return []
    names = dict.fromkeys(_READS.findall("\n".join(head)))
    return [name for name in names if not os.environ.get(name)]


def message(names: list[str]) -> str:
    return f"needs config var {', '.join(names)} (unset here; it crashes at import without it)"


FIX = "set it on Heroku (`heroku config:set NAME=...`) and list it in app.json `env`; then this passes"
