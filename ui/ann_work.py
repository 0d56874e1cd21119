"""The ANN page's training as a queue job's work, run in a worker process (see :meth:`ui.jobs.Job.in_process`).

Module-level and free of Streamlit, so a fresh worker process can import it quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.ann.trainer import ANNTrainer


def train(report: Callable, should_stop: Callable[[], bool], config, split):
    """Train an ANN on ``split``, reporting each epoch's scores and the previews; return the exact final scoring.

    Parameters
    ----------
    report : callable(field, value)
        ``("history", {"epoch", "loss", "train_difference", "test_difference"})`` after each epoch,
        ``("preview", (epoch, (H, W, 3) uint8))`` with each preview.
    should_stop : callable() -> bool
        Polled every 0.1 s; once true, training ends after the current batch and keeps its model.
    config : ANNConfig
    split : the photo's train/test split (``core.splits``)

    Returns
    -------
    ANNResult
    """
    trainer = ANNTrainer(config, split)
    finished = threading.Event()

    def watch_stop() -> None:
        while not finished.wait(0.1):
            if should_stop():
                trainer.request_stop()
                return

    threading.Thread(target=watch_stop, daemon=True, name="colorlab-stop-watch").start()
    try:
        for ev in trainer.train():
            if ev.kind == "epoch":
                report(
                    "history",
                    {
                        "epoch": ev.epoch,
                        "loss": ev.loss,
                        "train_difference": ev.train_difference,
                        "test_difference": ev.test_difference,
                    },
                )
            elif ev.kind in ("preview", "done") and ev.preview is not None:
                report("preview", (ev.epoch, ev.preview))
        return trainer.result()
    finally:
        finished.set()


def ready() -> bool:
    """Nothing: run once in a fresh worker process, it has imported what training needs."""
    return True
