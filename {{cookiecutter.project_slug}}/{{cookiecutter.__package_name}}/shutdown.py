"""Signals and the watchdog: SIGTERM/SIGINT ask the loop to stop; the watchdog ends it if it cannot."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from . import logs

EXIT_WATCHDOG = 3


class Shutdown:
    """A flag set by SIGTERM or SIGINT, and a watchdog armed at that moment."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.requested = threading.Event()
        self.watchdog: threading.Timer | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        logs.info("shutdown_requested", signal=signal.Signals(signum).name, deadline_s=self.timeout)
        self.watchdog = threading.Timer(self.timeout, self._expire)
        self.watchdog.daemon = True
        self.watchdog.start()

    def _expire(self) -> None:
        logs.error(
            "shutdown_watchdog", detail="still busy at the deadline; jobs in hand stay pending for others"
        )
        os._exit(EXIT_WATCHDOG)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when a shutdown is requested."""
        return self.requested.wait(seconds)

    def cancel(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
