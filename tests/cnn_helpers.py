"""Shared by the CNN tests: a tiny dataset, and one run of ``train_on_dataset`` through a cache, done once a process.

Training costs seconds of graph tracing however few its steps, so ``test_cnn_store`` (the cache) and
``test_cnn_cli`` (a saved model with a card) share this one run.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from core import datasets
from core.cnn import recipe, store
from core.cnn.runs import train_on_dataset
from core.images import load_sample, resize

#: The shared run's config: a tiny classifier (rebalanced bins with hints, as the general recipe), two steps.
TINY_RUN = recipe("general", width=8, size=32, batch_size=2, steps=2)


@functools.cache
def tiny_dataset() -> datasets.PhotoDataset:
    """Six sample photos at 48 x 64 (4 train, 2 test)."""
    photos = [resize(load_sample(s), (48, 64)) for s in ("coffee", "chelsea", "astronaut", "rocket", "china", "flower")]
    return datasets.from_images(photos, [f"p{i}.png" for i in range(6)], name="tiny")


@functools.cache
def tiny_run() -> dict:
    """``train_on_dataset(TINY_RUN, tiny_dataset())`` through a fresh cache holding a corrupt file under its key.

    Returns
    -------
    dict: what ``train_on_dataset`` returned, and ``warnings`` (the UserWarning messages it gave), ``planted``
    (the cache path of the corrupt file, which the run replaced) and ``cache`` (the cache folder).
    """
    ds = tiny_dataset()
    folder = Path(tempfile.mkdtemp(prefix="colorlab-test-cache-"))
    atexit.register(shutil.rmtree, folder, True)
    planted = folder / f"unet-{store.cache_key(TINY_RUN, ds.fingerprint)}.keras"
    planted.write_bytes(b"PK\x03\x04 truncated")
    old = os.environ.get(store.CACHE_ENV)
    os.environ[store.CACHE_ENV] = str(folder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = train_on_dataset(TINY_RUN, ds)
    finally:
        if old is None:
            del os.environ[store.CACHE_ENV]
        else:
            os.environ[store.CACHE_ENV] = old
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return {**run, "warnings": messages, "planted": planted, "cache": folder}
