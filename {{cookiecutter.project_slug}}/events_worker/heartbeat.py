"""The heartbeat thread: says the worker is alive and keeps the jobs it holds from looking abandoned.

It runs beside the main loop with its own Redis connection, so a long pandas or database step (the GIL
is released often) does not make a live worker look dead to the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from . import logs
from .queue_consumer import WORKER_FORGET_SECONDS, Consumer


class Heartbeat(threading.Thread):
    """Every `interval` seconds: touch the jobs in `holding()` and record the worker (and its state)."""

    def __init__(
        self,
        queue: Consumer,
        worker_id: str,
        interval: float,
        holding: Callable[[], list[str]],
        state: Callable[[], str] = str,
        forget_after: float = WORKER_FORGET_SECONDS,
    ) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.queue = queue
        self.worker_id = worker_id
        self.interval = interval
        self.holding = holding
        self.state = state  # "" or "paused|<reason>|<since>", shown by `status`
        self.forget_after = forget_after
        self.stopped = threading.Event()
        self.failures = 0

    def beat(self) -> None:
        try:
            self.queue.heartbeat(self.worker_id, self.holding(), self.state(), self.forget_after)
        except Exception as exc:  # keep beating: Redis may come back
            self.failures += 1
            if self.failures == 1 or self.failures % 10 == 0:
                logs.warning(
                    "heartbeat_failed",
                    worker=self.worker_id,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                    failures=self.failures,
                )
        else:
            if self.failures:
                logs.info("heartbeat_restored", worker=self.worker_id, after_failures=self.failures)
            self.failures = 0

    def run(self) -> None:
        self.beat()
        while not self.stopped.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=2)
