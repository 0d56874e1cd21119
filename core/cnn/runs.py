"""Whole training runs: the general model on the corpus, a scenario's fine-tune, and training on any photos.

Each trains with :func:`core.cnn.train.train_cnn`, scores the result with
:func:`core.cnn.evaluate.evaluate_photos` beside baselines fitted on the training photos, and writes a model card.
See docs/CNN.md, "Recipes".
"""

from __future__ import annotations

import numpy as np

from ..datasets import lab_arrays
from ..images import resize
from ..report import REPORT_SIZE
from .config import CNNConfig
from .evaluate import EVAL_SIDE, baseline_tables, evaluate_photos, fit_baselines, folder_photos, load_photos
from .models import is_bins
from .store import cache_put, cached, load_model, make_card, save_model
from .train import train_cnn

__all__ = ["SCENARIO_SIDE", "train_general", "train_on_dataset", "scenario_photos"]

#: A scenario's training photos are scaled to this shorter side before cropping (see docs/CNN.md, "Recipes").
SCENARIO_SIDE = 96

#: Corpus photos the general model's baselines are fitted on.
BASELINE_PHOTOS = 3000


def scenario_photos(photos, side: int = SCENARIO_SIDE) -> list[np.ndarray]:
    """Photos scaled so that their shorter side is ``side`` (never enlarged), for random crops."""
    out = []
    for p in photos:
        h, w = p.shape[:2]
        f = min(1.0, side / min(h, w))
        out.append(resize(p, (max(1, round(h * f)), max(1, round(w * f)))) if f < 1 else np.asarray(p))
    return out


def train_general(
    config: CNNConfig,
    corpus,
    val,
    *,
    val_folder,
    out_dir,
    checkpoint_dir=None,
    resume=False,
    progress=None,
    stop=None,
    eval_progress=None,
):
    """Train the general model on the corpus, score it on ``val`` and save ``general.keras`` with its card.

    Parameters
    ----------
    config : CNNConfig (the ``general`` recipe)
    corpus, val : core.corpus.CorpusPart
        ``train`` and ``val``; val is never trained on (a few of its photos are the live accuracy's).
    val_folder : path
        The ``val`` folder: every photo is scored at the end, as ``cnn eval --images`` scores them.
    out_dir : path
    checkpoint_dir, resume, progress, stop
        As in :func:`core.cnn.train.train_cnn`.
    eval_progress : callable(done, total), optional

    Returns
    -------
    (TrainResult, card, path) ; path is None when the run was stopped (a stopped run saves only its checkpoint)
    """
    rng = np.random.default_rng((config.seed, 11))
    probe = rng.choice(len(val), size=min(64, len(val)), replace=False)
    monitor = lab_arrays([val.images[int(i)] for i in probe], config.size)
    result = train_cnn(
        config,
        corpus.images,
        monitor=monitor,
        progress=progress,
        stop=stop,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
    )
    if result.stopped:
        return result, None, None
    base_idx = rng.choice(len(corpus), size=min(BASELINE_PHOTOS, len(corpus)), replace=False)
    baselines = fit_baselines([corpus.images[int(i)] for i in base_idx])
    photos, names, groups = load_photos(folder_photos([val_folder]), val_folder)
    ev = evaluate_photos(result.model, photos, baselines=baselines, names=names, groups=groups, progress=eval_progress)
    metrics = {k: ev[k] for k in ("n", "size", "hints", "aggregate", "groups", "best_baseline")}
    metrics["scored_on"] = f"corpus val: {len(photos)} photos, at most {EVAL_SIDE} px on the shorter side"
    data = {"name": "corpus", "part": "train", "photos": len(corpus), "fingerprint": corpus.fingerprint}
    card = make_card(result, name="general", data=data, metrics=metrics, baselines_ab=baseline_tables(baselines))
    return result, card, save_model(result.model, card, out_dir, "general", compact=True)


def train_on_dataset(config: CNNConfig, dataset, *, progress=None, stop=None, cache=True, name=None):
    """Train on a :class:`core.datasets.PhotoDataset`'s training part, scored on its test part at 64 x 64.

    The ``scenario`` recipe fine-tunes its ``init`` model; the report's network trains on whole photos.
    Through the cache (``$COLORLAB_CACHE``) unless ``cache=False``: the same config and photos load instead.

    Returns
    -------
    dict with ``model``, ``card``, ``history``, ``stopped``, ``from_cache``, ``message``
    """
    init = load_model(config.init) if config.init else None
    if init is not None:  # the fine-tuned network is the starting model's: its width and its head
        config = config.replace(width=int(init.get_layer("down").filters), loss="bins" if is_bins(init) else "huber")
    if cache and (hit := cached(config, dataset.fingerprint)) is not None:
        model, card, path = hit
        return {
            "model": model,
            "card": card,
            "history": [],
            "stopped": False,
            "from_cache": True,
            "message": f"loaded from the cache ({path.name})",
        }
    train = dataset.part("train")
    if not train:
        raise ValueError(f"the dataset {dataset.name!r} has no training photos")
    test = dataset.part("test")
    size = REPORT_SIZE if config.arch == "report" else config.size
    monitor = lab_arrays(test, size) if test else None
    report_arrays = dataset.arrays("train", REPORT_SIZE) if config.arch == "report" else None
    result = train_cnn(
        config,
        scenario_photos(train),
        monitor=monitor,
        progress=progress,
        stop=stop,
        init_model=init,
        report_arrays=report_arrays,
    )
    baselines = fit_baselines(train)
    metrics = None
    if test:
        ev = evaluate_photos(
            result.model, test, baselines=baselines, names=dataset.part_names("test"), size=REPORT_SIZE
        )
        metrics = {k: ev[k] for k in ("n", "size", "hints", "aggregate", "best_baseline")}
        metrics["scored_on"] = f"the test split of {dataset.name!r}, every photo squashed to 64 x 64"
    data = {k: v for k, v in dataset.describe().items() if k not in ("train_files", "test_files")}
    card = make_card(
        result, name=name or dataset.name, data=data, metrics=metrics, baselines_ab=baseline_tables(baselines)
    )
    card["data"]["test_files"] = dataset.part_names("test")
    card["data"]["train_files"] = dataset.part_names("train")
    if cache and not result.stopped:
        cache_put(result.model, card, config, dataset.fingerprint)
    return {
        "model": result.model,
        "card": card,
        "history": result.history,
        "stopped": result.stopped,
        "from_cache": False,
        "message": result.message,
    }
