"""The demo's own tests: its shape (id, account, amount, occurred_at), its table account_totals, its history.

Delete this file when you replace the demo with your own shape (schema.py) and tables: every other test
builds its jobs, SQL and expectations from schema.py and eventgen, and keeps testing your shape.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, Services, wait_until
from eventgen import expected, lines, make_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_worker import assert_stored_exactly_once

from events_worker.prepare import prepare
from events_worker.queue_protocol import Job
from events_worker.schema import MAX_TEXT
from events_worker.validate import Invalid, check_payload

UTC = timezone(timedelta(0))
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)
amounts = st.one_of(
    st.integers(min_value=-(10**10), max_value=10**10),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(float),
)
moments = st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
valid_events = st.fixed_dictionaries(
    {"id": text, "account": text, "amount": amounts, "occurred_at": moments.map(lambda d: d.isoformat())}
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
any_events = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(text, json_values, st.text(min_size=MAX_TEXT, max_size=MAX_TEXT + 5)),
        "account": st.one_of(text, json_values),
        "amount": st.one_of(amounts, json_values, st.integers(), st.just(10**400), st.just(1e308)),
        "occurred_at": st.one_of(moments.map(lambda d: d.isoformat()), json_values, st.text(max_size=30)),
    },
)


def event(**fields: object) -> bytes:
    """A payload: a valid event with some fields replaced (None: left out); raw JSON via bytes values."""
    base: dict[str, object] = {"id": "i", "account": "a", "amount": 1, "occurred_at": "2025-01-01T00:00:00Z"}
    base.update(fields)
    parts = [
        f'"{k}": ' + (v.decode() if isinstance(v, bytes) else json.dumps(v))
        for k, v in base.items()
        if v is not None
    ]
    return ("{" + ", ".join(parts) + "}").encode()


def jobs_of(records: list[Any]) -> list[Job]:
    return [Job(f"1-{i}", json.dumps(r).encode(), 1) for i, r in enumerate(records)]


@given(valid_events)
def test_valid_events_are_accepted_and_normalised(event: dict[str, Any]) -> None:
    stored = check_payload(json.dumps(event))
    amount = Decimal(repr(event["amount"]))  # exactly what the JSON says
    assert (stored.id, stored.account, stored.amount) == (event["id"], event["account"], amount)
    assert stored.occurred_at == datetime.fromisoformat(event["occurred_at"])
    assert stored.occurred_at.tzinfo is not None and stored.occurred_at.utcoffset() == timedelta(0)


@given(any_events)
def test_any_record_is_stored_or_refused_with_a_reason(record: dict[str, Any]) -> None:
    try:
        event = check_payload(json.dumps(record))
    except Invalid as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert 1 <= len(event.id) <= MAX_TEXT and abs(event.amount) < 10**11


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(valid_events, any_events), min_size=1, max_size=30))
def test_batch_pipeline_agrees_with_the_plain_rules(records: list[dict[str, Any]]) -> None:
    jobs = jobs_of(records)
    prepared = prepare(jobs)
    expected_rows: dict[str, tuple[str, Decimal, int]] = {}
    expected_refused: dict[str, str] = {}
    for job in jobs:
        try:
            event = check_payload(job.payload)
        except Invalid as exc:
            expected_refused[job.entry_id] = str(exc)
            continue
        micros = (event.occurred_at - EPOCH) // timedelta(microseconds=1)
        expected_rows.setdefault(event.id, (event.account, event.amount, micros))
    assert {job.entry_id: reason for job, reason in prepared.refused} == expected_refused
    c = prepared.batch.rows.columns
    assert len(c["id"]) == len(set(c["id"]))
    columns = zip(c["id"], c["account"], c["amount"], c["occurred_at"], strict=True)
    got = {i: (a, u, t) for i, a, u, t in columns}
    assert got == expected_rows


def test_duplicates_within_a_batch_keep_the_first() -> None:
    base = {"account": "a", "occurred_at": "2025-01-01T00:00:00Z"}
    records = [
        {"id": "x", "amount": 1, **base},
        {"id": "x", "amount": 2, **base},
        {"id": "y", "amount": 3, **base},
    ]
    prepared = prepare(jobs_of(records))
    columns = prepared.batch.rows.columns
    assert columns["id"] == ["x", "y"] and columns["amount"] == [1, 3]
    assert prepared.refused == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b'"just a string"', "expected a JSON object, got str"),
        (event(id=None), "missing field id"),
        (event(id=5), "id must be a string, got int"),
        (event(id=""), "id must be of length >= 1"),
        (event(id="x" * 10_000), "id must be of length <= 255"),
        (event(id=b'"a\\u0000b"'), "id contains a NUL character"),
        (event(account=b'"\\ud800"'), "malformed JSON: .*surrogate"),
        (event(amount=True), "amount must be a number, got bool"),
        (event(amount=b"NaN"), "malformed JSON"),
        (event(amount=1e308), "amount out of range"),
        (event(amount=b"9" * 400), "amount out of range"),
        (event(occurred_at="yesterday"), "occurred_at is not an RFC 3339 date-time"),
        (event(occurred_at="2025-01-01"), "occurred_at is not an RFC 3339 date-time"),
        (event(occurred_at="1800-01-01T00:00:00Z"), "occurred_at must be from 1900 to 2200"),
        (event(occurred_at="9999-12-31T23:00:00-05:00"), "occurred_at must be from 1900 to 2200"),
        (event(extra=b'"ignored"', occurred_at="2025-01-01T00:00"), "occurred_at is not an RFC 3339"),
        (event(occurred_at=1700000000), "occurred_at must be an RFC 3339 date-time string, got int"),
        (event(extra=b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),  # was RecursionError: retried
    ],
)
def test_refusal_reasons(payload: bytes, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        check_payload(payload)
    prepared = prepare([Job("1-0", payload, 1)])
    assert len(prepared.refused) == 1 and re.search(reason, prepared.refused[0][1])
    assert len(prepared.batch) == 0


# --- output tables: the demo's account_totals, and a team's aggregate fed from the demo's fields ---

LAUNCHER = """
import runpy, sys
import msgspec
from {package} import schema


class DailyCount(msgspec.Struct):
    day: str
    events: int
    max_amount: float


schema.OUTPUTS["daily_counts"] = schema.Table(
    DailyCount, key=("day",), merge={{"events": "add", "max_amount": "greatest"}}
)  # declared before the store is imported: it derives its statements from OUTPUTS once
from {package} import prepare
from {package}.output import Output

demo = prepare.transform


def transform(events):
    out = demo(events)
    if hasattr(events, "columns"):  # pandas
        daily = events[["id", "amount"]].rename(columns={{"id": "job", "amount": "max_amount"}})
        daily["day"] = events["occurred_at"].dt.strftime("%Y-%m-%d")
        daily["events"] = 1
    else:
        daily = [
            {{"job": e.id, "day": e.occurred_at.strftime("%Y-%m-%d"), "events": 1, "max_amount": e.amount}}
            for e in events
        ]
    return Output(out.rows, {{**out.tables, "daily_counts": daily}})


prepare.transform = transform
sys.argv = [{instrumented!r}]
runpy.run_path({instrumented!r}, run_name="__main__")
"""
TABLE = "CREATE TABLE daily_counts (day text PRIMARY KEY, events bigint NOT NULL, max_amount numeric)"


def launcher(tmp_path: Path) -> list[str]:
    script = tmp_path / "team_worker.py"
    script.write_text(
        LAUNCHER.format(
            package="events_worker",
            instrumented=str(PROJECT / "tests" / "instrumented_worker.py"),
        )
    )
    return [sys.executable, str(script)]


def expected_daily(events: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    days: dict[str, list[float]] = defaultdict(list)
    for event in {e["id"]: e for e in reversed(events)}.values():  # first of each id
        days[event["occurred_at"][:10]].append(float(event["amount"]))
    return {day: (len(amounts), max(amounts)) for day, amounts in days.items()}


def daily_counts(services: Services) -> dict[str, tuple[int, float]]:
    rows = services.read_table("daily_counts", "day", ["events", "max_amount"])
    return {str(day): (int(n), float(top)) for day, (n, top) in rows.items()}


def test_a_redelivered_job_changes_no_table_not_even_a_team_aggregate(
    services: Services, tmp_path: Path
) -> None:
    services.create_table(TABLE)  # the team's migration
    events = make_events(1200, seed=51)
    events += [dict(events[3], amount=12345.0)]  # the same id again, other content: the first one counts
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    command = launcher(tmp_path)
    crashed = services.start_worker(command, BATCH_SIZE="200", TEST_EXIT_AFTER_SAVE="2")
    assert crashed.wait(60) != 0  # died right after its 2nd commit, before acking that batch
    assert services.status()["in_flight"] > 0, "nothing was left to redeliver"
    committed = daily_counts(services)
    assert committed, "the crashed worker committed nothing"
    survivor = services.start_worker(command, BATCH_SIZE="200")
    wait_until(services.drained, 90, what="the queue drained after the crash")
    assert "event=jobs_reclaimed" in survivor.log.read_text()
    assert daily_counts(services) == expected_daily(events)
    ids = services.stored_keys()
    assert len(ids) == len(set(ids)) == 1200
    assert_stored_exactly_once(services, events)


def test_a_job_stored_before_adds_nothing_to_the_demo_table(services: Services) -> None:
    """Each output table gets its writes from the declaration, applied only for the jobs just inserted."""
    import json

    from events_worker import prepare, queue_protocol, store

    a, b, c = make_events(3, seed=4)

    def batch(*events: dict[str, Any]) -> Any:
        """The batch the worker would store for these events (transform included)."""
        jobs = [queue_protocol.Job(f"0-{i}", json.dumps(e).encode(), 1) for i, e in enumerate(events)]
        return prepare.prepare(jobs).batch

    for event, amount in ((a, 1.5), (b, 2.0), (c, 4.0)):
        event.update(account="x", amount=amount)
    saver = store.Store(services.config())
    try:
        assert saver.save(batch(b)) == 1
        assert saver.save(batch(a, dict(b, amount=99.0), c)) == 2  # b is stored already: adds nothing
    finally:
        saver.close()
    stored = services.stored()
    assert stored == expected([b, a, c])
    total, count, _ = stored.tables["account_totals"][("x",)]
    assert (total, count) == (Decimal("7.5000"), 3)


def test_combine_merges_per_key_in_batch_order_for_the_given_jobs_only() -> None:
    from events_worker.output import Rows, combine

    columns: dict[str, list[Any]] = {
        "job": ["a", "b", "c", "d"],
        "account": ["x", "y", "x", "x"],
        "total_amount": [1.5, 2.0, 4.0, 100.0],
        "event_count": [1, 1, 1, 1],
        "last_event_at": [7, 9, 8, 1],
    }
    merged = combine("account_totals", Rows(columns), {"a", "b", "c"})  # d: not new, adds nothing
    assert merged.columns["account"] == ["x", "y"]
    assert [str(v) for v in merged.columns["total_amount"]] == ["5.5000", "2.0000"]
    assert merged.columns["event_count"] == [2, 1]
    assert merged.columns["last_event_at"] == [8, 9]
