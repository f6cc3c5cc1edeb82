"""Logging: one logfmt line per event on stdout (`at=info event=batch_stored jobs=500 ms=38`), no secrets."""

from __future__ import annotations

import re
import sys
import threading
from typing import TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
# userinfo up to the LAST "@" before the path: a raw "@" in a password (redis://:p@ss@host) stays hidden
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@", re.IGNORECASE)
# password=... in a query string or a libpq key=value DSN (quoted or not)
_PASSWORD_PARAM = re.compile(
    r"(?P<key>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|[^&\s'\"]*)", re.IGNORECASE
)
_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-,]+$")

_state = {"level": LEVELS["info"]}
_secrets: set[str] = set()  # passwords of the configured URLs, hidden wherever they appear
_lock = threading.Lock()
_stream: list[TextIO] = []


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:***@" if colon else match[0]


def mask(text: str) -> str:
    """The one masking function for every output (logs, CLI errors, status, dead letters): passwords -> ***.

    Covers URL userinfo (also with a raw "@" in the password), `password=` in query strings and in
    libpq key=value DSNs.
    """
    for secret in _secrets:
        text = text.replace(secret, "***")
    text = _USERINFO.sub(_userinfo, text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['key']}***", text)


def hide(*secrets: str) -> None:
    """Mask these exact strings too (the passwords the configuration holds), however they are printed."""
    _secrets.update(s for s in secrets if len(s) >= 3)


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
