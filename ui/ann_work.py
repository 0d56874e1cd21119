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
    """Run once in a fresh worker process: a tiny training, scored, so that everything a real one needs
    (the scores and baselines too) is imported before the first visitor's training arrives."""
    import numpy as np

    from core.ann import preset
    from core.splits import make_split

    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    train(lambda *_: None, lambda: False, preset("report", epochs=1), make_split(rgb, "left-right"))
    return True


def colorize(report: Callable, should_stop: Callable[[], bool], model, rgb):
    """Colorize a whole photo with a trained ANN (``rgb`` : (H, W, 3) uint8); returns (H, W, 3) uint8."""
    return model.colorize(rgb)
