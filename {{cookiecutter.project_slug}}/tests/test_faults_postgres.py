"""What PostgreSQL's errors mean (store.py's tables), from the real server's errors: systemic or the job's."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from conftest import wait_until
from eventgen import event
from store_support import StoreServices, as_role, schema_of
from test_faults import diagnose, diagnosis_of

from events_worker.faults import Fault


def test_postgres_errors_by_sqlstate(services: StoreServices) -> None:
    import psycopg2

    def run(*statements: str, url: str = services.database_url) -> None:
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    from events_worker.prepare import prepare
    from events_worker.queue_protocol import Job
    from events_worker.schema import JOB_TABLE
    from events_worker.store import Store

    store = Store(services.config())
    store.save(prepare([Job("1-1", json.dumps(event("f-1")).encode(), 1)]).batch)  # one row to insert again
    store.close()
    insert = f'INSERT INTO "{JOB_TABLE}" SELECT * FROM "{JOB_TABLE}"'  # the same key again
    cases = {
        ("SET TRANSACTION READ ONLY", insert): (Fault.SYSTEMIC, "database_read_only"),
        ("SELECT * FROM no_such_table",): (Fault.SYSTEMIC, "undefined_table"),
        (f'SELECT no_such_column FROM "{JOB_TABLE}"',): (Fault.SYSTEMIC, "undefined_column"),
        ("SELECT 1 / 0",): (Fault.JOB, "data_exception"),
        (insert, insert): (Fault.JOB, "constraint_violation"),
        ("SELECT pg_terminate_backend(pg_backend_pid())",): (Fault.SYSTEMIC, "database_unreachable"),
        ("DO $$ BEGIN RAISE EXCEPTION 'a trigger said no'; END $$",): (Fault.UNKNOWN, "database_error_p0001"),
    }
    for statements, expected in cases.items():
        assert diagnosis_of(lambda s=statements: run(*s)) == expected, statements
    role = f"no_insert_{services.queue_name.replace('-', '_')}"
    schema = schema_of(services.database_url)
    services.execute(
        f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'", f"GRANT USAGE ON SCHEMA {schema} TO {role}"
    )
    try:
        services.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        url = as_role(services.database_url, role, f"pw-{role}")
        found = diagnosis_of(lambda: run(insert, url=url))
        assert found == (Fault.SYSTEMIC, "insufficient_privilege")
    finally:
        services.execute(f"DROP OWNED BY {role}", f"DROP ROLE {role}")
    refused = diagnosis_of(lambda: psycopg2.connect("postgresql://u@127.0.0.1:1/db", connect_timeout=2))
    assert refused == (Fault.SYSTEMIC, "database_unreachable")


def test_transient_postgres_faults_are_systemic(services: StoreServices) -> None:
    """Deadlocks, serialization failures, timeouts and shutdowns fail whatever job is in hand: class 40, 53,
    57 are never the job's fault."""
    import psycopg2

    def connect() -> psycopg2.extensions.connection:
        return psycopg2.connect(services.database_url)

    services.execute("CREATE TABLE pair (id int PRIMARY KEY, v int)", "INSERT INTO pair VALUES (1, 0), (2,0)")
    one, two = connect(), connect()
    try:
        with one.cursor() as a, two.cursor() as b:  # deadlock: each holds the row the other wants
            a.execute("UPDATE pair SET v = 1 WHERE id = 1")
            b.execute("UPDATE pair SET v = 1 WHERE id = 2")
            errors: list[BaseException] = []
            waiter = threading.Thread(target=lambda: _catch(errors, a, "UPDATE pair SET v = 2 WHERE id = 2"))
            waiter.start()
            time.sleep(0.3)
            _catch(errors, b, "UPDATE pair SET v = 2 WHERE id = 1")
            waiter.join(10)
        reasons = {(diagnose(e).fault, diagnose(e).reason) for e in errors}
        assert (Fault.SYSTEMIC, "deadlock") in reasons, [str(e) for e in errors]
        one.rollback()
        two.rollback()
        one.set_session(isolation_level="SERIALIZABLE")
        two.set_session(isolation_level="SERIALIZABLE")
        with one.cursor() as a, two.cursor() as b:  # write skew under SERIALIZABLE
            a.execute("SELECT sum(v) FROM pair")
            b.execute("SELECT sum(v) FROM pair")
            a.execute("UPDATE pair SET v = v + 1 WHERE id = 1")
            b.execute("UPDATE pair SET v = v + 1 WHERE id = 2")
            one.commit()
            found = diagnosis_of(two.commit)
        assert found == (Fault.SYSTEMIC, "serialization_failure")
        two.rollback()
        with two.cursor() as b:
            b.execute("SET statement_timeout = '50ms'")
            assert diagnosis_of(lambda: b.execute("SELECT pg_sleep(1)")) == (Fault.SYSTEMIC, "query_canceled")
    finally:
        one.close()
        two.close()


def _catch(errors: list[BaseException], cur: Any, statement: str) -> None:
    try:
        cur.execute(statement)
    except Exception as exc:
        errors.append(exc)


def test_refused_connections_are_named(services: StoreServices) -> None:
    """What `status` shows for a connection the server refuses: its reason, not just "unreachable"."""
    import psycopg2

    role = f"full_{services.queue_name.replace('-', '_')}"
    services.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' CONNECTION LIMIT 0")
    try:
        url = as_role(services.database_url, role, f"pw-{role}")
        assert diagnosis_of(lambda: psycopg2.connect(url)) == (Fault.SYSTEMIC, "too_many_connections")
    finally:
        services.execute(f"DROP ROLE {role}")
    missing_db = services.database_url.replace(urlsplit(services.database_url).path, "/no_such_database_here")
    assert diagnosis_of(lambda: psycopg2.connect(missing_db)) == (Fault.SYSTEMIC, "database_does_not_exist")
    nobody = as_role(services.database_url, "no_such_role_here", "pw")
    assert diagnosis_of(lambda: psycopg2.connect(nobody)) == (Fault.SYSTEMIC, "database_auth")
    bad_option = services.database_url + "&connect_timeout=soon"
    assert diagnosis_of(lambda: psycopg2.connect(bad_option)) == (Fault.SYSTEMIC, "database_url_invalid")


def test_too_many_connections_shows_in_status(services: StoreServices) -> None:
    """The worker pauses on a refused connection and `status` names it as the README's table does."""
    role = f"few_{services.queue_name.replace('-', '_')}"
    schema = schema_of(services.database_url)
    services.execute(
        f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' CONNECTION LIMIT 0",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO {role}",
    )
    try:
        worker = services.start_worker(DATABASE_URL=as_role(services.database_url, role, f"pw-{role}"))
        wait_until(lambda: "paused: too_many_connections" in services.cli("status").stdout, 60, what="status")
        worker.kill()
        worker.wait(10)
    finally:
        services.execute(f"DROP OWNED BY {role}", f"DROP ROLE {role}")
