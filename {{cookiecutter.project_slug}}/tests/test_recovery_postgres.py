"""Recovery with PostgreSQL: the database restarted under running workers, nothing lost or stored twice."""

from __future__ import annotations

from store_support import PostgresServer, StoreServices, with_database
from test_recovery import MODULE, survive_restart


def test_postgres_restart_mid_run(services: StoreServices) -> None:
    server = PostgresServer().start()
    try:
        services.database_url = with_database(server.url, "postgres")
        services.env["DATABASE_URL"] = services.database_url
        services.cli("migrate").check_returncode()
        survive_restart(services, server.restart, "PostgreSQL", seed=25)
    finally:
        services.stop_all()
        server.remove()


def test_migrate_is_safe_twice_and_concurrently(services: StoreServices) -> None:
    import subprocess

    procs = [
        subprocess.Popen([*MODULE, "migrate"], env=services.env, stdout=subprocess.PIPE) for _ in range(3)
    ]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    assert services.cli("migrate").returncode == 0
