"""The template's service discovery starts throwaway servers when nothing listens (installed but not running)."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlsplit

from .services import Services, free_port, listening


def test_throwaway_redis_and_postgres_start_answer_and_go_away() -> None:
    # Ports where nothing listens stand in for "installed but not running" without stopping the real servers.
    services = Services(environ={}, redis_port=free_port(), postgres_port=free_port())
    redis_port = urlsplit(services.redis_url).port
    postgres_port = urlsplit(services.postgres_url).port
    assert redis_port and postgres_port and redis_port != 6379 and postgres_port != 5432
    try:
        cli = shutil.which("redis-cli") or "redis-cli"
        pong = subprocess.run([cli, "-p", str(redis_port), "ping"], capture_output=True, text=True, check=True)
        assert pong.stdout.strip() == "PONG"
        database = services.create_database()
        psql = subprocess.run(["psql", "-tA", database, "-c", "select 40 + 2"], capture_output=True, text=True)
        assert psql.stdout.strip() == "42", psql.stderr
    finally:
        services.close()
    assert not listening(redis_port)
    assert not listening(postgres_port)


def test_environment_urls_win(services: Services) -> None:
    chosen = Services(environ={"REDIS_URL": services.redis_url, "DATABASE_URL": services.postgres_url})
    assert (chosen.redis_url, chosen.postgres_url) == (services.redis_url, services.postgres_url)
    chosen.close()
