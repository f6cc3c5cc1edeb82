"""What `transform` returns (`Output`) and what a store receives (`Batch`): job rows plus output tables.

`Output.rows` are the job rows to store (Event's fields and the EXTRA columns transform adds); each entry of
`Output.tables` holds rows for one table of schema.OUTPUTS, each with a `job` column naming the job it comes
from. `Batch` is the same as columns (validate.Rows), checked against schema.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .schema import JOB, KEY, OUTPUTS, STORED, types_of
from .validate import Rows


class Output(NamedTuple):
    """transform's result: the job rows to store, and rows for output tables (name -> rows).

    With pandas, a DataFrame each; without, a list of Events or dicts each (see transform.py).
    """

    rows: Any
    tables: dict[str, Any]  # {} when transform feeds no table


@dataclass(frozen=True)
class Batch:
    """What a store saves in one transaction: job rows, and per output table its rows (with JOB)."""

    rows: Rows
    tables: dict[str, Rows] = field(default_factory=dict)

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
