"""Turning a batch of jobs into what to store: decode and validate (schema.py), de-duplicate, transform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .output import Batch, check_names, columns_for, missing
from .queue_protocol import Job
from .schema import KEY, STORED, Event
from .transform_plain import transform
from .validate import Invalid, Rows, check_batch, check_payload


class Prepared(NamedTuple):
    """What a batch becomes: what to store, and the jobs refused with their reason."""

    batch: Batch
    refused: list[tuple[Job, str]]


def prepare(jobs: Sequence[Job]) -> Prepared:
    """Validate every job, keep the first of each key, apply transform, and check what it returns."""
    events: dict[object, Event] = {}
    refused: list[tuple[Job, str]] = []
    valid = check_batch([job.payload for job in jobs])
    for event in valid or ():  # the usual case: every job valid, decoded in one pass
        events.setdefault(getattr(event, KEY), event)
    for job in jobs if valid is None else ():
        try:
            event = check_payload(job.payload)
        except Invalid as exc:
            refused.append((job, str(exc)))
            continue
        events.setdefault(getattr(event, KEY), event)
    out = transform(list(events.values()))
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
