"""The team's own logic: edit `transform` to filter, enrich or reshape a batch, and to feed output tables."""

from __future__ import annotations

from .output import Output
from .schema import Event


def transform(events: list[Event]) -> Output:
    """Return what to store for one batch of valid events with unique keys.

    Each Event has the fields declared in schema.py (the demo: id, account, amount as an exact Decimal,
    occurred_at as a UTC datetime). `rows`: the job rows to store, as the events themselves or as dicts that
    also hold the columns of schema.EXTRA; leave one out to skip it (its job still counts as done, and its
    rows for output tables are not stored: a job's outputs are recorded with its row). `tables`: for each
    table of schema.OUTPUTS, one dict per contributing job with `job` (the job's key) and the table's
    columns; the store merges only the rows of jobs it stores for the first time (a redelivered job adds
    nothing). Raise to fail the batch: the worker splits it to find the jobs that fail, retries those with
    backoff and dead-letters them after MAX_DELIVERIES.
    """
    totals = [
        {
            "job": e.id,
            "account": e.account,
            "total_amount": e.amount,
            "event_count": 1,
            "last_event_at": e.occurred_at,
        }
        for e in events
    ]
    return Output(events, {"account_totals": totals})
