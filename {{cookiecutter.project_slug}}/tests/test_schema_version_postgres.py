"""The schema is the release phase's: `migrate` applies versioned migrations once, workers only check."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT
from store_support import StoreServices

from events_worker.schema import JOB_TABLE

MODULE = [sys.executable, "-m", "events_worker"]
# What the project ships, read from the folder (not from the code under test); a team adds to it.
SHIPPED = sorted(path.name for path in (PROJECT / "events_worker" / "migrations").glob("*.sql"))
LATER = "9999_later.sql"  # a migration named after every shipped one


@pytest.fixture
def fresh(redis_url: str, queue_name: str, database_url: str) -> Iterator[StoreServices]:
    """Services on an empty schema: nothing migrated yet."""
    s = StoreServices(redis_url, queue_name, database_url)
    yield s
    s.cleanup()


def execute(url: str, sql: str) -> None:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def test_a_worker_refuses_an_unmigrated_database_and_names_the_migration(fresh: StoreServices) -> None:
    worker = fresh.start_worker()
    assert worker.wait(60) != 0
    log = worker.log.read_text()
    assert "event=schema_not_ready" in log and SHIPPED[0] in log and "migrate" in log
    assert fresh.query(f"SELECT to_regclass('\"{JOB_TABLE}\"')") == [(None,)], "the worker ran DDL"


def test_migrate_twice_concurrently_applies_each_migration_once(fresh: StoreServices) -> None:
    procs = [subprocess.Popen([*MODULE, "migrate"], env=fresh.env, stdout=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    # each migration applied by exactly one of them (several migrations may be shared out between them)
    applied = [name for out in outputs for name in re.findall(r"applied=(\S+)", out)[0].split(",")]
    assert sorted(name for name in applied if name != "none") == SHIPPED, outputs
    again = fresh.cli("migrate")
    assert again.returncode == 0 and "applied=none" in again.stdout
    assert fresh.query("SELECT name FROM schema_migrations ORDER BY name") == [(name,) for name in SHIPPED]


def connect(url: str, **settings: str) -> Any:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute(f"SET {name} = %s", (value,))
    conn.commit()
    return conn


def test_a_second_migrate_waits_for_the_first_then_finds_the_work_done(fresh: StoreServices) -> None:
    """Two releases: the second waits for the first's lock however long (no statement timeout on the wait)
    and blames nothing; before, its statement_timeout cut the wait and named 0001 as the failed migration."""
    from events_worker import migrator

    holder = connect(fresh.database_url)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (migrator.LOCK,))  # the first release, mid-migration
    release = threading.Timer(2.5, holder.close)  # closing the session lets go of its lock
    release.start()
    conn = connect(fresh.database_url, statement_timeout="1s")  # a wait longer than any statement may take
    try:
        assert migrator.migrate(conn) == SHIPPED
    finally:
        release.join()
        conn.close()


def test_a_migration_waiting_for_a_table_lock_never_stalls_the_workers_writes(
    fresh: StoreServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ALTER TABLE queued behind a long reader makes every later read and insert of the table queue behind
    it: each migration statement gives up after LOCK_TIMEOUT and is tried again, so the workers go on; the
    migration applies once the reader ends."""
    from events_worker import migrator

    migrator.migrate(connect(fresh.database_url))
    folder = tmp_path / "migrations"
    folder.mkdir()
    for migration in migrator.shipped():
        (folder / migration.name).write_text(migration.sql)
    (folder / LATER).write_text(f'ALTER TABLE "{JOB_TABLE}" ADD COLUMN added_later text;')
    monkeypatch.setattr(migrator, "FOLDER", folder)
    monkeypatch.setattr(migrator, "LOCK_TIMEOUT", "200ms")
    reader = connect(fresh.database_url)
    with reader.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{JOB_TABLE}"')  # holds ACCESS SHARE until its transaction ends
    applied: list[str] = []
    migrating = connect(fresh.database_url)
    applier = threading.Thread(target=lambda: applied.extend(migrator.migrate(migrating)), daemon=True)
    applier.start()
    try:
        time.sleep(1.0)  # the migration is now trying (and giving up) while the reader holds its lock
        writer = connect(fresh.database_url, lock_timeout="2s")  # a worker must not queue behind the ALTER
        with writer, writer.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "{JOB_TABLE}"')
        writer.close()
    finally:
        reader.close()  # the reader ends, whatever happened above
        applier.join(timeout=60)
        migrating.close()
    assert applied == [LATER]


def test_a_failing_migration_rolls_back_alone_and_is_named(fresh: StoreServices, tmp_path: Path) -> None:
    from events_worker import migrator

    folder = tmp_path / "migrations"
    folder.mkdir()
    for migration in migrator.shipped():
        (folder / migration.name).write_text(migration.sql)
    (folder / LATER).write_text(f'ALTER TABLE "{JOB_TABLE}" ADD COLUMN added_later text; SELECT 1/0;')
    script = (
        "import sys; from pathlib import Path; from events_worker import cli, migrator; "
        f"migrator.FOLDER = Path({str(folder)!r}); sys.exit(cli.main(['migrate']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=fresh.env, capture_output=True, text=True, timeout=60, cwd=PROJECT
    )
    assert result.returncode == 1
    assert f"{LATER} failed and was rolled back" in result.stderr
    assert "division by zero" in result.stderr
    assert "Traceback" not in result.stderr
    assert fresh.query("SELECT name FROM schema_migrations ORDER BY name") == [(name,) for name in SHIPPED]
    where = f"table_name = '{JOB_TABLE}'"
    columns = fresh.query(f"SELECT column_name FROM information_schema.columns WHERE {where}")
    assert ("added_later",) not in columns


def test_an_edited_migration_is_refused(services: StoreServices) -> None:
    execute(services.database_url, f"UPDATE schema_migrations SET checksum = 'x' WHERE name = '{SHIPPED[0]}'")
    result = services.cli("migrate")
    assert result.returncode == 1 and f"{SHIPPED[0]} was edited after it was applied" in result.stderr
