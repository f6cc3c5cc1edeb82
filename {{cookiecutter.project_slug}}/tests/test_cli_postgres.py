"""The command line with PostgreSQL: every DATABASE_URL form libpq accepts, its password never printed, and
the test run's own database."""

from __future__ import annotations

import pytest
from test_cli import run, secrets_hidden

from events_worker import config, store


def test_the_database_password_is_hidden_wherever_it_appears() -> None:
    env = {"REDIS_URL": "redis://:r3dis-Secret@127.0.0.1:6379/0"}
    secrets_hidden(
        {**env, "DATABASE_URL": "postgres://u:pg-Secret9@db.example.com:5432/d"}, "r3dis-Secret", "pg-Secret9"
    )


@pytest.mark.parametrize(
    ("url", "ssl"),
    [
        ("postgres://u:p@ec2-1-2-3-4.compute.amazonaws.com:5432/db", True),
        ("postgresql://u:p@ec2-1-2-3-4.compute.amazonaws.com/db", True),
        ("postgresql:///db?host=db.example.com", True),
        ("host=db.example.com dbname=db user=u password=pw", True),
        ("postgresql://u@10.0.0.1,10.0.0.2/db", True),
        ("postgres://u@127.0.0.1:5432/db", False),
        ("postgres://u@localhost/db", False),
        ("postgresql:///db?host=/var/run/postgresql", False),
        ("host=/tmp dbname=db", False),
        ("postgres://u@db.internal/db?sslmode=disable", False),
    ],
)
def test_every_database_url_form_libpq_accepts(url: str, ssl: bool) -> None:
    from psycopg2.extensions import parse_dsn

    parts = parse_dsn(store.database_dsn(url))  # what libpq will see
    assert (parts.get("sslmode") == "require") is ssl, parts
    assert {k: v for k, v in parse_dsn(url).items() if k != "sslmode"}.items() <= parts.items()


def test_raw_slash_in_a_database_password_is_kept_whole_and_never_printed() -> None:
    """`/` in the password: libpq read what followed as the port and printed it (`invalid integer value`)."""
    from psycopg2.extensions import parse_dsn

    parts = parse_dsn(store.database_dsn("postgres://u:Zq7Kx/pw9@db.example.com:5432/db"))
    assert parts["password"] == "Zq7Kx/pw9" and parts["host"] == "db.example.com" and parts["port"] == "5432"
    result = run("status", DATABASE_URL="postgres://u:Zq7Kx/pw9@127.0.0.1:1/db")
    assert "Zq7Kx" not in result.stdout + result.stderr and "Traceback" not in result.stderr, result.stderr


def test_raw_at_in_a_database_password_is_kept_whole() -> None:
    from psycopg2.extensions import parse_dsn

    parts = parse_dsn(store.database_dsn("postgresql://u:p@ss@db.example.com/db"))
    assert parts["password"] == "p@ss" and parts["host"] == "db.example.com" and parts["sslmode"] == "require"


def test_database_url_refusals() -> None:
    with pytest.raises(config.ConfigError):
        store.database_dsn("mysql://u@h/db")
    with pytest.raises(config.ConfigError, match="libpq"):
        store.database_dsn("host=h password=s3cret dbname")


def test_database_naming_is_configurable(request: pytest.FixtureRequest) -> None:
    """TEST_DATABASE_PREFIX names the run's database; TEST_DATABASE_URL: an existing one, none created.

    The database this test creates is named within the run's own TEST_DATABASE_PREFIX (a CI user may be
    allowed only those); with TEST_DATABASE_URL set, it creates none.
    """
    import os

    import psycopg2
    import store_support

    existing = os.environ.get("TEST_DATABASE_URL")
    admin = existing or str(request.getfixturevalue("pg_admin_url"))

    def databases() -> set[str]:
        with psycopg2.connect(admin) as conn, conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            names = {row[0] for row in cur.fetchall()}
        conn.close()
        return names

    if not existing:  # no CREATE DATABASE with TEST_DATABASE_URL: only the second half applies
        prefix = (os.environ.get("TEST_DATABASE_PREFIX") or "worker_test_") + "named_"
        with store_support.run_database({"TEST_DATABASE_PREFIX": prefix}, lambda: admin) as url:
            name = url.rsplit("/", 1)[1].split("?")[0]
            assert name.startswith(prefix.lower()) and name in databases()
        assert name not in databases()
    before = databases()
    with store_support.run_database({"TEST_DATABASE_URL": admin}, lambda: "unused") as url:
        assert url == admin and databases() == before
