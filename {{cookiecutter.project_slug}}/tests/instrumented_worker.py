"""The worker with test hooks, run as `python tests/instrumented_worker.py` (otherwise the real one).

TEST_POISON=<text>         the process dies (os._exit) when a batch holds a job whose payload contains <text>
TEST_FAIL=<text>           preparing a batch that holds such a job raises ValueError (a data error)
TEST_SLEEP_MS=<n>          each batch takes n ms longer (so a test can act mid-run)
TEST_HANG=<text>           preparing a batch that holds such a job hangs for TEST_HANG_MS (default 5000) ms
TEST_EXIT_AFTER_SAVE=<n>   the process dies right after its n-th commit, before the ack
TEST_SAVE_SLEEP_MS=<n>     each store call takes n ms longer (a slow database)
TEST_CLOCK_SKEW_S=<s>      this process's clock (time.time) is s seconds off (a dyno's clock drifting)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from events_worker import cli, store, worker
from events_worker.output import Batch, Prepared
from events_worker.prepare import prepare as original_prepare
from events_worker.queue_protocol import Job

POISON = os.environ.get("TEST_POISON", "").encode()
FAIL = os.environ.get("TEST_FAIL", "").encode()
SLEEP = int(os.environ.get("TEST_SLEEP_MS", "0")) / 1000
HANG = os.environ.get("TEST_HANG", "").encode()
HANG_SECONDS = int(os.environ.get("TEST_HANG_MS", "5000")) / 1000
EXIT_AFTER_SAVE = int(os.environ.get("TEST_EXIT_AFTER_SAVE", "0"))
SAVE_SLEEP = int(os.environ.get("TEST_SAVE_SLEEP_MS", "0")) / 1000
original_save = store.Store.save
saves = 0
SKEW = float(os.environ.get("TEST_CLOCK_SKEW_S", "0"))
if SKEW:
    real_time = time.time
    time.time = lambda: real_time() + SKEW


def prepare(jobs: Sequence[Job]) -> Prepared:
    if POISON and any(POISON in job.payload for job in jobs):
        os._exit(9)
    if FAIL and any(FAIL in job.payload for job in jobs):
        raise ValueError("this job always fails (TEST_FAIL)")
    if SLEEP:
        time.sleep(SLEEP)
    if HANG and any(HANG in job.payload for job in jobs):
        time.sleep(HANG_SECONDS)
    return original_prepare(jobs)


def save(self: store.Store, batch: Batch) -> int:
    global saves
    if SAVE_SLEEP:
        time.sleep(SAVE_SLEEP)
    stored = original_save(self, batch)
    saves += 1
    if EXIT_AFTER_SAVE and saves >= EXIT_AFTER_SAVE:
        os._exit(9)
    return stored


# The worker calls the `prepare` it imported into its own namespace (`from .prepare import prepare`), so that
# name is the one to replace; worker.py does not re-export it (mypy: attr-defined), on purpose.
worker.prepare = prepare  # type: ignore[attr-defined]
store.Store.save = save  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(cli.main([], prog="events_worker"))
