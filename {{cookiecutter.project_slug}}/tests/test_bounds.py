"""The worker's bounds: memory by bytes, shutdown within one batch, take-overs in batches, one clock."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
from conftest import Services, WorkerProcess, wait_until
from eventgen import lines, make_events
from test_worker import assert_stored_exactly_once

from events_worker.schema import KEY

INSTRUMENTED = [sys.executable, str(Path(__file__).with_name("instrumented_worker.py"))]
MiB = 2**20


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def log_of(worker: WorkerProcess) -> str:
    return worker.log.read_text()


def test_memory_is_bounded_by_bytes_not_entries(services: Services) -> None:
    """150 valid jobs of ~900 KB at the default batch size: a standard-1x dyno (512 MB) must hold them; the
    worker's peak stays under 300 MiB because a read stops at READ_MAX_BYTES."""
    events = make_events(150, seed=301)
    big = [json.dumps({**event, "note": "x" * 900_000}).encode() for event in events]
    services.producer().enqueue(big, chunk=10)
    worker = services.start_worker(BATCH_SIZE="2000")
    wait_until(services.drained, 120, what="150 large jobs stored")
    peak = peak_rss_mib(worker.pid)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert_stored_exactly_once(services, events)
    print(f"peak RSS {peak:.0f} MiB")  # shown with -s (the template's docs record it)
    assert peak <= 300, f"peak RSS {peak:.0f} MiB for 150 x 900 KB jobs (a 512 MB dyno holds ~480 MiB)"
    batches = [line for line in log_of(worker).splitlines() if "event=batch_stored" in line]
    assert len(batches) > 1, "all 150 jobs in one batch: the byte budget did not apply"


def test_sigterm_during_a_slow_store_finishes_one_batch_and_hands_back_the_rest(services: Services) -> None:
    """Batches that take 7 s to store: SIGTERM lets the batch in hand finish, hands back what was read, and
    the process exits 0 well inside Heroku's 30 s (not after draining every batch read ahead)."""
    events = make_events(1000, seed=302)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    worker = services.start_worker(
        INSTRUMENTED,
        TEST_SAVE_SLEEP_MS="7000",
        BATCH_SIZE="100",
        SHUTDOWN_TIMEOUT_SECONDS="25",
        HEARTBEAT_SECONDS="1",
        CLAIM_IDLE_SECONDS="5",
    )
    wait_until(lambda: "event=batch_stored" in log_of(worker), 60, what="the first slow batch stored")
    time.sleep(1)  # the next batch is in the store, one waits in the hand-off, one is being read
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(30)
    took = time.monotonic() - sent
    log = log_of(worker)
    assert code == 0, log
    print(f"SIGTERM to exit: {took:.1f} s")  # shown with -s
    assert took < 10, f"SIGTERM took {took:.1f} s: more than the batch in hand"
    assert "event=batch_handed_back" in log and "shutdown_watchdog" not in log
    status = services.status()
    assert status["in_flight"] == 0, "a batch read but not stored was kept instead of handed back"
    services.start_worker()
    wait_until(services.drained, 60, what="drained by a second worker")
    assert_stored_exactly_once(services, events)


def test_jobs_of_a_dead_worker_are_taken_over_in_batches(services: Services) -> None:
    """A worker dies holding three batches: a live one takes them over in batches (one transaction per
    batch, not per job), and every job is stored exactly once."""
    events = make_events(2000, seed=303)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    stuck = services.start_worker(INSTRUMENTED, TEST_SAVE_SLEEP_MS="60000", BATCH_SIZE="400")
    wait_until(lambda: services.status()["in_flight"] >= 1200, 60, what="three batches held")
    stuck.send_signal(signal.SIGKILL)
    stuck.wait(10)
    taker = services.start_worker(BATCH_SIZE="400")
    wait_until(services.drained, 90, what="taken over and stored")
    assert_stored_exactly_once(services, events)
    log = log_of(taker)
    sizes = [int(line.split(" jobs=")[1].split()[0]) for line in log.splitlines() if "jobs_reclaimed" in line]
    assert sizes and max(sizes) > 1, f"taken over one job at a time: {sizes[:5]}"
    assert sum(sizes) >= 1200 and len(sizes) <= 10, sizes
    assert services.status()["dead"] == 0


@pytest.mark.parametrize("skew", ["-120", "3600"])
def test_a_worker_whose_clock_is_off_is_judged_by_redis_time(services: Services, skew: str) -> None:
    """A dyno clock 2 minutes behind is still alive in `status`; 1 hour ahead, its retries are due on time."""
    events = make_events(300, seed=304)
    events[150][KEY] = "fail-1"
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    worker = services.start_worker(INSTRUMENTED, TEST_CLOCK_SKEW_S=skew, TEST_FAIL="fail-1")
    wait_until(lambda: "event=job_retry" in log_of(worker), 60, what="the failing job scheduled to retry")
    retry_key = "{" + services.queue_name + "}:retry"
    seconds, micros = services.redis.time()
    now = seconds + micros / 1e6
    # withscores=True: (member, score) pairs, which redis-py's return type (every reply shape) does not say
    scored = cast("list[tuple[bytes, float]]", services.redis.zrange(retry_key, 0, -1, withscores=True))
    due = [score for _, score in scored]
    time.sleep(0.5)  # a few heartbeats
    listed = services.status()["workers"]
    shown = services.cli("status").stdout
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert listed and not any(w["gone"] for w in listed) and "gone:" not in shown, shown
    assert all(w["seconds_ago"] < 5 for w in listed), listed
    assert not due or max(due) < now + 5, f"a retry due in {max(due) - now:.0f} s by Redis's clock"


def test_sigterm_while_paused_hands_the_batch_back(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paused on a batch (every job fails), then SIGTERM: the batch goes back to the queue, never acked."""
    from events_worker import prepare as prepare_module
    from events_worker.transform import transform as demo  # the one prepare calls

    broken = threading.Event()
    broken.set()

    def transform(batch: Any) -> Any:
        if broken.is_set():
            raise KeyError("channel")
        return demo(batch)

    monkeypatch.setattr(prepare_module, "transform", transform)
    events = make_events(300, seed=305)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    with services.worker_thread():
        wait_until(
            lambda: any(w["paused"] for w in services.status()["workers"]), 60, what="the worker paused"
        )
    status = services.status()
    assert status["dead"] == 0 and status["in_flight"] == 0
    assert status["queued"] + status["retrying"] == 300, status
    broken.clear()
    with services.worker_thread():
        wait_until(services.drained, 60, what="drained once fixed")
    assert_stored_exactly_once(services, events)
