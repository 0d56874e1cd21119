"""Background jobs: training runs in its own thread, the page only looks at it.

A page starts a :class:`Job` and draws its progress from an auto-rerunning
fragment. Because the work does not run inside the script, nothing the visitor
does to the script (a click, another page, Streamlit's own Stop in the header)
can freeze it half-way: the job ends on its own or at the page's Stop button,
and the next look at the page shows its result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("colorlab.dashboard")


class Job:
    """A function running in a daemon thread, with progress records and a stop request.

    Parameters
    ----------
    target : callable
        ``target(job)``; it appends progress records to ``job.history``, may set
        entries of ``job.latest``, should end soon after ``job.stop_requested``
        becomes true, and returns the result.
    """

    def __init__(self, target: Callable[[Job], Any], **info):
        self.info = info
        self.history: list[dict] = []
        self.latest: dict = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self.seconds: float | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._on_stop: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True, name="colorlab-job")

    def start(self) -> Job:
        self._thread.start()
        return self

    def _run(self, target) -> None:
        try:
            self.result = target(self)
        except Exception as exc:  # noqa: BLE001 - reported on the page in plain words
            log.exception("background job failed")
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - self.started
            self._done.set()

    def on_stop(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` (from the caller's thread) when a stop is requested."""
        self._on_stop.append(fn)

    def stop(self) -> None:
        """Ask the job to end soon; it keeps what it has done so far."""
        self._stop.set()
        for fn in self._on_stop:
            fn()

    @property
    def stop_event(self) -> threading.Event:
        """Set when a stop is requested (for code that polls an Event)."""
        return self._stop

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)
