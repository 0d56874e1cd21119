"""Heavy work of every visitor on one bounded, fair queue: :class:`Job` and :class:`JobQueue`.

A page submits a :class:`Job` (a training, say) to the server's one :class:`JobQueue` and draws its
state from an auto-rerunning fragment: "waiting, position 4 of 9, about 40 s", then live progress.
Because the work never runs inside a script run, nothing the visitor does to the page (a click,
another page, Streamlit's own Stop in the header) freezes it half-way: the job ends on its own or at
the page's Stop, and the next look at the page shows its result.

The queue runs at most ``workers`` jobs at once (a ``concurrent.futures`` pool), in the order they
were submitted; each session has at most one job of each kind (its slot: a training, a gallery, a
full-size colorizing) queued or running, so first come, first served is also round-robin between
sessions. Work made with :meth:`Job.in_process` runs in worker processes (a second
``concurrent.futures`` pool, started at the first such job and closed when unused a while): numpy
training in small steps holds Python's global lock, and in a thread it would slow every visitor's page.
Nothing here imports Streamlit: the queue is tested on its own.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import queue
import sys
import threading
import time
import types
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

log = logging.getLogger("colorlab.dashboard")

#: A first guess of a job's duration (seconds) before any job of its kind has finished.
FIRST_GUESS_S = 10.0
#: The worker processes close when unused (no job, no warm-up) this long (seconds) and nobody is connected.
PROCESS_IDLE_S = 30.0


class Job:
    """A function to run on the queue, with progress records, a stop request and a result.

    Parameters
    ----------
    target : callable
        ``target(job)``; it appends progress records to ``job.history``, may set entries of
        ``job.latest``, should end soon after ``job.stop_requested`` becomes true, and returns the result.
    kind : str
        What it is, in words ("ANN training"); durations are averaged per kind for the wait estimate.
    session : str
        The session that submitted it.
    slot : str
        Each session has at most one job per slot ("training", "gallery", ...) queued or running.
    """

    def __init__(
        self, target: Callable[[Job], Any] | None, kind: str = "job", session: str = "", slot: str = "training", **info
    ):
        self.target, self.kind, self.session, self.slot, self.info = target, kind, session, slot, info
        self.process_work: tuple[Callable, tuple] | None = None
        self.history: list[dict] = []
        self.latest: dict = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = False  # removed from the queue before it started
        self.submitted = time.perf_counter()
        self.started: float | None = None
        self.seconds: float | None = None  # from start to end of the work (None until done)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._on_stop: list[Callable[[], None]] = []

    @classmethod
    def in_process(
        cls, fn: Callable, args: tuple, kind: str = "job", session: str = "", slot: str = "training", **info
    ) -> Job:
        """A job whose work runs in one of the queue's worker processes.

        Parameters
        ----------
        fn : module-level function
            ``fn(report, should_stop, *args)``, run in the worker process. ``report(field, value)``
            appends ``value`` to ``job.history`` when ``field`` is ``"history"`` and sets
            ``job.latest[field]`` otherwise; ``should_stop()`` becomes true at the page's Stop.
            ``args``, ``value`` and the result travel between processes, so they must pickle.
        """
        job = cls(None, kind, session, slot, **info)
        job.process_work = (fn, tuple(args))
        return job

    def record(self, field: str, value: Any) -> None:
        """One progress report: a history record, or the latest value of a field."""
        if field == "history":
            self.history.append(value)
        else:
            self.latest[field] = value

    def run(self, work: Callable[[Job], Any] | None = None) -> None:
        """Run the target (or ``work(job)``, the queue's way to reach a worker process) here and now."""
        self.started = time.perf_counter()
        try:
            self.result = (work or self.target)(self)
        except Exception as exc:  # noqa: BLE001 - reported on the page in plain words
            log.exception("%s failed", self.kind)
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - self.started
            self._done.set()

    def cancel(self) -> None:
        """Mark a job that never started as done, with no result."""
        self.cancelled = True
        self._stop.set()
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

    @property
    def running(self) -> bool:
        return self.started is not None and not self.done

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


class JobQueue:
    """The server's heavy work: a bounded pool of worker threads, one job per session and slot, in order.

    Parameters
    ----------
    workers : int
        Jobs run at once (default for the dashboard: the number of cores).
    is_alive : callable(session) -> bool, optional
        Whether a session is still connected; jobs of sessions that left are dropped.
    """

    def __init__(
        self,
        workers: int,
        is_alive: Callable[[str], bool] | None = None,
        housekeeping_s: float | None = None,
        has_visitors: Callable[[], bool] | None = None,
    ):
        if workers < 1:
            raise ValueError(f"a job queue needs at least one worker, got {workers}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colorlab-worker")
        self._lock = threading.Lock()
        self._pending: list[Job] = []  # submitted, not started, in order
        self._running: set[Job] = set()
        self._by_session: dict[tuple[str, str], Job] = {}  # (session, slot) -> its latest job
        self._durations: dict[str, deque] = defaultdict(lambda: deque(maxlen=20))
        self._is_alive = is_alive
        self._has_visitors = has_visitors
        self._processes: tuple[ProcessPoolExecutor, Any] | None = None  # (pool, manager), while in use
        self._process_use = 0.0  # time.monotonic() of their last job or warm-up
        self._warming = False
        self.submitted = self.started = self.finished = self.dropped = 0
        if housekeeping_s:
            threading.Thread(
                target=self._housekeeping, args=(housekeeping_s,), daemon=True, name="colorlab-housekeeping"
            ).start()

    def _housekeeping(self, every: float) -> None:
        """Now and then: drop the jobs of sessions that left and, when idle, hand freed memory back.

        The worker processes close once unused for :data:`PROCESS_IDLE_S` with nobody connected
        (``has_visitors``): while a class is there, its next training starts at once.
        """
        while True:
            time.sleep(every)
            try:
                self.reap()
                with self._lock:
                    idle = not self._running and not self._pending
                if idle:
                    unused = time.monotonic() - self._process_use > PROCESS_IDLE_S
                    if unused and not (self._has_visitors and self._has_visitors()):
                        self.close_processes()
                    release_memory()
            except Exception:  # noqa: BLE001 - housekeeping must never stop
                log.exception("housekeeping failed")

    def _process_pool(self) -> tuple[ProcessPoolExecutor, Any]:
        """The worker processes (``workers`` of them, started fresh, not forked) and a manager for their messages."""
        with self._lock:
            if self._processes is None:
                ctx = multiprocessing.get_context("spawn")
                with _blank_main_module():
                    manager = ctx.Manager()
                pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_one_thread_each)
                self._processes = (pool, manager)
            return self._processes

    def _submit_to_process(self, pool: ProcessPoolExecutor, fn: Callable, *args):
        with _blank_main_module():  # the pool starts its processes inside submit
            return pool.submit(fn, *args)

    def warm_processes(self, ready: Callable[[], Any]) -> None:
        """Start the worker processes in the background, so that the next job need not wait for them.

        ``ready`` is a module-level function of the module the jobs' work comes from: running it once in
        each process imports what the work needs. Cheap to call at every page view.
        """
        with self._lock:
            self._process_use = time.monotonic()
            if self._processes is not None or self._warming:
                return
            self._warming = True

        def warm() -> None:
            try:
                pool, _ = self._process_pool()
                for f in [self._submit_to_process(pool, ready) for _ in range(self.workers)]:
                    f.result()
            except Exception:  # noqa: BLE001 - the first job starts them instead
                log.exception("starting the worker processes failed")
            finally:
                self._warming = False

        threading.Thread(target=warm, daemon=True, name="colorlab-warm-processes").start()

    def close_processes(self) -> None:
        """End the worker processes (they start again with the next job that needs them)."""
        with self._lock:
            if self._warming or any(j.process_work for j in self._running):
                return
            procs, self._processes = self._processes, None
        if procs is not None:
            procs[0].shutdown(wait=True, cancel_futures=True)
            procs[1].shutdown()

    def _run_in_process(self, job: Job) -> Any:
        """Run ``job.process_work`` in a worker process, relaying its reports and the page's Stop."""
        pool, manager = self._process_pool()
        reports, stop = manager.Queue(), manager.Event()

        def pass_stop_on() -> None:
            with contextlib.suppress(Exception):  # a Stop just after the end, with the manager gone: nothing to stop
                stop.set()

        job.on_stop(pass_stop_on)
        if job.stop_requested:
            stop.set()
        fn, args = job.process_work
        future = self._submit_to_process(pool, _child, fn, args, reports, stop)

        def relay(timeout: float | None) -> bool:
            try:
                field, value = reports.get(timeout=timeout) if timeout else reports.get_nowait()
            except queue.Empty:
                return False
            job.record(field, value)
            return True

        while not future.done():
            relay(0.1)
        while relay(None):  # what it reported just before it returned
            pass
        self._process_use = time.monotonic()
        try:
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._processes is not None and self._processes[0] is pool:
                    self._processes = None
            raise RuntimeError("its worker process ended unexpectedly (the server may be short of memory)") from exc

    def submit(self, job: Job) -> str | None:
        """Queue ``job``. A session's earlier job still queued or running is replaced (removed or stopped).

        Returns
        -------
        A message for the visitor when an earlier job was replaced, else None.
        """
        self.reap()
        message = None
        with self._lock:
            old = self._by_session.get((job.session, job.slot))
            if old is not None and not old.done:
                was_running = old.running
                self._stop_locked(old)
                message = (
                    f"Your earlier {old.kind} was {'stopped' if was_running else 'taken out of the queue'}: "
                    f"each visitor has one {job.kind.split()[-1]} at a time, and this one replaces it."
                )
            self._pending.append(job)
            self._by_session[job.session, job.slot] = job
            self.submitted += 1
        self._pool.submit(self._work, job)
        return message

    def _work(self, job: Job) -> None:
        with self._lock:
            if job.cancelled:
                return
            self._pending.remove(job)
            self._running.add(job)
            self.started += 1
        try:
            job.run(self._run_in_process if job.process_work else None)
        finally:
            with self._lock:
                self._running.discard(job)
                self.finished += 1
                if not job.stop_requested and job.error is None:
                    self._durations[job.kind].append(job.seconds)

    def _stop_locked(self, job: Job) -> None:
        if job in self._pending:
            self._pending.remove(job)
            job.cancel()
        else:
            job.stop()

    def stop(self, job: Job) -> None:
        """The page's Stop: a queued job leaves the queue, a running one ends and keeps its work so far."""
        with self._lock:
            self._stop_locked(job)

    def position(self, job: Job) -> tuple[int, int] | None:
        """(place in the queue counting from 1, queue length), or None when it is not waiting."""
        with self._lock:
            if job not in self._pending:
                return None
            return self._pending.index(job) + 1, len(self._pending)

    def typical_seconds(self, kind: str) -> float:
        """The mean duration of the last finished jobs of a kind (a first guess before any)."""
        with self._lock:
            d = self._durations.get(kind)
            return sum(d) / len(d) if d else FIRST_GUESS_S

    def wait_estimate(self, job: Job) -> float | None:
        """Seconds until ``job`` should start: the jobs ahead of it (and those running) over the workers."""
        pos = self.position(job)
        if pos is None:
            return None
        with self._lock:
            ahead = self._pending[: pos[0] - 1]
            running = list(self._running)
        work = sum(self.typical_seconds(j.kind) for j in ahead)
        now = time.perf_counter()
        busy = sum(max(0.0, self.typical_seconds(j.kind) - (now - (j.started or now))) for j in running)
        if len(running) < self.workers and not ahead:
            return 0.0
        return (work + busy) / self.workers

    def reap(self) -> int:
        """Drop the jobs of sessions that have left (a queued one leaves, a running one stops). Returns how many."""
        if self._is_alive is None:
            return 0
        with self._lock:
            gone = [key for key in self._by_session if not self._is_alive(key[0])]
            for s in gone:
                job = self._by_session.pop(s)
                if not job.done:
                    self._stop_locked(job)
                    self.dropped += 1
        return len(gone)

    def forget(self, session: str, slot: str = "training") -> None:
        """The session has collected its job's result: the queue keeps no reference to it."""
        with self._lock:
            job = self._by_session.get((session, slot))
            if job is not None and job.done:
                del self._by_session[session, slot]

    def stats(self) -> dict:
        """How busy the queue is: running, queued, and the counts since the server started."""
        self.reap()
        with self._lock:
            return {
                "workers": self.workers,
                "running": len(self._running),
                "queued": len(self._pending),
                "submitted": self.submitted,
                "started": self.started,
                "finished": self.finished,
                "dropped": self.dropped,
            }


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _blank_main_module():
    """Start processes with a blank ``__main__``.

    Streamlit runs each page as the module ``__main__``, and a fresh ("spawn") process first runs its
    parent's ``__main__`` again: the page, TensorFlow and all, half a gigabyte per worker. While the
    pool starts a process, ``__main__`` is an empty module, so the worker imports only what its work needs.
    """
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _one_thread_each() -> None:
    """A worker process's start (before numpy loads): one math-library thread each, as there is one worker
    per core; a second thread would only spin, waiting, on a core that another worker or the server needs."""
    import os

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def _child(fn: Callable, args: tuple, reports, stop) -> Any:
    """A worker process's side of :meth:`JobQueue._run_in_process`."""
    return fn(lambda field, value: reports.put((field, value)), stop.is_set, *args)


def release_memory() -> None:
    """Collect garbage, then ask the C allocator to return free memory to the system (glibc only).

    The dashboard turns off Streamlit's collection after every script run (too slow with TensorFlow
    loaded), so what closed sessions leave in reference cycles is collected here; without the trim,
    the freed memory would stay with the process.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def describe_wait(position: tuple[int, int], seconds: float | None) -> str:
    """ "waiting, position 4 of 9, about 40 s" """
    where = f"waiting, position {position[0]} of {position[1]}"
    if seconds is None:
        return where
    if seconds < 1:
        return f"{where}, starting now"
    return f"{where}, about {max(5, 5 * math.ceil(seconds / 5))} s"
