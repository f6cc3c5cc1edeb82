"""Turning a batch of jobs into what to store: decode and validate (schema.py), de-duplicate, transform."""

from __future__ import annotations

from collections.abc import Sequence

from .output import Batch, Prepared, Rows, check_names, columns_for, missing
from .queue_protocol import Job
from .schema import STORED
from .transform_plain import transform
from .validate import decode


def prepare(jobs: Sequence[Job]) -> Prepared:
    """Validate every job, keep the first of each key, apply transform, and check what it returns."""
    events, refused = decode(jobs)
    out = transform(events)
    check_names(out)
    if out.rows and isinstance(out.rows[0], dict):
        missing("rows", STORED, out.rows[0])
    tables = {}
    for name, items in out.tables.items():
        needed = columns_for(name)
        if items:
            missing(f"table {name}", needed, items[0])
        tables[name] = Rows.of(items, needed)
    return Prepared(Batch(Rows.of(out.rows, STORED), tables), refused)
