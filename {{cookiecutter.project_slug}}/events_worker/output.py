"""What `transform` returns (`Output`) and what a store receives (`Batch`): job rows plus output tables.

`Output.rows` are the job rows to store (Event's fields and the EXTRA columns transform adds); each entry of
`Output.tables` holds rows for one table of schema.OUTPUTS, each with a `job` column naming the job it comes
from. `Batch` is the same as columns (`Rows`), checked against schema.py.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from .queue_protocol import Job
from .schema import JOB, KEY, OUTPUTS, STORED, TYPES, UTC, decimals_of, types_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Rows:
    """Valid events as columns (name -> list of values, one per event), ready for the store.

    Values are str, int, float, Decimal, bool or date; times are integer microseconds since 1970 UTC (cheap
    to produce from pandas and from datetimes, exact, and one format for every store).
    """

    columns: dict[str, list[Any]]

    @property
    def keys(self) -> list[Any]:
        return self.columns[KEY]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    @classmethod
    def of(cls, items: Sequence[Any], types: dict[str, type] | None = None) -> Rows:
        """From Structs (attributes) or dicts (items) holding these columns (default: Event's fields)."""
        types = TYPES if types is None else types
        names = list(types)
        dicts = bool(items) and isinstance(items[0], dict)
        get: Callable[[Any], Any] = itemgetter(*names) if dicts else attrgetter(*names)
        if not items:
            values: list[list[Any]] = [[] for _ in names]
        elif len(names) == 1:
            values = [list(map(get, items))]
        else:
            values = [list(column) for column in zip(*map(get, items), strict=True)]
        columns: dict[str, list[Any]] = {}
        for name, column in zip(names, values, strict=True):
            if types[name] is datetime:
                column = [(v - EPOCH) // ONE_MICROSECOND for v in column]
            columns[name] = column
        return cls(columns)


class Output(NamedTuple):
    """transform's result: the job rows to store, and rows for output tables (name -> rows).

    With pandas, a DataFrame each; without, a list of Events or dicts each (see transform.py).
    """

    rows: Any
    tables: dict[str, Any]  # {} when transform feeds no table


@dataclass(frozen=True)
class Batch:
    """What a store saves in one transaction: job rows, and per output table its rows (with JOB).

    `encoded`: what the store's `encode` made of it ahead of `save` (None: not yet); immutable, so that a
    batch saved again after a pause is saved whole.
    """

    rows: Rows
    tables: dict[str, Rows] = field(default_factory=dict)
    encoded: Any = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.rows)


def columns_for(table: str) -> dict[str, type]:
    """The columns transform must give for an output table: JOB (typed like the job key), then the table's."""
    return {JOB: STORED[KEY], **types_of(OUTPUTS[table].row)}


def check_names(out: object) -> None:
    """transform must return an Output whose tables schema.OUTPUTS declares (else a bug: raise, say so)."""
    if not isinstance(out, Output):
        raise TypeError(f"transform() must return Output(rows, tables), not {type(out).__name__}")
    unknown = sorted(set(out.tables) - set(OUTPUTS))
    if unknown:
        raise ValueError(f"transform() returned tables {unknown} that schema.OUTPUTS does not declare")


def missing(kind: str, needed: dict[str, type], present: Collection[str]) -> None:
    """Raise (a bug in transform) when a column that the store needs is absent."""
    absent = [name for name in needed if name not in present]
    if absent:
        raise ValueError(f"transform() must return {kind} with the columns {list(needed)}; missing {absent}")


def combine(name: str, rows: Rows, jobs: Container[Any]) -> Rows:
    """An output table's rows of the jobs in `jobs`, one per table key, merged as its declaration says.

    Rows keep their order (the first job of the batch decides "first"; a column without a merge is kept
    from it). The key may be several columns (a tuple per row). An "add" on a column with declared decimals
    (a float or Decimal) sums each value rounded half up to them, as the
    database rounds a stored value, so a total is exactly the sum of the values stored with the jobs.
    NULLs are skipped by add, greatest and least, as SQL's aggregates skip them.
    """
    table = OUTPUTS[name]
    decimals = decimals_of(table.row)
    c = rows.columns
    if not all(map(jobs.__contains__, c[JOB])):  # usually every job is wanted: nothing to filter
        keep = [i for i, job in enumerate(c[JOB]) if job in jobs]
        c = {column: [values[i] for i in keep] for column, values in c.items()}
    key = table.key
    keys = c[key[0]] if len(key) == 1 else list(zip(*(c[k] for k in key), strict=True))
    slots: dict[Any, int] = {}
    where = [slots.setdefault(k, len(slots)) for k in keys]
    if len(key) == 1:
        out = {key[0]: list(slots)}
    else:  # one list per key column; none of them has a value when no job of the batch is new
        out = dict(zip(key, map(list, zip(*slots, strict=True)) if slots else ([] for _ in key), strict=True))
    for column in types_of(table.row):
        if column in key:
            continue
        merge, values = table.merge.get(column, "first"), c[column]
        if merge == "add" and column in decimals:  # exact sums: in whole units, then back to decimals
            step = decimals[column]
            sums = fold(merge, where, units(values, step), len(slots))
            out[column] = [None if u is None else Decimal(u).scaleb(-step) for u in sums]
        else:
            out[column] = fold(merge, where, values, len(slots))
    return Rows(out)


def units(values: list[Any], decimals: int) -> list[Any]:
    """Each value in whole units of 10**-decimals (ints), rounded half up from the value's decimal form as
    PostgreSQL rounds a stored value. Float arithmetic is exact for values with at most that many decimals
    (the usual case, ~5x faster than Decimal); any other value goes through Decimal."""
    scale = 10**decimals
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        if isinstance(v, Decimal):  # exact already: round half up as the database does
            out.append(int((v * scale).to_integral_value(ROUND_HALF_UP)))
            continue
        x = v * scale
        u = round(x)
        if not -1e-6 < x - u < 1e-6:  # more decimals than declared, or too large for float to be exact
            u = int((Decimal(repr(v)) * scale).to_integral_value(ROUND_HALF_UP))
        out.append(u)
    return out


def fold(merge: str, where: list[int], values: list[Any], size: int) -> list[Any]:
    """Fold each value into its slot (`where`): add, greatest, least, or first (the earliest value)."""
    acc: list[Any] = [None] * size
    if merge == "first":
        for i, v in zip(reversed(where), reversed(values), strict=True):
            acc[i] = v
        return acc
    pairs = zip(where, values, strict=True)
    if None in values:
        pairs = ((i, v) for i, v in pairs if v is not None)  # type: ignore[assignment]
    if merge == "add":
        zero = type(next((v for v in values if v is not None), 0))()  # 0, 0.0 or Decimal 0: no mixed sums
        acc = [zero] * size
        for i, v in pairs:
            acc[i] += v
        return acc
    better = max if merge == "greatest" else min
    for i, v in pairs:
        old = acc[i]
        acc[i] = v if old is None else better(old, v)
    return acc


class Prepared(NamedTuple):
    """What a batch becomes: what to store, and the jobs refused with their reason."""

    batch: Batch
    refused: list[tuple[Job, str]]
