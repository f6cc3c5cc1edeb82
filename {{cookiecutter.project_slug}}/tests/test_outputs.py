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
    assert "event=job_reclaimed" in survivor.log.read_text()  # type: ignore[attr-defined]
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
    from {{ cookiecutter.__package_name }} import store
    from {{ cookiecutter.__package_name }}.validate import Rows

    assert any("stage_account_totals" in stage for stage in store.STAGES)
    assert 'RETURNING "id"' in store.INSERT
    assert '"total_amount" = t."total_amount" + EXCLUDED."total_amount"' in store.MERGE["account_totals"]
    columns = {
        "job": ["a", "b", "c"],
        "account": ["x", "x", "x"],
        "total_amount": [1.5, 2.0, 4.0],
        "event_count": [1, 1, 1],
        "last_event_at": [7, 9, 8],
    }
    merged = store.combine("account_totals", Rows(columns), new={"a", "c"})  # b was stored before
    expected = {"account": ["x"], "total_amount": [5.5], "event_count": [2], "last_event_at": [8]}
    assert merged.columns == expected
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
