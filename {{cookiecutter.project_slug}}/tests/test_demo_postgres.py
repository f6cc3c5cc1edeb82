"""The demo's tests that need PostgreSQL: "first" and "least" merges read back with SQL, and the demo's
tables from before versioned migrations. Delete this file with test_demo.py when the demo goes."""

from __future__ import annotations

import os
import sys

from conftest import PROJECT
from store_support import StoreServices

FIRSTS = """
import json
import sys

import msgspec

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
from {package} import config, prepare, queue_protocol, store
from {package}.output import Batch, Rows

s = store.Store(config.load())


def save(events, amounts):
    for event, amount in zip(events, amounts):
        event.update(account="x", amount=amount)
    jobs = [queue_protocol.Job(f"0-{{i}}", json.dumps(e).encode(), 1) for i, e in enumerate(events)]
    rows = prepare.prepare(jobs).batch.rows
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


def test_first_keeps_the_earliest_job_in_batch_order_and_least_the_lowest(services: StoreServices) -> None:
    services.create_table(
        "CREATE TABLE seen (account text PRIMARY KEY, first_amount numeric, lowest numeric, note text)"
    )
    import subprocess

    script = FIRSTS.format(package="events_worker")
    env = {**services.env, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "tests")])}  # eventgen
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(5.0, 0.5, '5.0')]"


# --- the demo's history: its tables existed before versioned migrations -----------------------------------


def test_a_database_from_before_versioned_migrations_is_adopted(
    redis_url: str, queue_name: str, database_url: str
) -> None:
    """Tables created by the old `CREATE TABLE IF NOT EXISTS` migrate are kept, with their rows."""
    from events_worker import migrator

    fresh = StoreServices(redis_url, queue_name, database_url)
    try:
        fresh.execute(migrator.shipped()[0].sql, "INSERT INTO events VALUES ('old', 'a', 1, now())")
        assert fresh.cli("migrate").returncode == 0
        assert fresh.stored_keys() == ["old"]
    finally:
        fresh.cleanup()
