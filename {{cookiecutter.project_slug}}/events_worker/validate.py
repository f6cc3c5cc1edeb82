"""Validation of one job against the declared shape (schema.py), and the reason a job is refused.

One decoder serves every path (the worker with or without pandas, `enqueue`), so the same payload gets the
same reason everywhere. msgspec's messages are turned into this project's wording here, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from .queue_protocol import Job
from .schema import KEY, TEXT_FIELDS, UTC, Event, decoder

__all__ = ["UTC", "Event", "Invalid", "check_payload", "reason", "set_unknown_fields"]

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)
_NOUNS = {
    "str": "a string",
    "float": "a number",
    "int": "an integer",
    "bool": "true or false",
    "datetime": "an RFC 3339 date-time string",
    "decimal": "a number",
    "date": "an ISO 8601 date string",
    "object": "a JSON object",
    "array": "a JSON array",
}


class Invalid(ValueError):
    """A job that can never succeed; its message is the reason kept with the dead letter."""


def set_unknown_fields(policy: str) -> None:
    """UNKNOWN_FIELDS: "ignore" (the default) or "refuse" a field the shape does not declare."""
    global _decode
    _decode = decoder(policy).decode


_decode = decoder().decode


def reason(exc: msgspec.MsgspecError) -> str:
    """msgspec's message in this project's words: `amount must be a number, got str`."""
    if not isinstance(exc, msgspec.ValidationError):  # (a ValidationError is a DecodeError too)
        return f"malformed JSON: {str(exc).removeprefix('JSON is malformed: ')}"
    match = _AT.match(str(exc))
    message, path = (match["message"], match["path"] or "") if match else (str(exc), "")
    if found := re.fullmatch(r"Expected `(\w+)`, got `(\w+)`", message):
        want, got = _NOUNS.get(found[1], found[1]), found[2]
        return f"{path} must be {want}, got {got}" if path else f"expected {want}, got {got}"
    if found := re.fullmatch(r"Object missing required field `(.+)`", message):
        return f"missing field {path + '.' if path else ''}{found[1]}"
    if found := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return f"unknown field {found[1]} (UNKNOWN_FIELDS=refuse)"
    if found := re.fullmatch(r"Expected `\w+` of length (.+)", message):
        return f"{path} must be of length {found[1]}"
    if found := re.fullmatch(r"Expected `\w+` ([<>]=? .+)", message):
        return f"{path} out of range (must be {found[1]})"
    if message == "Number out of range":
        return f"{path} out of range"
    if found := re.fullmatch(r"Invalid enum value (.*)", message, re.DOTALL):
        return f"{path} is not one of its allowed values ({found[1]})"
    if message == "Invalid decimal string":
        return f"{path} must be a number, got a string that is not one"
    if message == "Invalid RFC3339 encoded date":
        return f"{path} is not an ISO 8601 date (YYYY-MM-DD)"
    if message.startswith("Invalid RFC3339"):
        return f"{path} is not an RFC 3339 date-time"
    return f"{path} {message}" if path else message


def check_batch(payloads: list[bytes]) -> list[Event] | None:
    """Every payload's Event when all are valid (the usual batch: one pass, no Python frame per job), else
    None (then check each with check_payload to learn which and why)."""
    if b"\\u0000" in b"".join(payloads):  # (one search in C; a false hit only takes the slower path)
        return None
    try:
        return list(map(_decode, payloads))
    except msgspec.MsgspecError:
        return None
    except RecursionError:  # (msgspec skips an unknown field recursively: one nested too deep)
        return None


def check_payload(payload: bytes | str) -> Event:
    """The valid Event in one payload (JSON text), or Invalid with the reason: what every path runs."""
    try:
        event = _decode(payload)
    except msgspec.MsgspecError as exc:
        raise Invalid(reason(exc)) from None
    except RecursionError:  # e.g. an unknown field nested 100,000 deep: bad input, not a fault of the worker
        raise Invalid("malformed JSON: nested too deeply") from None
    if b"\\u0000" in payload if isinstance(payload, bytes) else "\\u0000" in payload:
        for name in TEXT_FIELDS:  # PostgreSQL's text cannot hold NUL (only an escape can put one in JSON)
            if "\x00" in getattr(event, name):
                raise Invalid(f"{name} contains a NUL character")
    return event


def decode(jobs: Sequence[Job]) -> tuple[list[Event], list[tuple[Job, str]]]:
    """The valid events of a batch (first of each key), and the refused jobs with their reason."""
    events: dict[object, Event] = {}
    refused: list[tuple[Job, str]] = []
    valid = check_batch([job.payload for job in jobs])
    if valid is not None:  # the usual case: every job valid
        for event in valid:
            events.setdefault(getattr(event, KEY), event)
        return list(events.values()), refused
    for job in jobs:
        try:
            event = check_payload(job.payload)
        except Invalid as exc:
            refused.append((job, str(exc)))
            continue
        events.setdefault(getattr(event, KEY), event)
    return list(events.values()), refused
