"""The worker as Heroku runs it (the Procfile command, a real process): end to end, SIGTERM, many workers."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from functools import partial
from typing import Any

from conftest import PACKAGE, PROJECT, Services, wait_until
from eventgen import expected, invalid, lines, make_events

from events_worker.schema import KEY


def assert_stored_exactly_once(services: Services, events: list[dict[str, Any]]) -> None:
    """Each job's row stored once, and every output table as if each job was stored once, in one batch."""
    keys = services.stored_keys()
    twice = sorted(k for k in set(keys) if keys.count(k) > 1)
    assert not twice, f"{len(twice)} jobs stored twice, e.g. {twice[:3]}"
    stored, want = services.stored(), expected(events)
    missing, extra = sorted(set(want.keys) - set(keys)), sorted(set(keys) - set(want.keys))
    assert not missing and not extra, f"{len(missing)} jobs missing (e.g. {missing[:3]}), {len(extra)} extra"
    for name, rows in want.tables.items():
        got = stored.tables[name]
        wrong = {k: (got.get(k), v) for k, v in rows.items() if got.get(k) != v}
        assert not wrong, f"{name}: {len(wrong)} rows differ, (stored, expected): {list(wrong.items())[:3]}"
        assert got.keys() == rows.keys(), f"{name}: rows under keys that no job brings"


def test_end_to_end_with_duplicates_and_bad_jobs(services: Services) -> None:
    events = make_events(3000, seed=11)
    other = {**events[6], KEY: events[5][KEY]}  # a redelivery of events[5] with other content: first wins
    duplicates = [*events[:200], other]
    bad = [json.dumps(invalid("bad-1")).encode(), b"{truncated"]
    result = services.cli("enqueue", "-", input=lines(events + duplicates))
    assert result.returncode == 0 and "queued=3201" in result.stdout
    services.producer().enqueue(bad)  # a producer that skipped validation
    worker = services.start_worker()
    wait_until(lambda: services.drained(dead=2), 60, what="queue drained")
    assert_stored_exactly_once(services, events)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
    log = worker.log.read_text()
    assert "event=worker_started" in log and "event=batch_stored" in log and "event=worker_stopped" in log
    # 201 duplicate lines; events[5] twice in one batch is one row: 200 jobs whose key was stored before,
    # counted when transform keeps their row
    redelivered = len(expected(events[:200]).keys)
    assert sum(int(n) for n in re.findall(r" duplicates=(\d+)", log)) == redelivered, "redeliveries counted"
    assert re.search(r"event=job_dead key=bad-1 entry=", log), "a line about a job names its key"
    assert all(line.startswith("at=") for line in log.splitlines()), log


def test_sigterm_stops_quickly_with_nothing_lost(services: Services) -> None:
    events = make_events(8000, seed=12)
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    worker = services.start_worker(BATCH_SIZE="200")
    wait_until(lambda: len(services.stored_keys()) > 0, 60, what="first batch stored")
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert time.monotonic() - sent < 5, "SIGTERM took too long"
    assert services.status()["in_flight"] == 0, "the batch in hand was neither finished nor handed back"
    services.start_worker()
    wait_until(services.drained, 60, what="drained by a second worker")
    assert_stored_exactly_once(services, events)


def test_sigterm_while_idle(services: Services) -> None:
    worker = services.start_worker()
    wait_until(lambda: "worker_started" in worker.log.read_text(), 30, what="worker ready")
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(10) == 0 and time.monotonic() - sent < 3


def test_several_workers_share_the_queue_without_double_work(services: Services) -> None:
    events = make_events(6000, seed=13)
    workers = [services.start_worker(BATCH_SIZE="250") for _ in range(3)]
    for worker in workers:  # all ready before the work arrives, so that all can take a share
        wait_until(partial(worker.logged, "worker_started"), 60, what="worker ready")
    services.cli("enqueue", "-", input=lines(events)).check_returncode()
    wait_until(services.drained, 90, what="drained by three workers")
    assert_stored_exactly_once(services, events)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    assert [w.wait(15) for w in workers] == [0, 0, 0]
    logs = [w.log.read_text() for w in workers]
    jobs = [sum(int(n) for n in re.findall(r"event=batch_stored jobs=(\d+)", log)) for log in logs]
    assert sum(jobs) == len(events), "a job was processed twice (or not at all)"
    assert sum(1 for n in jobs if n) >= 2, "only one worker did anything"
    assert not any("job_reclaimed" in log for log in logs)


SIGNAL_MID_WRITE = """
import signal, sys
from {pkg} import logs
from {pkg}.shutdown import Shutdown

shutdown = Shutdown(5.0)


class Stdout:
    \"\"\"Like sys.stdout's buffer: a write that starts while another is under way is refused.\"\"\"

    def __init__(self):
        self.busy, self.fired, self.lines = False, False, []

    def write(self, text):
        if self.busy:
            raise RuntimeError("reentrant call inside the stdout buffer")
        self.busy = True
        try:
            if not self.fired:  # SIGTERM lands in the middle of this write
                self.fired = True
                shutdown._handle(signal.SIGTERM, None)
            self.lines.append(text)
        finally:
            self.busy = False

    def flush(self):
        pass


out = Stdout()
logs.setup("info", out)
logs.info("worker_started")
shutdown.cancel()
sys.stdout.write("".join(out.lines))
"""


def test_sigterm_in_the_middle_of_a_log_write() -> None:
    """The handler must neither wait for the log lock the main thread holds nor write to stdout re-entrantly.

    (Seen as a worker that hung, or died with a traceback, when SIGTERM came right after `worker_started`.)
    """
    script = SIGNAL_MID_WRITE.format(pkg=PACKAGE)
    run = [sys.executable, "-c", script]
    done = subprocess.run(run, cwd=PROJECT, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("at=info event=worker_started"), done.stdout
    assert "event=shutdown_requested signal=SIGTERM" in done.stdout
