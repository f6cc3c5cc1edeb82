"""Crashes and outages: SIGKILL at any point, a job that kills its worker, a failing job, restarts."""

from __future__ import annotations

import io
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import RedisServer, Services, wait_until
from eventgen import event, lines, make_events
from test_worker import assert_stored_exactly_once

from events_worker.schema import KEY

INSTRUMENTED = [sys.executable, str(Path(__file__).with_name("instrumented_worker.py"))]
CRASH_ROUNDS = int(os.environ.get("WORKER_TEST_CRASH_ROUNDS", "3"))
MODULE = [sys.executable, "-m", "events_worker"]


def stored_more_than(services: Services, count: int) -> bool:
    return len(services.stored_keys()) > count


def test_sigkill_at_any_moment_loses_nothing_and_counts_nothing_twice(services: Services) -> None:
    events = make_events(3000, seed=21)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    rng = random.Random(21)
    for round_ in range(CRASH_ROUNDS):
        # alternate: killed from outside at a random moment, or killed right after a commit (before its ack)
        if round_ % 2:
            exit_after = str(rng.randint(1, 8))
            worker = services.start_worker(INSTRUMENTED, BATCH_SIZE="100", TEST_EXIT_AFTER_SAVE=exit_after)
            worker.wait(60)
        else:
            worker = services.start_worker(INSTRUMENTED, BATCH_SIZE="100", TEST_SLEEP_MS="5")
            before = len(services.stored_keys())
            wait_until(partial(stored_more_than, services, before), 60, what="progress")
            import time

            time.sleep(rng.uniform(0, 0.1))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
    assert services.status()["in_flight"] > 0 or services.drained()
    services.start_worker()
    wait_until(services.drained, 90, what="drained after the crashes")
    assert_stored_exactly_once(services, events)
    assert services.status()["dead"] == 0


def test_a_job_that_kills_its_worker_ends_in_the_dead_letters(services: Services) -> None:
    events = make_events(1000, seed=22)
    poison = event("poison-1")
    services.cli("enqueue", "-", input=lines([*events[:600], poison, *events[600:]])).check_returncode()
    for _ in range(8):  # Heroku restarts crashed dynos; so do we
        worker = services.start_worker(
            INSTRUMENTED, TEST_POISON="poison-1", MAX_DELIVERIES="2", BATCH_SIZE="50"
        )
        ended = lambda w=worker: w.poll() is not None or services.drained(dead=1)  # noqa: E731
        wait_until(ended, 60, what="a crash or the end")
        if services.drained(dead=1):
            break
    else:
        pytest.fail("the poison job was redelivered forever")
    dead = services.cli("dead", "list").stdout
    assert "poison-1" in dead and "without an ack" in dead
    assert services.status()["dead"] == 1
    assert_stored_exactly_once(services, events)


def test_a_failing_job_is_isolated_retried_then_dead(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from events_worker import logs
    from events_worker import prepare as prepare_module
    from events_worker.transform import transform as demo  # the one prepare calls

    def transform(batch: Any) -> Any:  # the team's code, failing on some rows
        ids = batch[KEY].tolist() if hasattr(batch, "columns") else [getattr(e, KEY) for e in batch]
        if any(i.startswith("fail-") for i in ids):
            raise ValueError("this job always fails")
        return demo(batch)

    monkeypatch.setattr(prepare_module, "transform", transform)
    events = make_events(2000, seed=23)
    failing = [event(f"fail-{i}") for i in (1, 2, 3)]
    services.cli("enqueue", "-", input=lines(events[:500] + failing + events[500:])).check_returncode()
    out = io.StringIO()
    logs.setup("info", out)
    more = make_events(3000, seed=24)
    try:
        with services.worker_thread():
            sent = 0
            while not services.drained(dead=3):
                # other jobs keep storing: the proof that a failing job alone is at fault, not the store
                assert sent < len(more), "the failing jobs were never dead-lettered"
                services.cli("enqueue", "-", input=lines(more[sent : sent + 50])).check_returncode()
                sent += 50
                time.sleep(0.2)
            wait_until(lambda: services.drained(dead=3), 60, what="drained")
    finally:
        logs.setup("info")
    assert_stored_exactly_once(services, events + more[:sent])
    dead = services.cli("dead", "list").stdout
    assert dead.count("this job always fails") == 3 and '"deliveries": 3' in dead
    assert "event=job_retry" in out.getvalue() and "splits=" in out.getvalue()
    assert "event=job_retry key=fail-1 entry=" in out.getvalue(), "the key, stable across retries"


def test_a_hung_worker_lets_go_of_its_batch(services: Services) -> None:
    events = make_events(400, seed=26)
    events[120][KEY] = "hang-1"
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    fast = {"HEARTBEAT_SECONDS": "0.1", "CLAIM_IDLE_SECONDS": "0.35", "BATCH_SIZE": "50"}  # stuck after 3.5 s
    hung = services.start_worker(INSTRUMENTED, fast, TEST_HANG="hang-1", TEST_HANG_MS="9000")
    wait_until(lambda: "worker_started" in hung.log.read_text(), 60, what="the worker to start")
    helper = services.start_worker(env=fast)
    wait_until(services.drained, 30, what="the hung batch taken over")
    assert hung.poll() is None, "the hung worker is still running (and still asleep)"
    assert_stored_exactly_once(services, events)
    assert "event=batch_stuck" in hung.log.read_text()
    assert "event=jobs_reclaimed" in helper.log.read_text()


def survive_restart(
    services: Services,
    restart: Callable[..., None],
    backend: str,
    seed: int,
    after_restart: Callable[[], None] | None = None,
) -> None:
    """Restart a backend mid-run: the worker waits it out, stores each event once, stops cleanly."""
    events = make_events(6000, seed=seed)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    worker = services.start_worker(INSTRUMENTED, BATCH_SIZE="200", TEST_SLEEP_MS="10")
    wait_until(lambda: len(services.stored_keys()) > 1000, 60, what="some progress")
    restart(down_for=1.0)
    if after_restart is not None:
        after_restart()
    wait_until(services.drained, 90, what=f"drained after the {backend} restart")
    assert worker.poll() is None, f"the worker died with {backend}"
    assert_stored_exactly_once(services, events)
    assert "event=paused" in worker.log.read_text()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0


def test_redis_restart_mid_run(services: Services, tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    shared = services.redis
    try:
        services.env["REDIS_URL"] = server.url
        services.redis = redis.Redis.from_url(server.url)

        def reconnect() -> None:
            services.redis = redis.Redis.from_url(server.url)

        survive_restart(services, server.restart, "Redis", seed=24, after_restart=reconnect)
    finally:
        services.stop_all()
        services.redis.close()
        services.redis = shared
        server.stop()
