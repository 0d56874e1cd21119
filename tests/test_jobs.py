"""The server's job queue: order, one job per session, Stop in the queue, sessions that leave (no browser)."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from ui.jobs import Job, JobQueue, describe_wait


def _gate_job(session: str, order: list, gate: threading.Event, kind: str = "ANN training") -> Job:
    """A job that records when it starts, then waits for ``gate`` (or a stop) and returns its session."""

    def run(job: Job):
        order.append(session)
        while not gate.wait(0.01):
            if job.stop_requested:
                return f"{session} stopped"
        return session

    return Job(run, kind=kind, session=session)


def _until(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_jobs_start_in_the_order_they_came_with_positions_and_a_wait_estimate():
    q, order, gate = JobQueue(1), [], threading.Event()
    jobs = [_gate_job(f"s{i}", order, gate) for i in range(4)]
    for j in jobs:
        assert q.submit(j) is None
    _until(lambda: jobs[0].running)
    assert q.position(jobs[0]) is None  # running, not waiting
    assert [q.position(j) for j in jobs[1:]] == [(1, 3), (2, 3), (3, 3)]
    est = [q.wait_estimate(j) for j in jobs[1:]]
    assert est == sorted(est) and est[0] > 0  # later places wait longer
    assert describe_wait((4, 9), 37.0) == "waiting, position 4 of 9, about 40 s"
    gate.set()
    for j in jobs:
        assert j.wait(10)
    assert order == ["s0", "s1", "s2", "s3"]
    assert [j.result for j in jobs] == order
    stats = q.stats()
    assert (stats["submitted"], stats["started"], stats["finished"], stats["queued"], stats["running"]) == (
        4,
        4,
        4,
        0,
        0,
    )


def test_a_second_press_replaces_the_first_with_a_message():
    q, order, gate = JobQueue(1), [], threading.Event()
    first = _gate_job("busy", order, gate)
    q.submit(first)
    _until(lambda: first.running)
    queued = _gate_job("me", order, gate)
    q.submit(queued)
    again = _gate_job("me", order, gate)
    message = q.submit(again)  # my queued job leaves the queue for the new one
    assert queued.cancelled and queued.done and queued.result is None
    assert "taken out of the queue" in message and "replaces" in message
    assert q.position(again) == (1, 1)
    # A running job is stopped instead, keeping what it did.
    gate2 = threading.Event()
    third = _gate_job("busy", order, gate2)
    message = q.submit(third)
    assert "was stopped" in message
    assert first.wait(10) and first.result == "busy stopped"
    gate.set()
    gate2.set()
    assert again.wait(10) and third.wait(10)
    assert order == ["busy", "me", "busy"]


def test_stop_takes_a_queued_job_out_and_ends_a_running_one():
    q, order, gate = JobQueue(1), [], threading.Event()
    running, waiting = _gate_job("a", order, gate), _gate_job("b", order, gate)
    q.submit(running)
    q.submit(waiting)
    _until(lambda: running.running)
    q.stop(waiting)
    assert waiting.cancelled and waiting.done and q.position(waiting) is None
    q.stop(running)
    assert running.wait(10) and running.result == "a stopped"
    assert order == ["a"]  # the stopped queued job never ran
    assert q.stats()["queued"] == 0


def test_jobs_of_sessions_that_left_are_dropped():
    alive = {"stays": True, "leaves": True}
    q, order, gate = JobQueue(1, is_alive=lambda s: alive[s]), [], threading.Event()
    running, waiting = _gate_job("leaves", order, gate), _gate_job("stays", order, gate)
    q.submit(running)
    _until(lambda: running.running)
    q.submit(waiting)
    alive["leaves"] = False
    assert q.reap() == 1
    assert running.wait(10) and running.result == "leaves stopped"
    gate.set()
    assert waiting.wait(10) and waiting.result == "stays"
    assert q.stats()["dropped"] == 1


def test_a_failing_job_reports_its_error_and_frees_its_worker():
    q = JobQueue(1)

    def boom(job):
        raise ValueError("bad photo")

    bad = Job(boom, session="x")
    good = Job(lambda job: 42, session="y")
    q.submit(bad)
    q.submit(good)
    assert bad.wait(10) and good.wait(10)
    assert isinstance(bad.error, ValueError) and good.result == 42
    with pytest.raises(ValueError, match="at least one worker"):
        JobQueue(0)


def test_two_workers_run_two_sessions_at_once():
    q, order, gate = JobQueue(2), [], threading.Event()
    jobs = [_gate_job(f"s{i}", order, gate) for i in range(3)]
    for j in jobs:
        q.submit(j)
    _until(lambda: jobs[0].running and jobs[1].running)
    assert q.position(jobs[2]) == (1, 1) and not jobs[2].running
    gate.set()
    assert all(j.wait(10) for j in jobs)


def _die(report, should_stop, code):
    """Work whose worker process dies at once, as one killed for lack of memory would."""
    import os

    report("history", {"step": 0})
    os._exit(code)


@pytest.mark.slow
def test_work_in_a_worker_process_reports_progress_stops_and_survives_a_dead_worker():
    from core.ann import preset
    from core.images import load_image
    from core.splits import make_split
    from ui import ann_work

    split = make_split(load_image("coffee"), "left-right")
    q = JobQueue(1)
    try:
        q.warm_processes(ann_work.ready)
        cfg = preset("report", epochs=4, preview_every=2, score_sample=2048, seed=3)
        job = Job.in_process(ann_work.train, (cfg, split), kind="ANN training", session="a")
        q.submit(job)
        assert job.wait(120) and job.error is None
        assert [h["epoch"] for h in job.history] == [1, 2, 3, 4]  # every epoch's report arrived, in order
        epoch, preview = job.latest["preview"]
        assert epoch == 4 and preview.shape == split.compose(split.train_rgb, split.test_rgb).shape
        res = job.result
        assert res.epochs_run == 4 and not res.stopped
        assert res.history[-1]["test_difference"] == pytest.approx(job.history[-1]["test_difference"])

        long = Job.in_process(ann_work.train, (preset("report", epochs=500, seed=3), split), session="a")
        q.submit(long)
        _until(lambda: len(long.history) >= 1, timeout=60)
        q.stop(long)  # the page's Stop reaches the worker process; the model so far is kept
        assert long.wait(30) and long.error is None
        assert long.result.stopped and 1 <= long.result.epochs_run < 500

        dead = Job.in_process(_die, (3,), session="b")
        q.submit(dead)
        assert dead.wait(60)
        assert isinstance(dead.error, RuntimeError) and "worker process ended unexpectedly" in str(dead.error)
        after = Job.in_process(ann_work.train, (cfg, split), session="c")
        q.submit(after)  # a fresh pool takes over
        assert after.wait(120) and after.error is None and after.result.epochs_run == 4
    finally:
        q.close_processes()
    assert q._processes is None


def test_worker_processes_do_not_run_the_page_that_started_them(tmp_path, monkeypatch):
    """Streamlit runs a page as ``__main__``; a fresh worker process must not run that page again."""
    import types

    from ui import ann_work

    marker = tmp_path / "page ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    q = JobQueue(1)
    try:
        job = Job.in_process(_report_pid, (), session="a")
        q.submit(job)
        assert job.wait(60) and job.error is None
        assert job.latest["pid"] != os.getpid()  # it did run in another process
        q.warm_processes(ann_work.ready)
    finally:
        q.close_processes()
    assert not marker.exists()
    assert sys.modules["__main__"] is fake_main  # put back


def _report_pid(report, should_stop):
    report("pid", os.getpid())
    return True


def test_worker_processes_stay_while_visitors_are_connected_and_close_after_they_leave(monkeypatch):
    import ui.jobs
    from ui import ann_work

    monkeypatch.setattr(ui.jobs, "PROCESS_IDLE_S", 0.3)
    visitors = {"n": 1}
    q = JobQueue(1, housekeeping_s=0.1, has_visitors=lambda: visitors["n"] > 0)
    try:
        q.warm_processes(ann_work.ready)
        _until(lambda: q._processes is not None and not q._warming, timeout=60)
        time.sleep(1.0)  # unused for longer than PROCESS_IDLE_S, but somebody is connected
        assert q._processes is not None
        visitors["n"] = 0
        _until(lambda: q._processes is None, timeout=10)
    finally:
        q.close_processes()
