"""What the worker takes and stores, declared once: the job's fields, types, limits and idempotency key
(`Event`, `KEY`), the columns `transform` adds to the stored rows (`EXTRA`) and the output tables it feeds
(`OUTPUTS`).

Everything else derives from `Event` below: validation with the same reasons on every path (the worker with
or without pandas, `enqueue`), the DataFrame's columns and dtypes, the store's columns (PostgreSQL's staging
table and COPY, the Redis layout) and the tests' event generator. msgspec decodes and validates a payload in
one pass, in C; `__post_init__` adds the rules a type cannot say. To change the shape, edit `Event`, ship a
migration for the new column and adapt `transform` (the README's "Make it yours" walks through it).
An output table gets one row per contributing job from `transform` (column `job`: the job's key); the store
merges into the table only the rows of jobs whose key it newly recorded, in the same transaction, so a job
delivered twice changes no table.
"""

from __future__ import annotations

import decimal
import functools
import typing
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

# The tzinfo msgspec gives a time ending in "Z" (datetime's UTC singleton): the usual case is one `is` test.
_Z = msgspec.json.decode(b'"2000-01-01T00:00:00Z"', type=datetime).tzinfo
assert _Z is not None
UTC: tzinfo = _Z
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_TEXT = 255  # characters in a text field

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]


# Money: an exact Decimal, like PostgreSQL's numeric(digits, decimals); a JSON number or string, refused
# (never rounded) with more decimals or digits. Here |amount| < 10**11, to 4 decimals (column numeric(20, 4)).
# Yours, e.g.: Money = Annotated[Decimal, Meta(extra={"digits": 12, "decimals": 2})] and numeric(12, 2).
Amount = Annotated[Decimal, Meta(extra={"digits": 15, "decimals": 4})]


class Shape(msgspec.Struct):
    """Base of Event: the rules a type cannot say, checked for every field of their kind as a job decodes.

    A datetime must be from 1900 to 2200 and is kept in UTC (no zone means UTC); a Decimal that declares
    digits and decimals must fit them (a refusal, never a rounding: an amount of money is not guessed).
    """

    def __post_init__(self) -> None:
        times, exacts = rules(type(self))
        for name in times:
            at = getattr(self, name)
            if at is not None and (at.tzinfo is not UTC or not EARLIEST <= at < LATEST):  # usual: in range, Z
                setattr(self, name, moment(name, at))
        for name, step, context, digits, decimals in exacts:
            value = getattr(self, name)
            if value is None:  # an optional field left out
                continue
            try:  # usually all in C: the context traps a rounding and an overflow; NaN stays NaN, != itself
                if value.quantize(step, context=context) == value:
                    continue
            except ArithmeticError:
                pass
            exact(name, value, digits, decimals)  # raises, with the reason


class Event(Shape):
    """One job, as producers send it: a JSON object with these fields (in the store, in this order)."""

    id: Text  # the idempotency key (KEY): a job whose key is already stored adds nothing
    account: Text
    amount: Amount  # exact: 12.5 or "12.50"; 12.34567 is refused (4 decimals at most)
    occurred_at: datetime  # RFC 3339 date-time; without a zone it is UTC; 1900 <= t < 2200


KEY = "id"
JOB_TABLE = "events"  # where the job rows are stored: the PostgreSQL table (a migration), the Redis hash

# Columns that transform adds to the stored job rows (name -> type), after Event's fields; each needs a
# column in JOB_TABLE (a migration).
EXTRA: dict[str, type] = {}


class AccountTotal(msgspec.Struct):
    """The demo's output table (`account_totals`): per account, the sum, count and latest event time."""

    account: str
    total_amount: Amount
    event_count: int
    last_event_at: datetime


Merge = Literal["add", "greatest", "least", "first"]


@dataclass(frozen=True)
class Table:
    """An output table: its row (a Struct: column names and types), its key, and how a new row merges.

    merge: for each non-key column, how the rows of one batch combine with each other and with the stored
    row: "add" (sums, counts), "greatest"/"least" (latest/earliest), "first" (kept once set).
    """

    row: type[msgspec.Struct]
    key: tuple[str, ...]
    merge: dict[str, Merge]


OUTPUTS: dict[str, Table] = {
    "account_totals": Table(
        AccountTotal,
        key=("account",),
        merge={"total_amount": "add", "event_count": "add", "last_event_at": "greatest"},
    ),
}
JOB = "job"  # in an output row from transform: the key of the job it comes from


def moment(name: str, value: datetime) -> datetime:
    """A time in range, in UTC (no zone means UTC); ValueError (the reason) otherwise."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the year 9999 in UTC
        value = LATEST
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name} must be from {EARLIEST.year} to {LATEST.year}")
    return value


# A Decimal field's check: its name, smallest step, a context that traps, digits, decimals.
Exact = tuple[str, Decimal, decimal.Context, int, int]


@functools.cache  # once per class: the checks of one job are then two short loops
def rules(shape: type[msgspec.Struct]) -> tuple[tuple[str, ...], tuple[Exact, ...]]:
    """What Shape checks: the datetime fields, and the Decimal fields that declare digits and decimals."""
    times = tuple(name for name, kind in types_of(shape).items() if kind is datetime)
    traps = [decimal.Inexact, decimal.InvalidOperation]  # a rounding, more digits than the precision
    exacts = tuple(
        (name, Decimal(1).scaleb(-decimals), decimal.Context(prec=digits, traps=traps), digits, decimals)
        for name, (digits, decimals) in exact_of(shape).items()
    )
    return times, exacts


def exact(name: str, value: Decimal, digits: int, decimals: int) -> None:
    """ValueError (the reason) unless value is finite, with at most `decimals` decimals and fits `digits`."""
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number")
    if value.adjusted() >= digits - decimals:  # (the exponent of its first digit: no arithmetic, no overflow)
        raise ValueError(f"{name} out of range (must be below 10^{digits - decimals} in magnitude)")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -decimals and value != round(value, decimals):
        raise ValueError(f"{name} has more than {decimals} decimals")


# --- derived from the declaration (nothing below names a field) ------------------------------------------


def kind_of(annotation: Any) -> type:
    """The column type of an annotation: Annotated[T, ...] and T | None are T; Literal["a", "b"] is str."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is Literal:
        return type(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and type(None) in typing.get_args(annotation):  # an optional column
        return kind_of(args[0])
    return typing.cast(type, annotation)


@functools.cache  # one answer per declaration; callers copy before changing it
def types_of(row: type[msgspec.Struct]) -> dict[str, type]:
    """Column name -> Python type (str, int, float, bool, Decimal, datetime, date), in declaration order."""
    return {field.name: kind_of(field.type) for field in msgspec.structs.fields(row)}


def extra_of(row: type[msgspec.Struct], what: str) -> dict[str, int]:
    """Column name -> the integer its Meta(extra={what: n}) declares, for the columns that declare it."""
    out: dict[str, int] = {}
    for field in msgspec.structs.fields(row):
        for meta in getattr(field.type, "__metadata__", ()):
            if isinstance(meta, Meta) and meta.extra and what in meta.extra:
                out[field.name] = int(meta.extra[what])
    return out


@functools.cache
def decimals_of(row: type[msgspec.Struct]) -> dict[str, int]:
    """Column name -> decimals kept (floats rounded to them, Decimals refused beyond them: see `money`)."""
    return extra_of(row, "decimals")


@functools.cache
def exact_of(row: type[msgspec.Struct]) -> dict[str, tuple[int, int]]:
    """Column name -> (digits, decimals), for the Decimal columns declared with `money`."""
    digits = extra_of(row, "digits")
    return {name: (digits[name], places) for name, places in decimals_of(row).items() if name in digits}


FIELDS: tuple[str, ...] = Event.__struct_fields__
TYPES: dict[str, type] = types_of(Event)
TEXT_FIELDS = tuple(name for name in FIELDS if TYPES[name] is str)
STORED: dict[str, type] = {**TYPES, **EXTRA}  # the columns of a stored job row
DECIMALS: dict[str, int] = decimals_of(Event)


class Strict(Event, forbid_unknown_fields=True):
    """Event, refusing fields it does not declare (UNKNOWN_FIELDS=refuse)."""


def decoder(unknown_fields: str = "ignore") -> msgspec.json.Decoder[Event]:
    """The JSON decoder for one job: unknown fields ignored (the default) or refused."""
    return msgspec.json.Decoder(Strict if unknown_fields == "refuse" else Event)


def as_dict(event: Event) -> dict[str, Any]:
    """The event's fields by name (times as datetimes)."""
    return {name: getattr(event, name) for name in FIELDS}
