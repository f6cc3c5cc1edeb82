"""The team's own logic: edit `transform` to filter, enrich or reshape a batch, and to feed output tables."""

from __future__ import annotations

import pandas as pd

from .output import Output


def transform(events: pd.DataFrame) -> Output:
    """Return what to store for one batch of valid events with unique keys.

    `events`: one column per field declared in schema.py, with its dtype (the demo: id and account as str,
    amount as exact Decimals (object dtype), occurred_at datetime64 in UTC; a date field: date objects).
    `rows`: the job rows to store, with the columns of schema.EXTRA added; drop a row to skip it (its job
    still counts as done, and its rows for output tables are not stored: a job's outputs are recorded with
    its row).
    `tables`: for each table of schema.OUTPUTS, a DataFrame with one row per contributing job, a `job`
    column (the job's key) and the table's columns; the store merges only the rows of jobs it stores for
    the first time (a redelivered job adds nothing). Raise to fail the batch: the worker splits it to find
    the jobs that fail, retries those with backoff and dead-letters them after MAX_DELIVERIES.
    """
    totals = pd.DataFrame(
        {
            "job": events["id"],
            "account": events["account"],
            "total_amount": events["amount"],
            "event_count": 1,
            "last_event_at": events["occurred_at"],
        }
    )
    return Output(events, {"account_totals": totals})
