"""Validation of one event: the rules, their limits and the reason a job is refused (plain Python)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from json.scanner import make_scanner
from typing import Any, NamedTuple

MAX_TEXT = 255  # characters in id and account
MAX_AMOUNT = 10**11  # |amount| must be below this
AMOUNT_SCALE = 10_000  # amounts are kept as whole units of 0.0001
UTC = timezone(timedelta(0))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
FIELDS = ("id", "account", "amount", "occurred_at")
_DECODER = json.JSONDecoder()
_decode_json = _DECODER.decode
# The C scanner under json.loads, without its Python layers (typeshed wants a scanner as its argument: a TODO
# there; any object with the decoder's settings is what it takes).
_scan_json = make_scanner(_DECODER)  # type: ignore[arg-type]


class Event(NamedTuple):
    """A valid, normalised event: amount in units of 1/AMOUNT_SCALE, time in microseconds since 1970 UTC."""

    id: str
    account: str
    amount_units: int
    occurred_us: int


class Rows(NamedTuple):
    """Valid events as columns, ready for the store."""

    ids: list[str]
    accounts: list[str]
    amount_units: list[int]
    occurred_us: list[int]

    @classmethod
    def of(cls, events: Iterable[Event]) -> Rows:
        columns = list(zip(*events, strict=True))
        if not columns:
            return cls([], [], [], [])
        return cls(list(columns[0]), list(columns[1]), list(columns[2]), list(columns[3]))


class Invalid(ValueError):
    """A job that can never succeed; its message is the reason kept with the dead letter."""


def loads(text: str) -> Any:
    """json.loads(text), a third faster for the usual job (a JSON document with no blanks around it).

    Anything else (blanks around, extra data, an error) goes through the full decoder, which gives the same
    value or raises the same error.
    """
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        end = -1
    return value if end == len(text) else _decode_json(text)


def parse_json(payload: bytes | str) -> dict[str, Any]:
    """The JSON object in payload, or Invalid."""
    try:
        value = loads(payload.decode("utf-8") if isinstance(payload, bytes) else payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Invalid(f"expected a JSON object, got {type(value).__name__}")
    return value


def check_text(name: str, value: object) -> str:
    """id and account: a non-empty string of at most MAX_TEXT characters that PostgreSQL can store."""
    if value is None:
        raise Invalid(f"missing field {name}")
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string, got {type(value).__name__}")
    if not value or len(value) > MAX_TEXT:
        raise Invalid(f"{name} must be 1-{MAX_TEXT} characters, got {len(value)}")
    if "\x00" in value:
        raise Invalid(f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{name} is not valid Unicode (lone surrogate)") from None
    return value


def amount_units(value: object) -> int:
    """amount: a finite JSON number below MAX_AMOUNT in size, as whole units of 1/AMOUNT_SCALE."""
    if value is None:
        raise Invalid("missing field amount")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"amount must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid("amount must be finite")
    if not -MAX_AMOUNT < value < MAX_AMOUNT:
        raise Invalid(f"amount out of range (|amount| < {MAX_AMOUNT:g})")
    return value * AMOUNT_SCALE if isinstance(value, int) else round(value * AMOUNT_SCALE)


def occurred_us(value: object) -> int:
    """occurred_at: ISO 8601 text (no zone means UTC) from 1900 to 2200, as microseconds since 1970."""
    if value is None:
        raise Invalid("missing field occurred_at")
    if not isinstance(value, str):
        raise Invalid(f"occurred_at must be an ISO 8601 string, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"occurred_at is not ISO 8601: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        if not EARLIEST <= moment < LATEST:
            raise Invalid("occurred_at out of range (1900-2200)")
    except OverflowError:
        raise Invalid("occurred_at out of range (1900-2200)") from None
    return (moment - EPOCH) // ONE_MICROSECOND


def check(record: dict[str, Any]) -> Event:
    """The normalised Event for one decoded job, or Invalid with the first reason found."""
    return Event(
        check_text("id", record.get("id")),
        check_text("account", record.get("account")),
        amount_units(record.get("amount")),
        occurred_us(record.get("occurred_at")),
    )


def check_payload(payload: bytes | str) -> Event:
    """parse_json then check: what `enqueue` runs on every line before queueing it."""
    return check(parse_json(payload))
