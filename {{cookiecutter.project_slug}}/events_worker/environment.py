"""Environment variables: how a module declares one it reads (`Setting`), the error for a bad value
(`ConfigError`), and the `.env` file every command reads.

Standard library only: the project's noxfile imports it to read `.env` before any dependency is installed.
config.py holds the worker's settings; a store declares its own (store.SETTINGS).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and what is allowed."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: required/derived) and one line about it."""

    name: str
    default: str | None
    description: str


def read_dotenv(path: Path) -> dict[str, str]:
    """The NAME=value lines of a `.env` file (quotes, `export` and `#` comments allowed); {} without one.

    Written here rather than taken from python-dotenv: shell-style lines are all a `.env` needs, and the
    worker's slug then carries no extra dependency. A line shlex cannot read is a ConfigError naming the line,
    never its value (it may hold a password)."""
    if not path.is_file():
        return {}
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            words = [w for w in shlex.split(line, comments=True) if w != "export"]
        except ValueError as exc:
            raise ConfigError(f"{path.name} line {number}: {exc} (quote the value)") from None
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            if name.isidentifier():
                found[name] = value
    return found


def load_dotenv(environ: MutableMapping[str, str] | None = None, path: Path = Path(".env")) -> list[str]:
    """Add `.env`'s settings to the environment, the shell winning: a variable already set is kept.

    Every command of the project reads `.env` this way (`python -m <package> ...`, and nox through this
    function), so `MAX_DELIVERIES=3 python -m <package>` overrides `.env` everywhere. Returns the names added.
    On Heroku there is no `.env` (it is git-ignored): config vars are the environment.
    """
    environ = os.environ if environ is None else environ
    added = {name: value for name, value in read_dotenv(path).items() if name not in environ}
    environ.update(added)
    return list(added)
