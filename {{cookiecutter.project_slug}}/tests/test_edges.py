"""The worker at production's edges: systemic faults pause it (never dead letters), foreign entries, Redis at
maxmemory, oversized payloads, bounded dead letters, slow stores, dead workers in `status`, secrets."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import RedisServer, Services, wait_until
from eventgen import expected, invalid, lines, make_events
from test_worker import assert_stored_exactly_once

from events_worker import logs
from events_worker.schema import KEY

INSTRUMENTED = [sys.executable, str(Path(__file__).with_name("instrumented_worker.py"))]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    out = io.StringIO()
    logs.setup("info", out)
    try:
        yield out
    finally:
        logs.setup("info")


def paused_reason(services: Services) -> str | None:
    """The reason the first paused worker in `status` gives, if any."""
    for worker in services.status()["workers"]:
        if worker["paused"]:
            return str(worker["paused"]["reason"])
    return None


def assert_pauses_then_drains(
    services: Services,
    reason: str,
    break_it: Callable[[], None],
    fix_it: Callable[[], None],
    seed: int,
    **env: str,
) -> None:
    """Some jobs stored, then a systemic fault: the worker pauses with `reason` (status shows it), nothing
    is dead-lettered; once fixed, every job is stored exactly once."""
    events = make_events(1500, seed=seed)
    services.cli("enqueue", "-", input=lines(events[:500])).check_returncode()
    with captured_logs() as out, services.worker_thread(**{"BATCH_SIZE": "100", **env}) as worker:
        wait_until(services.drained, 60, what="the first jobs stored")
        break_it()
        services.cli("enqueue", "-", input=lines(events[500:])).check_returncode()
        wait_until(lambda: paused_reason(services) == reason, 60, what=f"status to show paused: {reason}")
        shown = services.cli("status").stdout
        assert f"paused: {reason} since " in shown, shown
        time.sleep(1.0)  # let it retry a few times while broken
        assert services.status()["dead"] == 0, services.cli("dead", "list").stdout
        assert not worker.crashed
        fix_it()
        wait_until(services.drained, 60, what="drained once the fault is fixed")
        wait_until(lambda: paused_reason(services) is None, 30, what="status to stop showing paused")
    log = out.getvalue()
    assert f"at=error event=paused reason={reason} since=" in log
    assert "event=resumed" in log and "job_dead" not in log
    assert services.status()["dead"] == 0
    assert_stored_exactly_once(services, events)


def test_a_transform_that_raises_for_every_job_pauses_and_dead_letters_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deploy whose transform raises for every job (a bug, not the data): no job is blamed."""
    from events_worker import prepare as prepare_module
    from events_worker.transform import transform as demo  # the one prepare calls

    broken = threading.Event()

    def transform(batch: Any) -> Any:
        if broken.is_set():
            raise KeyError("channel")  # the code expects a field no producer sends yet
        return demo(batch)

    monkeypatch.setattr(prepare_module, "transform", transform)
    assert_pauses_then_drains(
        services, "every_job_failed_transform_error", broken.set, broken.clear, seed=109, MAX_DELIVERIES="2"
    )


def test_a_job_dead_lettered_by_a_bug_is_requeued_whole_once_fixed(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid 20 KB job, dead-lettered while other jobs stored (a transform bug on its data), comes back
    whole with `dead requeue` once the bug is fixed."""
    from events_worker import prepare as prepare_module
    from events_worker.transform import transform as demo  # the one prepare calls

    fixed = threading.Event()

    def transform(batch: Any) -> Any:
        ids = batch[KEY].tolist() if hasattr(batch, "columns") else [getattr(e, KEY) for e in batch]
        if not fixed.is_set() and "big-1" in ids:
            raise ValueError("a bug on long notes")
        return demo(batch)

    monkeypatch.setattr(prepare_module, "transform", transform)
    events = make_events(600, seed=110)
    events[300] = {**events[300], KEY: "big-1", "note": "n" * 20_000}
    with services.worker_thread(MAX_DELIVERIES="2"):
        sent = 0
        while services.status()["dead"] == 0:  # other jobs keep storing: the proof that big-1 is at fault
            assert sent < len(events), "big-1 was never dead-lettered"
            services.cli("enqueue", "-", input=lines(events[sent : sent + 50])).check_returncode()
            sent += 50
            time.sleep(0.2)
        services.cli("enqueue", "-", input=lines(events[sent:])).check_returncode()
        wait_until(lambda: services.drained(dead=1), 60, what="drained")
        (record,) = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
        assert not record["truncated"] and record["size"] == len(record["payload"].encode()) > 20_000
        fixed.set()
        requeued = services.cli("dead", "requeue")
        assert "jobs=1" in requeued.stdout and "dead_not_requeued" not in requeued.stdout, requeued.stdout
        wait_until(lambda: services.drained(dead=0), 60, what="big-1 stored")
    assert_stored_exactly_once(services, events)


def test_foreign_entries_are_dead_lettered_at_once(services: Services) -> None:
    events = make_events(600, seed=104)
    stream = "{" + services.queue_name + "}:stream"
    services.cli("enqueue", "-", input=lines(events[:300])).check_returncode()
    valid = json.dumps(events[0]).encode()
    foreign = [
        {"j": valid, "n": "abc"},  # garbled delivery count
        {"j": valid, "n": "0", "source": "billing"},  # a field the worker does not know
        {"payload": valid},  # no j at all
        {"j": b"\xff\xfe not utf-8", "n": "0"},
        {"j": valid, "n": "1,2"},  # would break the read script's joined lists
    ]
    for fields in foreign:
        services.redis.xadd(stream, fields)  # type: ignore[arg-type]
    services.cli("enqueue", "-", input=lines(events[300:])).check_returncode()
    with captured_logs() as out, services.worker_thread() as worker:
        wait_until(lambda: services.drained(dead=5), 60, what="5 dead letters")
        assert not worker.crashed
    assert_stored_exactly_once(services, events)
    dead = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    errors = " | ".join(d["error"] for d in dead)
    assert errors.count("foreign entry") == 4 and "garbled field n" in errors and "unknown fields" in errors
    assert "missing field j" in errors and "malformed JSON" in errors
    foreign_letters = [d for d in dead if "foreign" in d["error"]]
    kept = {d["error"].split(":")[1].strip(): json.loads(d["payload"]) for d in foreign_letters}
    assert kept['unknown fields "source"'] == ["j", valid.decode(), "n", "0", "source", "billing"], kept
    assert kept["missing field j (the payload)"] == ["payload", valid.decode()], "its fields are kept"
    assert "Traceback" not in out.getvalue()


def test_oversized_payloads_are_refused_and_dead_lettered_as_a_prefix(services: Services) -> None:
    events = make_events(200, seed=105)
    big = json.dumps({**events[0], KEY: "big-1", "note": "x" * (3 * 2**20)}).encode()
    text = lines(events[:100]) + big + b"\n" + lines(events[100:])
    result = services.cli("enqueue", "-", input=text)
    assert result.returncode == 1
    assert "line=101" in result.stdout and "over PAYLOAD_MAX_BYTES=1048576" in result.stdout
    assert "queued=200" in result.stdout
    stream = "{" + services.queue_name + "}:stream"
    services.redis.xadd(stream, {"j": big, "n": 0})  # a producer that does not check
    with services.worker_thread(DEAD_LETTER_PAYLOAD_BYTES="300"):
        wait_until(lambda: services.drained(dead=1), 60, what="1 dead letter")
    assert_stored_exactly_once(services, events)
    (record,) = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    assert record["size"] == len(big) and record["sha1"] == hashlib.sha1(big).hexdigest()
    assert record["truncated"] and len(record["payload"]) == 300
    assert big.startswith(record["payload"].encode())
    assert "PAYLOAD_MAX_BYTES" in record["error"]
    assert "dead_not_requeued" in services.cli("dead", "requeue").stdout
    assert services.status()["dead"] == 1, "a prefix is never requeued as if it were the job"


def test_dead_letters_are_bounded_by_bytes_loudly_and_stay_requeueable(services: Services) -> None:
    bad = [json.dumps({**invalid(f"bad-{i}"), "pad": "p" * 1000}).encode() for i in range(300)]
    services.producer().enqueue(bad)
    env = {"DEAD_LETTER_MAX_COUNT": "1000", "DEAD_LETTER_MAX_BYTES": "65536", "PAYLOAD_MAX_BYTES": "16384"}
    with captured_logs() as out, services.worker_thread(**env):
        wait_until(lambda: services.drained(dead=None), 60, what="drained")
    report = services.cli("status", "--json", env=env)
    status = json.loads(report.stdout)
    dead_key = "{" + services.queue_name + "}:dead"
    kept = sum(len(v) for v in services.redis.hvals(dead_key))
    assert 0 < status["dead"] < 300 and kept <= 65536 and status["dead_bytes"] == kept
    assert status["dead"] + status["dead_dropped"] == 300 and status["dead_near_full"]
    log = out.getvalue()
    assert "at=error event=dead_letters_dropped" in log and "entries=" in log, "never dropped silently"
    shown = services.cli("status", env=env).stdout
    assert f"dropped over the caps: {status['dead_dropped']}" in shown and "NEAR FULL" in shown
    records = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    assert len(records) == status["dead"]
    assert all(r["payload"].encode() in bad and not r["truncated"] for r in records), "whole payloads"
    requeued = services.cli("dead", "requeue", env=env).stdout
    assert f"event=dead_requeued queue={services.queue_name} jobs={status['dead']}" in requeued, requeued


def test_redis_at_maxmemory_never_crashes_and_drains_when_memory_returns(
    services: Services, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis", None, "--maxmemory-policy", "noeviction").start()
    shared = services.redis
    services.redis = redis.Redis.from_url(server.url)
    services.env["REDIS_URL"] = server.url
    try:
        admin = redis.Redis.from_url(server.url)
        admin.config_set("maxmemory", "1")  # full before the first start: XGROUP CREATE is refused
        with captured_logs() as out, services.worker_thread() as worker:
            wait_until(lambda: "where=start" in out.getvalue(), 30, what="paused at start")
            assert "at=error event=paused reason=redis_oom" in out.getvalue()
            admin.config_set("maxmemory", "0")
            wait_until(lambda: "event=worker_started" in out.getvalue(), 30, what="started, memory back")
        events = make_events(1000, seed=106)
        bad = [json.dumps(invalid("bad-1")).encode(), b"{oops"]
        services.cli("enqueue", "-", input=lines(events)).check_returncode()
        services.producer().enqueue(bad)
        admin.config_set("maxmemory", "1")  # full again, with work queued
        with captured_logs() as out, services.worker_thread() as worker:
            wait_until(lambda: "reason=redis_oom" in out.getvalue(), 30, what="the worker meets it")
            if not services.results_in_redis:  # stored elsewhere: XACK passes over maxmemory, and only
                stored = len(expected(events).keys)  # the dead letters (written to Redis) wait
                wait_until(lambda: len(services.stored_keys()) == stored, 60, what="valid jobs stored, full")
                wait_until(lambda: services.status()["in_flight"] == 2, 30, what="only the 2 bad jobs held")
            assert "FULL" in services.cli("status").stdout
            time.sleep(1.0)
            assert not worker.crashed and services.status()["dead"] == 0
            admin.config_set("maxmemory", "0")
            wait_until(lambda: services.drained(dead=2), 60, what="drained")
            assert not worker.crashed
        assert "worker_crashed" not in out.getvalue() and "event=resumed" in out.getvalue()
        assert_stored_exactly_once(services, events)
    finally:
        services.stop_all()
        services.redis.close()
        services.redis = shared
        server.stop()


def test_a_slow_store_keeps_every_held_batch_alive(services: Services) -> None:
    """Stores slower than CLAIM_IDLE_SECONDS: the batch waiting for the store thread is held too."""
    events = make_events(1200, seed=107)
    slow = {"BATCH_SIZE": "100", "TEST_SAVE_SLEEP_MS": "1500"}  # CLAIM_IDLE_SECONDS is 0.6 in tests
    workers = [services.start_worker(INSTRUMENTED, slow) for _ in range(2)]
    for worker in workers:
        wait_until(partial(worker.logged, "worker_started"), 60, what="worker ready")
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    wait_until(services.drained, 120, what="drained by two slow workers")
    assert_stored_exactly_once(services, events)
    logs_ = [w.log.read_text() for w in workers]
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    assert not any("job_reclaimed" in log for log in logs_), "a live worker's batch was taken over"


def test_status_shows_a_dead_worker_as_gone_and_forgets_it(services: Services) -> None:
    worker = services.start_worker()
    wait_until(lambda: services.status()["workers"], 30, what="the worker in status")
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    time.sleep(1.0)  # longer than CLAIM_IDLE_SECONDS (0.6 s in tests): the worker is gone
    first = services.cli("status")
    assert "workers: 0" in first.stdout and "gone: " in first.stdout, first.stdout
    report: dict[str, Any] = json.loads(services.cli("status", "--json").stdout)
    assert report["workers"] == [], "a gone worker is removed from the registry"


def never_printed(services: Services, hostile: dict[str, str]) -> None:
    """Each command, given each hostile setting (name: value; trailing spaces keep names apart), prints no
    secret (SECRET<n>, p@ss) and no traceback."""
    for name, value in hostile.items():
        for argv in (["status"], ["enqueue", "-"], ["dead", "list"], ["migrate"]):
            result = services.cli(*argv, input=b"", timeout=60, env={name.strip(): value})
            printed = result.stdout + result.stderr
            assert "Traceback" not in printed, printed
            assert "SECRET" not in printed and "p@ss" not in printed, (argv, value, printed)


def test_secrets_never_printed(services: Services) -> None:
    never_printed(
        services,
        {
            "REDIS_URL": "redis://:p@ss-SECRET1@127.0.0.1:1/0",
            "REDIS_URL ": "redis://127.0.0.1:1/0?password=SECRET2",
            "REDIS_URL  ": "rediss://:SECRET3@127.0.0.1:1/0",
        },
    )
    assert logs.mask("redis://:p@ss-x@host/0") == "redis://:***@host/0"
    assert logs.mask("postgresql://u:p@ss@h/db?password=x&sslmode=require") == (
        "postgresql://u:***@h/db?password=***&sslmode=require"
    )
