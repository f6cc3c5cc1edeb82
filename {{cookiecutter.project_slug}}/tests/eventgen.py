"""Test events of the declared shape (schema.py), and what storing them must give.

Every value derives from the field's declaration in `schema.Event`, so a team's own shape gets valid test
events without editing this file: a `Literal` or a `Meta(examples=[...])` gives the values to pick from; a
number keeps within its declared bounds (and decimals); text within its length. A field whose rule a type
cannot say (a pattern, a check in `__post_init__`) declares `Meta(examples=[...])`. Text fields other than the
key take one of `groups` values, so output tables keyed by them group several jobs.

What the store must hold for a list of events (`expected`) is what the package's own `prepare` and
`output.combine` make of them as one batch: the first job of each key, the rows transform keeps, the output
tables merged per key. The tests compare that with what the workers stored across many batches, crashes and
redeliveries; `canon` puts both sides in one form (times as microseconds, exact numbers as Decimal).
"""

from __future__ import annotations

import json
import random
import typing
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from events_worker.output import combine
from events_worker.prepare import prepare
from events_worker.queue_protocol import Job
from events_worker.schema import KEY, OUTPUTS, Event, decimals_of, types_of

EPOCH = datetime(1970, 1, 1, tzinfo=datetime.fromisoformat("2000-01-01T00:00:00+00:00").tzinfo)
FIELDS = msgspec.structs.fields(Event)
# A field other than the key that every payload must carry: what the tests leave out or spoil.
OTHER = next(f.name for f in FIELDS if f.name != KEY and f.required)


def bounds(field: msgspec.structs.FieldInfo) -> dict[str, Any]:
    """The field's declared constraints (msgspec.Meta), merged: ge, lt, min_length, examples …"""
    out: dict[str, Any] = {}
    for meta in getattr(field.type, "__metadata__", ()):
        if isinstance(meta, msgspec.Meta):
            out.update({k: getattr(meta, k) for k in ("ge", "gt", "le", "lt", "min_length", "max_length")})
            out.update(examples=meta.examples, decimals=(meta.extra or {}).get("decimals"))
    return {k: v for k, v in out.items() if v is not None}


def number(limits: dict[str, Any], low: float, high: float) -> tuple[float, float]:
    """A range of plain sample values, inside the declared bounds."""
    low = max(low, limits.get("ge", low), limits.get("gt", low - 1) + 1)
    high = min(high, limits.get("le", high), limits.get("lt", high + 1) - 1)
    return low, max(low, high)


def value(field: msgspec.structs.FieldInfo, i: int, rng: random.Random, groups: int, key: str) -> Any:
    """One JSON value for a field of Event: the key, or a sample the declaration accepts."""
    if field.name == KEY:
        return key
    kind = field.type
    if typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    limits = bounds(field)
    if "examples" in limits:
        return rng.choice(limits["examples"])
    if typing.get_origin(kind) is typing.Literal:
        return rng.choice(typing.get_args(kind))
    if kind is str:
        text = f"{field.name}-{rng.randrange(groups)}"
        return text[: limits.get("max_length", len(text))].ljust(limits.get("min_length", 0), "x")
    if kind is bool:
        return rng.random() < 0.5
    if kind is int:
        low, high = number(limits, -1000, 1000)
        return rng.randint(int(low), int(high))
    if kind is float or kind is Decimal:
        places = limits.get("decimals", 2)
        low, high = number(limits, -100, 1000)
        sample = Decimal(rng.randint(int(low * 10**places), int(high * 10**places))).scaleb(-places)
        return float(sample) if kind is float else str(sample)  # Decimal as a string: exact in JSON
    if kind is datetime:
        return f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z"
    if kind is date:
        return f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
    raise TypeError(f"eventgen has no sample for {field.name}: {field.type}; declare Meta(examples=[...])")


def make_events(count: int, seed: int = 1, groups: int = 50, prefix: str = "evt") -> list[dict[str, Any]]:
    """`count` valid events with unique keys (prefix-seed-i), reproducible from the seed."""
    rng = random.Random(seed)
    return [{f.name: value(f, i, rng, groups, f"{prefix}-{seed}-{i}") for f in FIELDS} for i in range(count)]


def event(key: str, seed: int = 0) -> dict[str, Any]:
    """One valid event with this key."""
    return {**make_events(1, seed=seed)[0], KEY: key}


def invalid(key: str) -> dict[str, Any]:
    """An event with this key that validation refuses (its reason starts with OTHER): a list for a value."""
    return {**event(key), OTHER: ["not", "a", "value"]}


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


# --- what the store must hold ----------------------------------------------------------------------------


def canon(kind: type, value: Any, decimals: int | None = None) -> Any:
    """One stored value in one form, whatever store or path it comes from."""
    if value is None:
        return None
    if kind is datetime:
        if isinstance(value, datetime):
            return (value - EPOCH) // timedelta(microseconds=1)
        return int(value)
    if kind is date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if kind is Decimal or (kind is float and decimals is not None):
        exact = Decimal(repr(value) if isinstance(value, float) else str(value))
        return exact.quantize(Decimal(1).scaleb(-decimals)) if decimals is not None else exact.normalize()
    if kind is float:
        return float(value)
    if kind is int:
        return int(value)
    if kind is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("t", "true", "1")
    return str(value)


def canon_table(name: str, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """An output table's rows as {key values: other values}, each value in canonical form."""
    table = OUTPUTS[name]
    types, decimals = types_of(table.row), decimals_of(table.row)
    others = [c for c in types if c not in table.key]

    def one(column: str, row: dict[str, Any]) -> Any:
        return canon(types[column], row.get(column), decimals.get(column))

    return {tuple(one(k, row) for k in table.key): tuple(one(c, row) for c in others) for row in rows}


class Stored(NamedTuple):
    """What the store holds: the job keys (sorted) and each output table in canonical form."""

    keys: list[Any]
    tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]


def expected(events: list[dict[str, Any]]) -> Stored:
    """What storing these events (each once, in any batches) must give: the package's own rules, one batch."""
    jobs = [Job(f"1-{i}", json.dumps(e).encode(), 1) for i, e in enumerate(events)]
    batch = prepare(jobs).batch
    keys = set(batch.rows.keys)
    tables = {}
    for name in OUTPUTS:
        rows = batch.tables.get(name)
        combined = combine(name, rows, keys).columns if rows is not None else {}
        values = zip(*combined.values(), strict=True)
        tables[name] = canon_table(name, [dict(zip(combined, row, strict=True)) for row in values])
    return Stored(sorted(keys), tables)
