"""The first hour: `.env` read by every command (the shell winning), and `enqueue` that shows its progress
and, stopped part-way, says what it queued and where to resume, without echoing a payload."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import PACKAGE, PROJECT, Services
from eventgen import lines, make_events

from events_worker import cli, config
from events_worker.queue_producer import Producer
from events_worker.queue_protocol import Limits
from events_worker.schema import KEY


def bare_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m <package> ...` as typed in a shell: no runner, no .env loaded by anyone else."""
    clean = {k: v for k, v in os.environ.items() if k not in {s.name for s in config.SETTINGS}}
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(PROJECT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bare_command_reads_dotenv_and_the_shell_wins(services: Services, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"# local settings\nexport REDIS_URL={services.redis_url}\nQUEUE_NAME='{services.queue_name}'\n"
        "LOG_LEVEL=warning\n"
    )
    from_file = bare_cli(tmp_path, "status")
    assert from_file.returncode == 0, from_file.stderr
    assert f"queue {services.queue_name}:" in from_file.stdout
    shell = bare_cli(tmp_path, "status", QUEUE_NAME=services.queue_name + "-shell")
    assert f"queue {services.queue_name}-shell:" in shell.stdout


def test_load_dotenv_keeps_what_the_environment_sets(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('MAX_DELIVERIES=5\nexport BATCH_SIZE="10"\nnot a setting\n')
    environ = {"MAX_DELIVERIES": "3"}
    assert config.load_dotenv(environ, tmp_path / ".env") == ["BATCH_SIZE"]
    assert environ == {"MAX_DELIVERIES": "3", "BATCH_SIZE": "10"}
    assert config.load_dotenv({}, tmp_path / "missing") == []


def queue_of(services: Services) -> Producer:
    client = redis.Redis.from_url(services.redis_url)
    return Producer(client, services.queue_name, Limits.of(services.config()))


def test_enqueue_shows_a_bar_on_a_terminal(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(lines(make_events(2500)))
    stream = io.StringIO()
    progress = cli.Progress(cli.input_size(str(path)), stream, is_terminal=True)
    assert cli.enqueue(queue_of(services), str(path), io.StringIO(), progress) == 0
    shown = stream.getvalue()
    assert shown.startswith("\r") and shown.endswith("\n")
    assert "100% |########################| 2,500 lines, 2,500 queued, 0 refused" in shown


def test_enqueue_logs_progress_when_not_a_terminal(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "PROGRESS_EVERY_SECONDS", 0.0)
    path = tmp_path / "events.jsonl"
    path.write_bytes(lines(make_events(1500)))
    stream = io.StringIO()
    cli.enqueue(queue_of(services), str(path), io.StringIO(), cli.Progress(None, stream, is_terminal=False))
    progress = stream.getvalue().splitlines()
    assert progress and all(line.startswith("at=info event=enqueue_progress lines=") for line in progress)
    assert "queued=1000" in "".join(progress), "the first chunk's count shows while the rest is read"


class FullAfter:
    """A queue whose Redis fills after `chunks` pipelines (redis-py names the failed command, payload too)."""

    def __init__(self, queue: Producer, chunks: int) -> None:
        self.queue, self.chunks = queue, chunks

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)

    def enqueue(self, payloads: list[bytes]) -> int:
        if self.chunks == 0:
            raise redis.ResponseError(
                f"Command # 1 (XADD q:stream * j {payloads[0]!r} n 0) of pipeline caused error: "
                "OOM command not allowed when used memory > 'maxmemory'."
            )
        self.chunks -= 1
        return self.queue.enqueue(payloads)


def test_enqueue_stopped_part_way_says_what_was_queued_and_where_to_resume(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = make_events(2500)
    text = lines(events[:10]) + b"not json\n" + lines(events[10:])
    path = tmp_path / "events.jsonl"
    path.write_bytes(text)
    queue: Any = FullAfter(queue_of(services), chunks=2)
    with pytest.raises(cli.EnqueueStopped) as stopped:
        cli.enqueue(queue, str(path), io.StringIO(), cli.Progress(None, io.StringIO(), is_terminal=False))
    assert (stopped.value.queued, stopped.value.resume_line) == (2000, 2002)  # 2000 jobs + the refused line
    assert services.status()["queued"] == 2000
    message = cli.stopped_message(PACKAGE, str(path), stopped.value)
    assert "enqueue stopped at line 2002" in message and "OOM command not allowed" in message
    assert "2000 jobs were queued" in message
    assert f"tail -n +2002 {path} | python -m {PACKAGE} enqueue -" in message
    assert str(events[2000][KEY]) not in message and "XADD" not in message, "the message echoes a payload"
    # Resuming from there queues the rest.
    rest = b"".join(text.splitlines(keepends=True)[2001:])
    assert services.cli("enqueue", "-", input=rest).returncode == 0
    assert services.status()["queued"] == 2500


def test_an_unreadable_dotenv_line_is_one_clear_error_without_its_value(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BATCH_SIZE=100\nREDIS_URL='redis://:it-s3cret@host:6379/0\n")
    with pytest.raises(config.ConfigError) as refused:
        config.read_dotenv(dotenv)
    assert ".env line 2" in str(refused.value) and "s3cret" not in str(refused.value)
