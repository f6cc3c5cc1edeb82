"""Signals and the watchdog: SIGTERM/SIGINT ask the loop to stop; the watchdog ends it if it cannot."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from . import logs

EXIT_WATCHDOG = 3


class Shutdown:
    """A flag set by SIGTERM or SIGINT, and a watchdog armed at that moment.

    The handler itself writes nothing: it runs in the main thread between two bytecodes, possibly in the
    middle of a log write, and stdout refuses a re-entrant write. The watchdog thread says what happened.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.requested = threading.Event()
        self.stopped = threading.Event()  # set by cancel(): the process stopped in time
        self.watchdog: threading.Thread | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        name = signal.Signals(signum).name
        self.watchdog = threading.Thread(target=self._watch, args=(name,), name="watchdog", daemon=True)
        self.watchdog.start()

    def _watch(self, signal_name: str) -> None:
        logs.info("shutdown_requested", signal=signal_name, deadline_s=self.timeout)
        if not self.stopped.wait(self.timeout):
            self._expire()

    def _expire(self) -> None:
        logs.error(
            "shutdown_watchdog", detail="still busy at the deadline; jobs in hand stay pending for others"
        )
        os._exit(EXIT_WATCHDOG)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when a shutdown is requested."""
        return self.requested.wait(seconds)

    def cancel(self) -> None:
        self.stopped.set()
        if self.watchdog is not None:
            self.watchdog.join(1.0)  # its `shutdown_requested` line comes before `worker_stopped`
