"""Server-wide settings the dashboard applies once per script run (cheap and idempotent).

Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is loaded. That is a
full garbage collection (a few hundred milliseconds with TensorFlow in memory, holding the interpreter
lock) after every redraw of a live view, twice a second, and it resets Keras' global state under a model
that trains in a background job. The dashboard keeps its models in ``st.cache_resource`` and its trainings
in jobs, so it needs no such clearing; :func:`keep_keras_session` turns it off.

Streamlit's automatic pages of a ``pages/`` folder would also serve a page without ``dashboard.py`` when a
fresh server's first visitor opens its address directly; :func:`use_dashboard_navigation` sends that
visitor through ``dashboard.py`` so the sidebar lists exactly the dashboard's pages.
"""

from __future__ import annotations

import streamlit as st


def keep_keras_session() -> None:
    """Stop Streamlit from clearing the Keras session after each script run (see the module docstring)."""
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner._clean_problem_modules, "__name__", "") != "_no_cleanup":

        def _no_cleanup() -> None:
            mpl = __import__("sys").modules.get("matplotlib.pyplot")
            if mpl is not None:  # the other half of Streamlit's cleanup, kept
                mpl.close("all")

        script_runner._clean_problem_modules = _no_cleanup


def use_dashboard_navigation() -> None:
    """Rerun through ``dashboard.py`` when Streamlit served a ``pages/`` file on its own (first visit only).

    Streamlit's automatic page list includes the main script itself; the dashboard's own list does not.
    Only a visitor's first run is sent round (a click in a rerun would be lost): on a server that is the only
    run in this mode, since the first pass through ``dashboard.py`` switches the mode off for good.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    pages = ctx.pages_manager.get_pages().values() if ctx is not None else ()
    if any(str(p.get("script_path", "")).endswith("dashboard.py") for p in pages):
        PagesManager.uses_pages_directory = False
        if not st.session_state.keys():
            st.rerun()


#: How often the queue drops the jobs of visitors who left and, when idle, returns freed memory.
HOUSEKEEPING_S = 15.0
#: A queued job's place is redrawn this often (seconds), or less often far back in the queue;
#: a running job's progress more often.
WAIT_REDRAW_S, FAR_WAIT_REDRAW_S = 2.0, 5.0
LIVE_REDRAW_S = 0.5


@st.cache_resource(show_spinner=False)
def job_queue():
    """The server's one queue for heavy work (``ui.jobs.JobQueue``), shared by every session.

    It runs as many jobs at once as the machine has cores; ``COLORLAB_WORKERS=N`` changes that.
    """
    import os

    from ui.jobs import JobQueue

    workers = int(os.environ.get("COLORLAB_WORKERS") or os.cpu_count() or 2)
    runtime = st.runtime.get_instance() if st.runtime.exists() else None

    def is_alive(session: str) -> bool:
        return runtime is None or bool(runtime.is_active_session(session))

    return JobQueue(workers, is_alive, housekeeping_s=HOUSEKEEPING_S, has_visitors=lambda: bool(sessions_connected()))


def redraw_every(job, running_s: float) -> float:
    """How often a job's live view redraws (seconds): ``running_s`` once it runs; slower while it waits,
    slowest far back in the queue, where each of many waiting pages would otherwise redraw for nothing.

    A live view compares this with the rate it was drawn at and redraws the page when it changes.
    """
    queue = job_queue()
    place = queue.position(job)
    if place is None or queue.wait_estimate(job) == 0:  # running, or about to: a worker is free
        return running_s
    return WAIT_REDRAW_S if place[0] <= 2 * queue.workers else FAR_WAIT_REDRAW_S


def job_header(key: str, job, on_stop=None):
    """The live view's first row, shared by every queued job: Stop, then the job's place while it waits.

    Parameters
    ----------
    on_stop : callable, optional
        Also called when Stop is pressed (before the page reruns).

    Returns
    -------
    The column for the running job's progress bar, or None while the job still waits (the row says where).
    """
    from ui.jobs import describe_wait

    queue = job_queue()
    place = queue.position(job)

    def stop() -> None:
        queue.stop(job)
        if on_stop is not None:
            on_stop()

    c_stop, c_bar = st.columns([1, 5], vertical_alignment="center")
    c_stop.button("Stop", key=f"{key}_stop", on_click=stop, icon=":material/stop:", disabled=job.stop_requested)
    if place is not None:  # still waiting for a free worker
        c_bar.progress(0.0, text=describe_wait(place, queue.wait_estimate(job)) + " (other visitors' work comes first)")
        return None
    return c_bar


def live_job(key: str, job, describe, on_stop=None, more=None) -> None:
    """A queued job's live view (a CNN training, a gallery, a full-size colorizing): its place, then its progress.

    Parameters
    ----------
    key : str
        Widget key prefix.
    job : ui.jobs.Job
    describe : callable(job) -> (fraction done, text)
    on_stop : callable, optional
        Also called at Stop.
    more : callable(job), optional
        Draws more below the progress bar while the job runs (a chart, say).

    The whole page reruns when the job ends, to show its result.
    """
    every = redraw_every(job, LIVE_REDRAW_S)

    @st.fragment(run_every=every)
    def view() -> None:
        if job.done or redraw_every(job, LIVE_REDRAW_S) != every:
            st.rerun()
        c_bar = job_header(key, job, on_stop)
        if c_bar is not None:
            done, text = describe(job)
            c_bar.progress(min(1.0, done), text=text)
            if more is not None:
                more(job)

    view()


def session_id() -> str:
    """This visitor's session (the key the queue keeps its one job under)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def sessions_connected() -> int | None:
    """How many browser sessions the server holds now (None when Streamlit does not say)."""
    try:
        return len(st.runtime.get_instance()._session_mgr.list_active_sessions())
    except Exception:  # noqa: BLE001 - an internal of Streamlit's; the count is only informative
        return None


def free_memory_mb() -> int | None:
    """The memory the system can still give (Linux ``MemAvailable``), in MB; None elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None
