"""PYTHONPATH that hides /app: a dyno sets PYTHONPATH=${PYTHONPATH:-/app}, so a user value replaces /app."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .findings import Finding, error

_WHY = "console-script and `python dir/x.py` processes then cannot import the app"


def _covers_app(value: str, app: Path | None = None) -> bool:
    entries = value.split(":")
    accepted = {"/app", "/app/", ".", "./", "", "$HOME", "${HOME}"}
    if app is not None:
        accepted |= {str(app), str(app.resolve())}
    return any(entry in accepted for entry in entries)


def check_environment(app: Path, environ: Mapping[str, str]) -> list[Finding]:
    """At build time (`--build`) Heroku config vars are in the environment."""
    value = environ.get("PYTHONPATH")
    if value is None or _covers_app(value, app):
        return []
    return [
        error(
            "HW902",
            None,
            None,
            f"config var PYTHONPATH={value!r} lacks /app: {_WHY}",
            f"`heroku config:unset PYTHONPATH`, or `heroku config:set PYTHONPATH=/app:{value}`",
        )
    ]


def check_files(app: Path) -> list[Finding]:
    findings: list[Finding] = []
    app_json = app / "app.json"
    if app_json.is_file():
        try:
            env = json.loads(app_json.read_text(encoding="utf-8-sig")).get("env", {})
        except (ValueError, AttributeError):
            env = {}
        spec = env.get("PYTHONPATH") if isinstance(env, dict) else None
        value = spec.get("value") if isinstance(spec, dict) else spec
        if isinstance(value, str) and not _covers_app(value):
            line = next(
                (n for n, s in enumerate(app_json.read_text().splitlines(), 1) if '"PYTHONPATH"' in s), None
            )
            findings.append(
                error(
                    "HW903",
                    "app.json",
                    line,
                    f"app.json sets PYTHONPATH={value!r} without /app: {_WHY}",
                    "remove PYTHONPATH from app.json `env`, or make it start with `/app:`",
                )
            )
    dotenv = app / ".env"
    if dotenv.is_file():
        for number, raw in enumerate(dotenv.read_text(errors="replace").splitlines(), 1):
            entry = raw.strip().removeprefix("export ").strip()
            if entry.startswith("PYTHONPATH="):
                value = entry.split("=", 1)[1].strip().strip("'\"")
                if not _covers_app(value):
                    findings.append(
                        error(
                            "HW903",
                            ".env",
                            number,
                            f".env sets PYTHONPATH={value!r} without /app or `.`: {_WHY}",
                            "delete the PYTHONPATH line (or use `PYTHONPATH=.`) so processes import from "
                            "the app root",
                        )
                    )
    return findings
