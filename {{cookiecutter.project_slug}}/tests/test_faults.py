"""What an error means (faults.py), from errors the real servers give: systemic (pause) or the job's own."""

from __future__ import annotations

{% if cookiecutter.use_postgres %}import json
import threading
import time
{% endif %}from pathlib import Path
{%- if cookiecutter.use_postgres %}
from typing import Any
from urllib.parse import urlsplit
{%- endif %}

import redis
from conftest import RedisServer{% if cookiecutter.use_postgres %}, Services, as_role, schema_of, wait_until{% endif %}
{%- if cookiecutter.use_postgres %}
from eventgen import event
{%- endif %}

from {{ cookiecutter.__package_name }}.faults import Fault, diagnose


def diagnosis_of(action: object) -> tuple[Fault, str]:
    try:
        action()  # type: ignore[operator]
    except Exception as exc:
        found = diagnose(exc)
        return found.fault, found.reason
    raise AssertionError("no error raised")


def test_redis_error_classes_each_have_their_reason() -> None:
    """The classes redis-py raises for the server's state, subclasses before ConnectionError (their base)."""
    expected = {
        redis.BusyLoadingError: "redis_loading",
        redis.OutOfMemoryError: "redis_oom",
        redis.ReadOnlyError: "redis_read_only",
        redis.AuthenticationError: "redis_auth",
        redis.TimeoutError: "redis_timeout",
        redis.ConnectionError: "redis_unreachable",
    }
    for kind, reason in expected.items():
        found = diagnose(kind("as redis-py raises it"))
        assert (found.fault, found.reason) == (Fault.SYSTEMIC, reason), kind


def test_redis_errors_by_reply(tmp_path: Path, redis_url: str) -> None:
    unreachable = redis.Redis(port=1, socket_connect_timeout=1)
    assert diagnosis_of(unreachable.ping) == (Fault.SYSTEMIC, "redis_unreachable")
    client = redis.Redis.from_url(redis_url)
    key = f"test-faults-{tmp_path.name}"
    client.set(key, "a string")
    try:
        assert diagnosis_of(lambda: client.hset(key, "f", "v"))[0] is Fault.UNKNOWN  # WRONGTYPE
    finally:
        client.delete(key)
    data_error = client.register_script("return redis.error_reply('DATA account total would overflow: a')")
    assert diagnosis_of(data_error) == (Fault.JOB, "data_error")
    server = RedisServer(tmp_path / "full", None, "--maxmemory-policy", "noeviction").start()
    try:
        full = redis.Redis.from_url(server.url)
        full.config_set("maxmemory", "1")  # used memory is over maxmemory: what a full Heroku Redis does
        assert diagnosis_of(lambda: full.set("one-more", "x")) == (Fault.SYSTEMIC, "redis_oom")
        in_a_script = full.register_script("return redis.call('SET', KEYS[1], 'x')")
        assert diagnosis_of(lambda: in_a_script(keys=["k"])) == (Fault.SYSTEMIC, "redis_oom")
        full.replicaof("127.0.0.1", "1")  # a replica (of nothing reachable): read-only
        full.config_set("maxmemory", "0")
        assert diagnosis_of(lambda: full.set("k", "v")) == (Fault.SYSTEMIC, "redis_read_only")
    finally:
        server.stop()
{%- if cookiecutter.use_postgres %}


def test_postgres_errors_by_sqlstate(services: Services) -> None:
    import psycopg2

    def run(*statements: str, url: str = services.database_url) -> None:
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    from {{ cookiecutter.__package_name }}.prepare import prepare
    from {{ cookiecutter.__package_name }}.queue_protocol import Job
    from {{ cookiecutter.__package_name }}.schema import JOB_TABLE
    from {{ cookiecutter.__package_name }}.store import Store

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


def test_transient_postgres_faults_are_systemic(services: Services) -> None:
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
        one.rollback(), two.rollback()
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
        one.close(), two.close()


def _catch(errors: list[BaseException], cur: Any, statement: str) -> None:
    try:
        cur.execute(statement)
    except Exception as exc:
        errors.append(exc)


def test_refused_connections_are_named(services: Services) -> None:
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


def test_too_many_connections_shows_in_status(services: Services) -> None:
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
{%- endif %}
