"""What transform returns, merged and stored: output tables combined per key, sums exact, a batch saved whole.

These tests declare their own tables or read schema.py, so they hold for any shape a team declares.
"""

from __future__ import annotations

import os
from typing import Any

from conftest import Services


def test_transform_returning_an_undeclared_table_fails_the_jobs_loudly() -> None:
    from events_worker.output import Output, check_names

    try:
        check_names(Output([], {"nowhere": []}))
    except ValueError as exc:
        assert "schema.OUTPUTS does not declare" in str(exc) and "nowhere" in str(exc)
    else:
        raise AssertionError("an undeclared table was accepted")


def test_combine_with_a_two_column_key_when_no_job_of_the_batch_is_new(monkeypatch: Any) -> None:
    """A redelivered batch (no new job) of a table keyed on two columns: nothing to merge, not a crash
    (before: `zip() argument 2 is shorter`, taken for a database error and retried forever)."""
    import msgspec

    from events_worker import output, schema
    from events_worker.output import Rows

    class Daily(msgspec.Struct):
        currency: str
        day: str
        total: int

    table = schema.Table(Daily, key=("currency", "day"), merge={"total": "add"})
    monkeypatch.setitem(schema.OUTPUTS, "daily", table)
    jobs = ["a", "b", "c"]
    columns: dict[str, list[Any]] = {
        "job": jobs,
        "currency": ["EUR", "EUR", "USD"],
        "day": ["d1"] * 3,
        "total": [1, 2, 3],
    }
    assert output.combine("daily", Rows(columns), set()).columns == {"currency": [], "day": [], "total": []}
    merged = output.combine("daily", Rows(columns), {"a", "b", "c"}).columns
    assert merged == {"currency": ["EUR", "USD"], "day": ["d1", "d1"], "total": [3, 3]}


def test_sums_are_exact_and_round_each_value_half_up_as_the_database_does() -> None:
    """Each value counts as the database stores it (round half up to the declared decimals), exactly."""
    import random
    from decimal import ROUND_HALF_UP, Decimal

    from events_worker.output import units

    rng = random.Random(5)
    values = [
        round(rng.uniform(-m, m), rng.choice([0, 2, 4, 5, 7, 12])) for m in (1, 1e4, 1e9, 9.9e10) * 5000
    ]
    values += [0.00005, -0.00005, 1.00005, 2.00015, 0.12345, 99999999999.99995, 123.45675, 0.1, 0.7]
    expected = [int((Decimal(repr(v)) * 10**4).to_integral_value(ROUND_HALF_UP)) for v in values]
    assert units(values, 4) == expected
    assert sum(units([0.1] * 10, 4)) == 10_000  # 0.1 ten times is exactly 1 (in floats it is not)


PAIRS = """
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Annotated

import msgspec

from {package} import schema


class Pair(msgspec.Struct):
    bucket: str
    day: date
    total: Annotated[Decimal, msgspec.Meta(extra={{"digits": 12, "decimals": 2}})]
    jobs: int
    last_day: date


schema.OUTPUTS["pairs"] = schema.Table(
    Pair, key=("bucket", "day"), merge={{"total": "add", "jobs": "add", "last_day": "greatest"}}
)
from eventgen import make_events
from {package} import config, prepare, queue_protocol, store
from {package}.output import Batch, Rows

s = store.Store(config.load())
events = make_events(40, seed=12)
KEY = schema.KEY


def pair(i):
    return {{
        "bucket": f"b{{i % 2}}", "day": date(2025, 1, 1 + i % 3), "total": Decimal(i * 101) / 100,
        "jobs": 1, "last_day": date(2025, 2, 1 + i % 7),
    }}


def save(indexes):
    jobs = [queue_protocol.Job(f"0-{{i}}", json.dumps(events[i]).encode(), 1) for i in indexes]
    rows = prepare.prepare(jobs).batch.rows  # the job rows transform keeps
    kept = [i for i in indexes if events[i][KEY] in set(rows.keys)]
    columns = {{"job": [events[i][KEY] for i in kept]}}
    for name in ("bucket", "day", "total", "jobs", "last_day"):
        columns[name] = [pair(i)[name] for i in kept]
    return s.save(Batch(rows, {{"pairs": Rows(columns)}})), kept


new, kept = save(range(20))
again, _ = save(range(20))  # delivered again, whole: no job is new
more, kept_more = save(range(10, 40))  # half of it delivered before
if hasattr(s, "table"):  # Redis
    table = [(*k.split("|"), v) for k, v in s.table("pairs").items()]
    got = sorted((b, d, v["total"], v["jobs"], v["last_day"]) for b, d, v in table)
else:
    with s.connect().cursor() as cur:
        cur.execute("SELECT bucket, day::text, total::text, jobs, last_day::text FROM pairs")
        got = sorted(cur.fetchall())
want = {{}}
for i in sorted(set(kept) | set(kept_more)):
    p = pair(i)
    key = (p["bucket"], str(p["day"]))
    total, jobs, last = want.get(key, (Decimal(0), 0, p["last_day"]))
    want[key] = ((total + p["total"]).quantize(Decimal("0.01")), jobs + 1, max(last, p["last_day"]))
print(json.dumps({{
    "counts": [new, again, more, len(kept), len(set(kept_more) - set(kept))],
    "got": [list(map(str, row)) for row in got],
    "want": sorted([[*k, str(t), str(n), str(d)] for k, (t, n, d) in want.items()]),
}}))
s.close()
"""


def test_decimal_and_date_columns_with_a_two_column_key_stay_exact_on_redelivery(services: Services) -> None:
    """An output table keyed on (text, date) with an exact money sum and a latest date: each job counts once,
    whether its batch is new, delivered again whole (no job new), or half new."""
    import json
    import subprocess
    import sys

    from conftest import PROJECT

    services.create_table(
        "CREATE TABLE pairs (bucket text, day date, total numeric(12, 2) NOT NULL DEFAULT 0, jobs bigint,"
        " last_day date, PRIMARY KEY (bucket, day))"
    )

    script = PAIRS.format(package="events_worker")
    env = {**services.env, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "tests")])}  # eventgen
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    new, again, more, first, second = out["counts"]
    assert (new, again, more) == (first, 0, second), "a redelivered job was stored again"
    assert out["got"] == out["want"]
