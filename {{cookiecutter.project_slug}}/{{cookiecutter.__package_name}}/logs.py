"""Logging: one logfmt line per event on stdout (`at=info event=batch_stored jobs=500 ms=38`), no secrets."""

from __future__ import annotations

import re
import sys
import threading
from typing import TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_PASSWORD_IN_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@", re.IGNORECASE
)
_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-,]+$")

_state = {"level": LEVELS["info"]}
_lock = threading.Lock()
_stream: list[TextIO] = []


def mask(text: str) -> str:
    """Replace the password in every URL inside text with ***."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def setup(level: str = "info", stream: TextIO | None = None) -> None:
    """Set the lowest level logged and, for tests, where lines go (stdout by default)."""
    _state["level"] = LEVELS[level]
    _stream[:] = [stream] if stream is not None else []


def _value(value: object) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else mask(str(value))
    if text and _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def log(level: str, event: str, **fields: object) -> None:
    """Write `at=<level> event=<event> key=value ...` as one line, flushed at once."""
    if LEVELS[level] < _state["level"]:
        return
    parts = [f"at={level}", f"event={event}"]
    parts.extend(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)
    line = " ".join(parts) + "\n"
    out = _stream[0] if _stream else sys.stdout
    with _lock:
        out.write(line)
        out.flush()


def debug(event: str, **fields: object) -> None:
    log("debug", event, **fields)


def info(event: str, **fields: object) -> None:
    log("info", event, **fields)


def warning(event: str, **fields: object) -> None:
    log("warning", event, **fields)


def error(event: str, **fields: object) -> None:
    log("error", event, **fields)
