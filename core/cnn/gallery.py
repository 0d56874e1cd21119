"""Where the model works and where it fails: per-photo scores on photos it never saw.

:func:`gallery` colorizes a reproducible random draw of validation photos and
ranks them by their colour hits, so a class can see the model's best and worst
cases side by side with their scores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..color import lab2uint8, merge_l_ab, rgb2lab
from ..metrics import hit_counts, report_accuracy, saturation_ratio
from .evaluate import folder_photos, load_photos, model_ab

__all__ = ["MIN_COLOURFUL", "gallery", "best_and_worst"]

#: A photo enters the ranking only if at least this share of its pixels is colourful (chroma >= 20).
MIN_COLOURFUL = 0.05


def gallery(
    model,
    folder,
    *,
    count: int = 32,
    seed: int = 0,
    vividness: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Colorize ``count`` photos drawn at random from ``folder`` and score each one.

    Parameters
    ----------
    model : a colorizer from :func:`core.cnn.get_model` or :func:`core.cnn.store.load_model`
    folder : path of photos (subfolders included), e.g. the corpus's ``val/``
    count, seed : int
        How many photos, and the draw's seed (same seed, same photos).
    vividness : float in [0, 1], optional
    progress : callable(done, total), optional

    Returns
    -------
    list of dict, best first by colour hits, each with ``name``, ``group``,
    ``photo`` and ``colorized`` ((h, w, 3) uint8, shorter side at most 128 px),
    and ``hit_rate``, ``accuracy``, ``saturation`` (floats). Photos with too few
    colourful pixels to rank (see :data:`MIN_COLOURFUL`) are left out.
    """
    files = folder_photos([Path(folder)])
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(files), size=min(count, len(files)), replace=False))
    photos, names, groups = load_photos([files[i] for i in pick], folder, on_error=lambda *_: None)
    out = []
    for i, (rgb, name, group) in enumerate(zip(photos, names, groups, strict=True)):
        lab = rgb2lab(rgb)
        ab_true = lab[..., 1:]
        ab = model_ab(model, lab[..., 0], vividness=vividness)  # (h, w, 2)
        hits, colourful = hit_counts(ab, ab_true)
        if colourful >= MIN_COLOURFUL * ab.shape[0] * ab.shape[1]:
            out.append(
                {
                    "name": name,
                    "group": group,
                    "photo": rgb,
                    "colorized": lab2uint8(merge_l_ab(lab[..., 0], ab)),
                    "hit_rate": hits / colourful,
                    "accuracy": report_accuracy(ab, ab_true),
                    "saturation": saturation_ratio(ab, ab_true),
                }
            )
        if progress is not None:
            progress(i + 1, len(photos))
    return sorted(out, key=lambda e: -e["hit_rate"])


def best_and_worst(entries: list[dict], n: int = 4) -> tuple[list[dict], list[dict]]:
    """The ``n`` best and ``n`` worst entries of a :func:`gallery` (no photo in both)."""
    n = min(n, len(entries) // 2)
    return entries[:n], entries[len(entries) - n :][::-1]
