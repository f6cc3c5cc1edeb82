"""The job's shape, declared once: its fields, their types and limits, and which field is the idempotency key.

Everything else derives from `Event` below: validation with the same reasons on every path (the worker with
or without pandas, `enqueue`), the DataFrame's columns and dtypes, the store's columns (PostgreSQL's staging
table and COPY, the Redis layout) and the tests' event generator. msgspec decodes and validates a payload in
one pass, in C; `__post_init__` adds the rules a type cannot say. To change the shape, edit `Event`, ship a
migration for the new column and adapt `transform` (the README's "Make it yours" walks through it).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import msgspec
from msgspec import Meta

UTC = timezone(timedelta(0))
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_TEXT = 255  # characters in a text field
MAX_AMOUNT = 10**11  # |amount| must be below this

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
Amount = Annotated[float, Meta(gt=-MAX_AMOUNT, lt=MAX_AMOUNT)]  # stored to 4 decimals (numeric(20, 4))


class Event(msgspec.Struct):
    """One job, as producers send it: a JSON object with these fields (in the store, in this order)."""

    id: Text  # the idempotency key (KEY): a job whose key is already stored adds nothing
    account: Text
    amount: Amount
    occurred_at: datetime  # RFC 3339 date-time; without a zone it is UTC; 1900 <= t < 2200

    def __post_init__(self) -> None:
        self.occurred_at = moment("occurred_at", self.occurred_at)


KEY = "id"


def moment(name: str, value: datetime) -> datetime:
    """A time in range, in UTC (no zone means UTC); ValueError (the reason) otherwise."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the year 9999 in UTC
        value = LATEST
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name} must be from {EARLIEST.year} to {LATEST.year}")
    return value


# --- derived from the declaration (nothing below names a field) ------------------------------------------

FIELDS: tuple[str, ...] = Event.__struct_fields__
TYPES: dict[str, type] = {
    field.name: getattr(field.type, "__origin__", field.type) for field in msgspec.structs.fields(Event)
}
TEXT_FIELDS = tuple(name for name in FIELDS if TYPES[name] is str)


class Strict(Event, forbid_unknown_fields=True):
    """Event, refusing fields it does not declare (UNKNOWN_FIELDS=refuse)."""


def decoder(unknown_fields: str = "ignore") -> msgspec.json.Decoder[Event]:
    """The JSON decoder for one job: unknown fields ignored (the default) or refused."""
    return msgspec.json.Decoder(Strict if unknown_fields == "refuse" else Event)


def as_dict(event: Event) -> dict[str, Any]:
    """The event's fields by name (times as datetimes)."""
    return {name: getattr(event, name) for name in FIELDS}
