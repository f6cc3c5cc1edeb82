"""The command line and configuration: clear one-line errors, enqueue's report, status, dead letters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE, PROJECT, Services, wait_until
from eventgen import OTHER, invalid, lines, make_events

from events_worker import config, logs
from events_worker.schema import KEY


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=PROJECT,
        timeout=60,
    )


def test_settings_are_data_with_working_defaults() -> None:
    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.description and "\n" not in s.description for s in config.SETTINGS)
    loaded = config.load({})
    assert loaded.redis_url == "redis://127.0.0.1:6379/0"
    assert loaded.batch_size > 0 and loaded.claim_idle_seconds >= 3 * loaded.heartbeat_seconds


def test_env_example_and_app_json_mirror_the_settings() -> None:
    """config.SETTINGS is the one home of every default (QUEUE_NAME's too); the two mirrors must agree."""
    defaults = {s.name: s.default for s in config.SETTINGS}
    example = {}
    for line in (PROJECT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    example.pop("PROCFILE", None)  # honcho's (local runs choose Procfile.dev), not a worker setting
    assert example == defaults, "edit .env.example to match config.SETTINGS"
    app_env = json.loads((PROJECT / "app.json").read_text())["env"]
    mirrored = {name: spec["value"] for name, spec in app_env.items() if name in defaults}
    added_by_addons = {"REDIS_URL", "DATABASE_URL"}
    assert set(mirrored) == set(defaults) - added_by_addons, "app.json env must list every setting"
    assert mirrored == {n: d for n, d in defaults.items() if n in mirrored}, "app.json values != config"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"BATCH_SIZE": "lots"}, "BATCH_SIZE"),
        ({"BATCH_SIZE": "0"}, "BATCH_SIZE"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"QUEUE_NAME": "has space"}, "QUEUE_NAME"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"HEARTBEAT_SECONDS": "10", "CLAIM_IDLE_SECONDS": "20"}, "CLAIM_IDLE_SECONDS"),
        ({"SHUTDOWN_TIMEOUT_SECONDS": "45"}, "SHUTDOWN_TIMEOUT_SECONDS"),
        ({"REDIS_SSL_CERT_REQS": "maybe"}, "REDIS_SSL_CERT_REQS"),
    ],
)
def test_bad_configuration_is_one_clear_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(config.ConfigError, match=fragment):
        config.load(env)
    result = run("status", **env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr and "Traceback" not in result.stderr


def test_usage_error_is_one_clear_line() -> None:
    for argv in (["frobnicate"], ["dead", "resurrect"], ["status", "--yaml"]):
        result = run(*argv)
        assert result.returncode == 2, argv
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_unix_socket_redis_url_works(tmp_path: Path) -> None:
    """REDIS_URL=unix:///path is accepted by config, so the client must work with it (a traceback on every
    command before: TCP keepalive options on a unix socket)."""
    import shutil
    import tempfile

    from conftest import RedisServer

    short = Path(tempfile.mkdtemp(prefix="redis-", dir="/tmp"))  # a socket path has at most 107 bytes
    socket = short / "redis.sock"
    server = RedisServer(tmp_path / "redis", None, "--unixsocket", str(socket), "--unixsocketperm", "700")
    server.start()
    try:
        result = run("status", REDIS_URL=f"unix://{socket}")
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    finally:
        server.stop()
        shutil.rmtree(short, ignore_errors=True)


def test_unreachable_redis_is_one_clear_line_without_password() -> None:
    result = run("status", REDIS_URL="redis://:s3cret@127.0.0.1:1/0")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr


def test_rediss_settings_reach_the_client() -> None:
    from events_worker.queue_protocol import connect

    for reqs in ("none", "required"):
        env = {"REDIS_URL": "rediss://:pw@example.com:6380/0", "REDIS_SSL_CERT_REQS": reqs}
        client = connect(config.load(env))
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["ssl_cert_reqs"] == reqs
        assert kwargs["ssl_check_hostname"] == (reqs == "required")


def test_logs_are_logfmt_without_secrets() -> None:
    assert (
        logs.mask("rediss://:p4ss@h:1/0 and postgres://u:pw@h/db")
        == "rediss://:***@h:1/0 and postgres://u:***@h/db"
    )
    import io

    out = io.StringIO()
    logs.setup("info", out)
    logs.info("batch_stored", jobs=500, ms=38, error='bad "thing"\nnext', url="redis://:x@h")
    logs.debug("hidden")
    logs.setup("info")
    assert (
        out.getvalue()
        == 'at=info event=batch_stored jobs=500 ms=38 error="bad \\"thing\\"\\nnext" url="redis://:***@h"\n'
    )


def test_passwords_from_the_configuration_are_hidden_wherever_they_appear() -> None:
    """logs.hide(*Config.secrets()): a password printed outside a URL (a driver quoting it) is masked too."""
    secrets_hidden({"REDIS_URL": "redis://:r3dis-Secret@127.0.0.1:6379/0"}, "r3dis-Secret")


def secrets_hidden(env: dict[str, str], *secrets: str) -> None:
    """Each secret, printed by a driver outside its URL, is masked in the log line."""
    import io

    settings = config.load(env)
    out = io.StringIO()
    logs.setup("info", out)
    try:
        logs.hide(*settings.secrets())
        logs.error("paused", error=f"near {' and '.join(map(repr, secrets))} (quoted by a driver)")
    finally:
        logs.setup("info")
    line = out.getvalue()
    assert "***" in line and not [s for s in secrets if s in line], line


def test_enqueue_reports_every_refused_line(services: Services) -> None:
    good = make_events(3)
    text = lines(good[:2]) + b"not json\n"
    text += lines([invalid("x")])
    text += b"\n" + lines(good[2:]) + lines([{KEY: "y"}]) + b"[1, 2]\n"
    result = services.cli("enqueue", "-", input=text)
    assert result.returncode == 1
    out = result.stdout
    assert "event=enqueued" in out and "queued=3" in out and "refused=4" in out
    assert "line=3" in out and "malformed JSON" in out
    assert "line=4" in out and f"{OTHER} must be" in out
    assert "line=7" in out and f"missing field {OTHER}" in out
    assert "line=8" in out and "expected a JSON object" in out
    assert services.status()["queued"] == 3


def test_enqueue_never_drops_valid_lines(services: Services, tmp_path: Path) -> None:
    """A line that breaks the parser (nesting, bad bytes, size) is refused by number; the rest are queued."""
    good = make_events(300)
    path = tmp_path / "events.jsonl"
    with path.open("wb") as out:
        out.write(lines(good[:100]))
        # line 101: nested 100,000 deep inside a field the decoder must still walk (skipping it recurses)
        out.write(b'{"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
        out.write(b'{"id": "\xff\xfe"}\n')  # line 102: not UTF-8
        out.write(b'{"id": "' + b"x" * (2 * 2**20) + b'"}\n')  # line 103: over PAYLOAD_MAX_BYTES
        out.write(lines(good[100:]))
    result = services.cli("enqueue", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "queued=300" in result.stdout and "refused=3" in result.stdout
    assert "line=101" in result.stdout and "line=102" in result.stdout and "line=103" in result.stdout
    assert "nested too deeply" in result.stdout and "PAYLOAD_MAX_BYTES" in result.stdout
    assert services.status()["queued"] == 300


def test_enqueue_missing_file_is_one_line(services: Services) -> None:
    result = services.cli("enqueue", "/nonexistent/events.jsonl")
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_status_json_shape(services: Services) -> None:
    services.cli("enqueue", "-", input=lines(make_events(5))).check_returncode()
    report = json.loads(services.cli("status", "--json").stdout)
    for key in ("queued", "in_flight", "retrying", "dead"):
        assert isinstance(report[key], int)
    assert report["queued"] == 5 and isinstance(report["workers"], list)
    with services.worker_thread():
        wait_until(lambda: services.status()["workers"], 30, what="a worker in status")
        report = json.loads(services.cli("status", "--json").stdout)
        assert {"id", "last_heartbeat"} <= set(report["workers"][0])
        assert "workers: 1" in services.cli("status").stdout
    assert services.status()["workers"] == [], "a worker that stopped cleanly leaves status"


def test_dead_letters_list_requeue_purge(services: Services) -> None:
    queue = services.producer()
    queue.ensure_group()
    queue.enqueue([json.dumps(invalid("d1")).encode(), b"{oops"])
    with services.worker_thread():
        wait_until(lambda: services.status()["dead"] == 2, 30, what="two dead letters")
    listed = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    errors = sorted(r["error"].split(":")[0] for r in listed)
    assert "malformed JSON" in errors and len(errors) == 2, errors
    assert any(e.startswith(f"{OTHER} must be") and e.endswith("got array") for e in errors), errors
    assert all(r["deliveries"] == 1 and r["payload"] for r in listed)
    assert "jobs=2" in services.cli("dead", "requeue").stdout
    status = services.status()
    assert status["dead"] == 0 and status["queued"] == 2
    with services.worker_thread():
        wait_until(lambda: services.status()["dead"] == 2, 30, what="dead again")
    assert "jobs=2" in services.cli("dead", "purge").stdout
    assert services.status()["dead"] == 0
