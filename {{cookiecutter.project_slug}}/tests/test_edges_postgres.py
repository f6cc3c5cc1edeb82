"""The worker at PostgreSQL's edges: a read-only or restricted database, triggers, slow statements, its
secrets; each pauses the worker (never dead letters) or is one clear line."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import wait_until
from eventgen import event, lines, make_events
from store_support import StoreServices, as_role, schema_of
from test_edges import assert_pauses_then_drains, captured_logs, never_printed, paused_reason
from test_worker import assert_stored_exactly_once

from events_worker.schema import JOB_TABLE, KEY


def test_database_secrets_never_printed(services: StoreServices) -> None:
    never_printed(
        services,
        {
            "DATABASE_URL": "postgresql://u:p@ss-SECRET4@127.0.0.1:1/db",
            "DATABASE_URL ": "host=127.0.0.1 port=1 dbname=db user=u password=SECRET5",
            "DATABASE_URL  ": "host=h password=SECRET6 dbname",  # malformed: a configuration error
        },
    )
    worker = services.start_worker(DATABASE_URL="postgresql://u:p@ss-SECRET7@127.0.0.1:1/db")
    wait_until(lambda: "event=paused" in worker.log.read_text(), 30, what="the worker to pause")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    log = worker.log.read_text()
    assert "reason=database_unreachable" in log and "SECRET7" not in log and "p@ss" not in log


def database_name(services: StoreServices) -> str:
    return str(services.query("SELECT current_database()")[0][0])


def cut_connections(services: StoreServices) -> None:
    """Drop the worker's connections (a failover does): the next ones see the database's new state."""
    services.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database_name(services)}' AND pid <> pg_backend_pid()"
    )


def test_read_only_database_pauses_and_dead_letters_nothing(services: StoreServices) -> None:
    name = database_name(services)

    def read_only() -> None:
        services.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        cut_connections(services)

    def writable() -> None:
        services.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')

    try:
        assert_pauses_then_drains(services, "database_read_only", read_only, writable, seed=101)
    finally:
        writable()


def test_insert_revoked_pauses_and_dead_letters_nothing(services: StoreServices) -> None:
    """Heroku's "Access Restricted" (a plan over its storage): SELECT still works, INSERT is refused."""
    role = f"restricted_{services.queue_name.replace('-', '_')}"
    url = admin = services.database_url
    schema = schema_of(admin)
    services.execute(
        f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'",
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO {role}",
    )
    services.database_url = as_role(services.database_url, role, f"pw-{role}")
    services.env["DATABASE_URL"] = services.database_url
    try:
        assert_pauses_then_drains(
            services,
            "insufficient_privilege",
            lambda: services.execute(f"REVOKE INSERT ON ALL TABLES IN SCHEMA {schema} FROM {role}", url=url),
            lambda: services.execute(f"GRANT INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}", url=url),
            seed=102,
        )
    finally:
        services.stop_all()
        services.execute(f"DROP OWNED BY {role}", f"DROP ROLE {role}", url=admin)


def test_missing_table_pauses_and_dead_letters_nothing(services: StoreServices) -> None:
    assert_pauses_then_drains(
        services,
        "undefined_table",
        lambda: services.execute(f'ALTER TABLE "{JOB_TABLE}" RENAME TO away'),
        lambda: services.execute(f'ALTER TABLE away RENAME TO "{JOB_TABLE}"'),
        seed=103,
    )


def a_column_the_code_does_not_fill(services: StoreServices) -> tuple[Callable[[], None], Callable[[], None]]:
    """Break and fix: a NOT NULL column on the job table that no insert fills (a newer migration adds it)."""

    def add() -> None:
        services.execute(
            f"ALTER TABLE \"{JOB_TABLE}\" ADD COLUMN not_filled text NOT NULL DEFAULT 'web'",
            f'ALTER TABLE "{JOB_TABLE}" ALTER COLUMN not_filled DROP DEFAULT',
        )

    def drop() -> None:
        services.execute(f'ALTER TABLE "{JOB_TABLE}" DROP COLUMN not_filled')

    return add, drop


def test_a_constraint_every_job_violates_pauses_and_dead_letters_nothing(services: StoreServices) -> None:
    """A newer migration adds a NOT NULL column the running code does not fill: every insert fails with
    23502 (a constraint, class 23). Not the jobs' fault: pause, and lose none even with the dead-letter caps
    far below the number of jobs."""
    assert_pauses_then_drains(
        services,
        "every_job_failed_constraint_violation",
        *a_column_the_code_does_not_fill(services),
        seed=111,
        DEAD_LETTER_MAX_COUNT="100",
    )


def test_an_unclassified_store_error_is_blamed_on_a_job_only_with_proof(services: StoreServices) -> None:
    """A trigger raising (SQLSTATE P0001: not classified) for one job while others store: that job is dead;
    raising for every job: a systemic fault, the worker pauses and dead-letters nothing more."""
    header = "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
    refuse = header + " AS $$ BEGIN {} RETURN NEW; END $$"
    raise_it = "RAISE EXCEPTION 'refused by a trigger';"
    services.execute(
        refuse.format(f"IF NEW.\"{KEY}\"::text LIKE 'trig-%' THEN {raise_it} END IF;"),
        f'CREATE TRIGGER refuse BEFORE INSERT ON "{JOB_TABLE}" FOR EACH ROW EXECUTE FUNCTION refuse()',
    )
    events = make_events(1200, seed=108)
    trig = event("trig-1")
    services.cli("enqueue", "-", input=lines([*events[:100], trig, *events[100:200]])).check_returncode()
    with captured_logs() as out, services.worker_thread():
        sent = 200
        while services.status()["dead"] == 0:  # other jobs keep storing: the proof that it is trig-1's
            assert sent < 1000, "trig-1 was never dead-lettered"
            services.cli("enqueue", "-", input=lines(events[sent : sent + 20])).check_returncode()
            sent += 20
            time.sleep(0.2)
        services.cli("enqueue", "-", input=lines(events[sent:1000])).check_returncode()
        wait_until(lambda: services.drained(dead=1), 60, what="drained")
        services.execute(refuse.format("RAISE EXCEPTION 'refused by a trigger';"))
        services.cli("enqueue", "-", input=lines(events[1000:])).check_returncode()
        reason = "every_job_failed_database_error_p0001"
        wait_until(lambda: paused_reason(services) == reason, 60, what="paused: every job failed")
        assert services.status()["dead"] == 1
        services.execute(f'DROP TRIGGER refuse ON "{JOB_TABLE}"')
        wait_until(lambda: services.drained(dead=1), 60, what="drained once the trigger is gone")
    assert_stored_exactly_once(services, events)
    (record,) = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    assert '"trig-1"' in record["payload"] and "refused by a trigger" in record["error"]
    assert f"event=paused reason={reason}" in out.getvalue()


def test_jobs_the_transform_drops_are_no_proof_that_the_store_works(
    services: StoreServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transform that drops some jobs (the README invites it: refunds, test orders …) and a constraint that
    every stored job violates. A half of a batch that holds only dropped jobs saves no row: that proves
    nothing about the store, so no job is blamed; the worker pauses and loses none."""
    import hashlib

    from events_worker import prepare as prepare_module
    from events_worker.transform import transform

    demo: Any = transform  # the one prepare calls: on a DataFrame (pandas) or a list of events (plain)

    def kept(key: object) -> bool:  # the same jobs are dropped on every try, in every batch
        return hashlib.sha1(str(key).encode()).digest()[0] % 2 == 0

    def dropping(events: Any) -> Any:
        if isinstance(events, list):
            return demo([e for e in events if kept(getattr(e, KEY))])
        return demo(events[events[KEY].map(kept)])

    monkeypatch.setattr(prepare_module, "transform", dropping)
    assert_pauses_then_drains(
        services,
        "every_job_failed_constraint_violation",
        *a_column_the_code_does_not_fill(services),
        seed=112,
        MAX_DELIVERIES="2",
    )
