"""Anything transform returns is stored exactly once: a team's aggregate survives a crash before the ack.

The team's aggregate (`daily_counts`: per day, how many events and the largest amount) is declared and fed
the way the README's walkthrough says (a Table in schema.OUTPUTS, rows from transform), here by a small
launcher that adds it before the real worker (tests/instrumented_worker.py) starts.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from conftest import PROJECT, Services, wait_until
from eventgen import lines, make_events

{% raw -%}
LAUNCHER = """
import runpy, sys
import msgspec
sys.path.insert(0, {project!r})
from {package} import prepare, schema
from {package}.output import Output


class DailyCount(msgspec.Struct):
    day: str
    events: int
    max_amount: float


schema.OUTPUTS["daily_counts"] = schema.Table(
    DailyCount, key=("day",), merge={{"events": "add", "max_amount": "greatest"}}
)
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
{%- endraw %}
TABLE = "CREATE TABLE daily_counts (day text PRIMARY KEY, events bigint NOT NULL, max_amount numeric)"


def launcher(tmp_path: Path) -> list[str]:
    script = tmp_path / "team_worker.py"
    script.write_text(
        LAUNCHER.format(
            project=str(PROJECT),
            package="{{ cookiecutter.__package_name }}",
            instrumented=str(PROJECT / "tests" / "instrumented_worker.py"),
        )
    )
    return [sys.executable, str(script)]


def expected(events: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    days: dict[str, list[float]] = defaultdict(list)
    for event in {e["id"]: e for e in reversed(events)}.values():  # first of each id
        days[event["occurred_at"][:10]].append(event["amount"])
    return {day: (len(amounts), max(amounts)) for day, amounts in days.items()}


def daily_counts(services: Services) -> dict[str, tuple[int, float]]:
{%- if cookiecutter.use_postgres %}
    rows = services.query("SELECT day, events, max_amount FROM daily_counts")
    return {day: (int(n), float(top)) for day, n, top in rows}
{%- else %}
    prefix = "{" + services.queue_name + "}:daily_counts:"
    counts = services.redis.hgetall(prefix + "events")
    tops = services.redis.hgetall(prefix + "max_amount")
    return {day.decode(): (int(n), float(tops[day])) for day, n in counts.items()}
{%- endif %}


def test_a_redelivered_job_changes_no_table_not_even_a_team_aggregate(
    services: Services, tmp_path: Path
) -> None:
{%- if cookiecutter.use_postgres %}
    import psycopg2

    with psycopg2.connect(services.database_url) as conn, conn.cursor() as cur:
        cur.execute(TABLE)  # the team's migration
    conn.close()
{%- endif %}
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
    assert "event=jobs_reclaimed" in survivor.log.read_text()  # type: ignore[attr-defined]
    assert daily_counts(services) == expected(events)
    ids = services.stored_ids()
    assert len(ids) == len(set(ids)) == 1200
    assert services.totals() == services.totals_from_events()


def test_transform_returning_an_undeclared_table_fails_the_jobs_loudly() -> None:
    from {{ cookiecutter.__package_name }}.output import Output, check_names

    try:
        check_names(Output([], {"nowhere": []}))
    except ValueError as exc:
        assert "schema.OUTPUTS does not declare" in str(exc) and "nowhere" in str(exc)
    else:
        raise AssertionError("an undeclared table was accepted")


def test_the_store_is_derived_from_the_declaration(services: Services) -> None:
    """Each output table gets its writes from the declaration, applied only for the jobs just inserted."""
{%- if cookiecutter.use_postgres %}
    import json

    from {{ cookiecutter.__package_name }} import prepare, queue, store

    assert any("stage_account_totals" in stage for stage in store.STAGES)
    assert 'RETURNING "id"' in store.SAVE
    assert '"total_amount" = t."total_amount" + EXCLUDED."total_amount"' in store.SAVE
    a, b, c = make_events(3, seed=4)

    def batch(*events: dict[str, Any]) -> Any:
        """The batch the worker would store for these events (transform included)."""
        jobs = [queue.Job(f"0-{i}", json.dumps(e).encode(), 1) for i, e in enumerate(events)]
        return prepare.prepare(jobs).rows

    for event, amount in ((a, 1.5), (b, 2.0), (c, 4.0)):
        event.update(account="x", amount=amount)
    saver = store.Store(services.config())
    try:
        assert saver.save(batch(b)) == 1
        assert saver.save(batch(a, dict(b, amount=99.0), c)) == 2  # b is stored already: adds nothing
    finally:
        saver.close()
    [(total, count, last, latest)] = services.query(
        "SELECT total_amount, event_count, last_event_at, (SELECT max(occurred_at) FROM events)"
        " FROM account_totals WHERE account = 'x'"
    )
    assert (float(total), count, last) == (7.5, 3, latest)


{% raw -%}
FIRSTS = """
import json
import sys

import msgspec

sys.path.insert(0, {tests!r})
from {package} import schema


class Seen(msgspec.Struct):
    account: str
    first_amount: float
    lowest: float
    note: str  # no merge declared: kept from the first job, like "first"


schema.OUTPUTS["seen"] = schema.Table(
    Seen, key=("account",), merge={{"first_amount": "first", "lowest": "least"}}
)
from eventgen import make_events
from {package} import config, prepare, queue, store
from {package}.output import Batch
from {package}.validate import Rows

s = store.Store(config.load())


def save(events, amounts):
    for event, amount in zip(events, amounts):
        event.update(account="x", amount=amount)
    jobs = [queue.Job(f"0-{{i}}", json.dumps(e).encode(), 1) for i, e in enumerate(events)]
    rows = prepare.prepare(jobs).rows.rows
    seen = {{"job": [e["id"] for e in events], "account": ["x"] * len(events), "first_amount": amounts}}
    seen.update(lowest=amounts, note=[str(a) for a in amounts])
    s.save(Batch(rows, {{"seen": Rows(seen)}}))


events = make_events(5, seed=8)
save([events[2], events[0], events[1]], [5.0, 1.0, 3.0])  # batch order, not key order, decides "first"
save(events[3:], [0.5, 9.0])
with s.connect().cursor() as cur:
    cur.execute("SELECT first_amount, lowest, note FROM seen")
    print([(float(first), float(lowest), note) for first, lowest, note in cur.fetchall()])
s.close()
"""
{%- endraw %}


def test_first_keeps_the_earliest_job_in_batch_order_and_least_the_lowest(services: Services) -> None:
    services.execute(
        "CREATE TABLE seen (account text PRIMARY KEY, first_amount numeric, lowest numeric, note text)"
    )
    import subprocess

    script = FIRSTS.format(package="{{ cookiecutter.__package_name }}", tests=str(PROJECT / "tests"))
    env = {**services.env, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(5.0, 0.5, '5.0')]"
{%- else %}
    from {{ cookiecutter.__package_name }}.output import Batch
    from {{ cookiecutter.__package_name }}.store import Store
    from {{ cookiecutter.__package_name }}.validate import Rows

    columns = {
        "job": ["a"],
        "account": ["x"],
        "total_amount": [1.5],
        "event_count": [1],
        "last_event_at": [7],
    }
    rows = Rows(columns)
    store = Store(services.config())
    q = "{" + services.queue_name + "}:account_totals:"
    try:
        ops = store.ops(Batch(Rows({"id": ["a"]}), {"account_totals": rows}))
    finally:
        store.close()
    assert ops == {"a": [
        "add", q + "total_amount", "x", 15000,
        "add", q + "event_count", "x", 1,
        "max", q + "last_event_at", "x", 7,
    ]}  # fmt: skip
{%- endif %}


def test_combine_merges_per_key_in_batch_order_for_the_given_jobs_only() -> None:
    from {{ cookiecutter.__package_name }}.output import combine
    from {{ cookiecutter.__package_name }}.validate import Rows

    columns = {
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


def test_combine_with_a_two_column_key_when_no_job_of_the_batch_is_new(monkeypatch: Any) -> None:
    """A redelivered batch (no new job) of a table keyed on two columns: nothing to merge, not a crash
    (before: `zip() argument 2 is shorter`, taken for a database error and retried forever)."""
    import msgspec

    from {{ cookiecutter.__package_name }} import output, schema
    from {{ cookiecutter.__package_name }}.validate import Rows

    class Daily(msgspec.Struct):
        currency: str
        day: str
        total: int

    table = schema.Table(Daily, key=("currency", "day"), merge={"total": "add"})
    monkeypatch.setitem(schema.OUTPUTS, "daily", table)
    jobs = ["a", "b", "c"]
    columns = {"job": jobs, "currency": ["EUR", "EUR", "USD"], "day": ["d1"] * 3, "total": [1, 2, 3]}
    assert output.combine("daily", Rows(columns), set()).columns == {"currency": [], "day": [], "total": []}
    merged = output.combine("daily", Rows(columns), {"a", "b", "c"}).columns
    assert merged == {"currency": ["EUR", "USD"], "day": ["d1", "d1"], "total": [3, 3]}


def test_sums_are_exact_and_round_each_value_half_up_as_the_database_does() -> None:
    """Each value counts as the database stores it (round half up to the declared decimals), exactly."""
    import random
    from decimal import ROUND_HALF_UP, Decimal

    from {{ cookiecutter.__package_name }}.output import units

    rng = random.Random(5)
    values = [
        round(rng.uniform(-m, m), rng.choice([0, 2, 4, 5, 7, 12])) for m in (1, 1e4, 1e9, 9.9e10) * 5000
    ]
    values += [0.00005, -0.00005, 1.00005, 2.00015, 0.12345, 99999999999.99995, 123.45675, 0.1, 0.7]
    expected = [int((Decimal(repr(v)) * 10**4).to_integral_value(ROUND_HALF_UP)) for v in values]
    assert units(values, 4) == expected
    assert sum(units([0.1] * 10, 4)) == 10_000  # 0.1 ten times is exactly 1 (in floats it is not)
{%- if cookiecutter.use_postgres %}


def test_a_batch_encoded_once_is_stored_whole_when_saved_again_after_a_failure(services: Services) -> None:
    """The worker encodes a batch once and saves it again after a pause: the encoding must be reusable."""
    import psycopg2

    from {{ cookiecutter.__package_name }} import prepare, queue, store

    payloads = lines(make_events(300, seed=9)).splitlines()
    jobs = [queue.Job(f"0-{i}", payload, 1) for i, payload in enumerate(payloads)]
    saver = store.Store(services.config())
    try:
        batch = saver.encode(prepare.prepare(jobs).rows)
        services.execute("ALTER TABLE account_totals RENAME TO parked")  # as if the table went missing
        try:
            saver.save(batch)
        except psycopg2.Error:
            pass
        else:
            raise AssertionError("the save did not fail")
        services.execute("ALTER TABLE parked RENAME TO account_totals")
        assert saver.save(batch) == 300
    finally:
        saver.close()
    assert len(services.stored_ids()) == 300
    assert services.totals() == services.totals_from_events()
{%- endif %}
