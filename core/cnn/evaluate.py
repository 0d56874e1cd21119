"""Scores of a model beside the baselines, one way for every predictor.

Every predictor (the model, gray, mean, lookup) colours the same lightness of the same photos at the same size,
and is scored on the same pixels: accuracy (the report's a/b within 10), AuC of acc(t), hit rate on colourful
pixels, saturation ratio, PSNR, SSIM and colourfulness. See docs/CNN.md, "Scoring".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..baselines import BASELINES, Baseline, fit_ab_baselines
from ..color import lab2uint8, merge_l_ab, rgb2gray, rgb2lab
from ..images import resize
from ..metrics import THRESHOLDS, auc, chroma_sums, colorfulness, hit_counts, psnr, ssim
from ..report import REPORT_SIZE, TOLERANCE
from .data import hint_map
from .models import is_report
from .predict import predict_ab, resize_float

#: Photos are scored at most this many pixels on the shorter side (the working size colorize() predicts at).
EVAL_SIDE = 128

__all__ = [
    "EVAL_SIDE",
    "load_photos",
    "METRICS",
    "Tally",
    "model_ab",
    "random_pixel_hints",
    "evaluate_photos",
    "fit_baselines",
    "baseline_tables",
]

#: The aggregate scores, in the order tables show them.
METRICS = ("accuracy", "auc", "hit_rate", "saturation", "psnr", "ssim", "colorfulness")


class Tally:
    """Pooled scores over many photos of any sizes: each pixel weighs the same in the pixel scores."""

    def __init__(self):
        self.within = self.values = self.hits = self.colourful = 0
        self.pred_chroma = self.true_chroma = 0.0
        self.curve = np.zeros(len(THRESHOLDS))
        self.pixels = 0
        self.per_photo = {"psnr": [], "ssim": [], "colorfulness": []}

    def add(self, ab_pred, ab_true, L) -> dict:
        """Add one photo: (h, w, 2) a/b predicted and true, (h, w) L. Returns its stats (see :meth:`add_stats`)."""
        ab_pred = np.asarray(ab_pred, np.float64)
        ab_true = np.asarray(ab_true, np.float64)
        err = np.sort(np.sqrt(((ab_pred - ab_true) ** 2).sum(-1)).ravel())
        hits, colourful = hit_counts(ab_pred, ab_true)
        ps, ts, n = chroma_sums(ab_pred, ab_true)
        rgb_pred = lab2uint8(merge_l_ab(L, ab_pred))
        rgb_true = lab2uint8(merge_l_ab(L, ab_true))
        stats = {
            "within": int(np.count_nonzero(np.abs(ab_pred - ab_true) <= TOLERANCE)),
            "values": ab_true.size,
            "curve": np.searchsorted(err, THRESHOLDS, side="right"),
            "pixels": n,
            "hits": hits,
            "colourful": colourful,
            "pred_chroma": ps,
            "true_chroma": ts,
            "psnr": psnr(rgb_pred, rgb_true),
            "ssim": ssim(rgb_pred, rgb_true),
            "colorfulness": colorfulness(rgb_pred),
        }
        return self.add_stats(stats)

    def add_stats(self, stats: dict) -> dict:
        """Add a photo's stats (from :meth:`add` of another tally); returns them."""
        for k in ("within", "values", "pixels", "hits", "colourful", "pred_chroma", "true_chroma"):
            setattr(self, k, getattr(self, k) + stats[k])
        self.curve = self.curve + stats["curve"]
        for k in self.per_photo:
            self.per_photo[k].append(min(stats[k], 100.0) if k == "psnr" else stats[k])  # an exact copy's PSNR is inf
        return stats

    @staticmethod
    def own(stats: dict) -> dict:
        """One photo's scores from its stats."""
        t = Tally()
        t.add_stats(stats)
        return t.result()

    def result(self) -> dict:
        """The pooled scores: fractions in [0, 1] (accuracy, auc, hit_rate), a ratio, and per-photo means."""
        if not self.pixels:
            return {m: None for m in METRICS}
        return {
            "accuracy": self.within / self.values,
            "auc": auc(self.curve / self.pixels),
            "hit_rate": self.hits / self.colourful if self.colourful else None,
            "saturation": self.pred_chroma / self.true_chroma if self.true_chroma > 0 else None,
            **{k: float(np.mean(v)) for k, v in self.per_photo.items()},
        }


def model_ab(model, L, hints=None, vividness: float | None = None) -> np.ndarray:
    """A model's a/b for one photo's L at its own size (the report's network works at 64 x 64 and is resized).

    Parameters
    ----------
    model : keras.Model
    L : (h, w) float, L in [0, 100]
    hints : (h, w, 3) hint map, optional
    vividness : float, optional

    Returns
    -------
    (h, w, 2) float32
    """
    if is_report(model):
        h, w = L.shape
        small = resize_float(np.asarray(L, np.float32), (REPORT_SIZE, REPORT_SIZE))
        return resize_float(predict_ab(model, small), (h, w))
    return predict_ab(model, L, hints, vividness=vividness)


def random_pixel_hints(ab: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A hint map of ``count`` single pixels at random places, each with its true colour: (h, w, 3)."""
    h, w = ab.shape[:2]
    flat = rng.choice(h * w, size=min(count, h * w), replace=False)
    points = [(i // w, i // w + 1, i % w, i % w + 1, *ab[i // w, i % w]) for i in flat]
    return hint_map((h, w), points)


def fit_baselines(photos, size: int = REPORT_SIZE) -> dict[str, Baseline]:
    """The baselines fitted on some training photos, each squashed to ``size`` x ``size``."""
    small = [resize(p, (size, size)) for p in photos]
    gray = np.stack([rgb2gray(p) for p in small])
    ab = rgb2lab(np.stack(small))[..., 1:]
    return fit_ab_baselines(gray, ab)


def baseline_tables(baselines: dict[str, Baseline]) -> dict:
    """The fitted tables as JSON-ready lists (a model card's ``baselines_ab``)."""
    return {
        "mean": [round(float(v), 4) for v in baselines["mean"].table[0]],
        "lookup": [[round(float(a), 4), round(float(b), 4)] for a, b in baselines["lookup"].table],
    }


def baselines_from_tables(tables: dict) -> dict[str, Baseline]:
    """Inverse of :func:`baseline_tables`."""
    return {
        "gray": Baseline("gray", "ab", np.zeros((256, 2))),
        "mean": Baseline("mean", "ab", np.tile(np.asarray(tables["mean"], np.float64), (256, 1))),
        "lookup": Baseline("lookup", "ab", np.asarray(tables["lookup"], np.float64)),
    }


def folder_photos(paths, *, recursive: bool = True):
    """The photo files named, with folders expanded (sorted; subfolders too when ``recursive``).

    Returns
    -------
    list of (path, group): ``group`` is the first subfolder below a folder given, else ``""``.
    """
    from ..datasets import IMAGE_SUFFIXES

    out = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(
                f for f in (p.rglob("*") if recursive else p.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise FileNotFoundError(f"no .jpg or .png photos in the folder {p}")
            out += [(f, f.relative_to(p).parts[0] if len(f.relative_to(p).parts) > 1 else "") for f in files]
        elif p.exists():
            out.append((p, ""))
        else:
            raise FileNotFoundError(f"no such photo or folder: {p}")
    return out


def load_photos(files, root, *, on_error=None):
    """Read photos for scoring, each scaled so that its shorter side is at most :data:`EVAL_SIDE`.

    Parameters
    ----------
    files : list of (path, group)
    root : path
        Names are given relative to it.
    on_error : callable(path, ImageError), optional
        Called for a file that cannot be read (it is skipped); default: raise.

    Returns
    -------
    photos : list of (h, w, 3) uint8
    names : list of str
    groups : list of str
    """
    from pathlib import Path

    from ..images import ImageError, fit_within, load_image

    photos, names, groups = [], [], []
    for f, g in files:
        try:
            im = load_image(f)
        except ImageError as exc:
            if on_error is None:
                raise
            on_error(f, exc)
            continue
        h, w = im.shape[:2]
        if min(h, w) > EVAL_SIDE:
            im = fit_within(im, round(max(h, w) * EVAL_SIDE / min(h, w)))
        photos.append(im)
        names.append(str(Path(f).relative_to(root)) if Path(f).is_relative_to(root) else str(f))
        groups.append(g or Path(root).name)
    return photos, names, groups


def evaluate_photos(
    model,
    photos,
    *,
    baselines: dict[str, Baseline],
    names=None,
    groups=None,
    size: int | None = None,
    hints: int = 0,
    vividness: float | None = None,
    seed: int = 0,
    progress=None,
) -> dict:
    """Score a model and the baselines on photos.

    Parameters
    ----------
    model : keras.Model, or None for the baselines only
    photos : sequence of (H, W, 3) uint8
    baselines : dict name -> Baseline
        Fitted on the model's training photos (never on these).
    names : sequence of str, optional
    groups : sequence of str, optional
        A group per photo (a source folder); the result then has per-group aggregates too.
    size : int, optional
        Score every photo squashed to ``size`` x ``size`` (the report's 64); default: at its own size.
    hints : int
        Give the model this many hints per photo, single pixels at random places with their true colours.
    vividness : float, optional
    seed : int
        Seeds the hints' places.
    progress : callable(done, total), optional

    Returns
    -------
    dict with ``aggregate`` ({predictor: {metric: value}} for "model" and each baseline, and "truth":
    {"colorfulness"}), ``per_image`` (a list of {"name", predictor: {...}}), ``groups`` ({group: aggregate})
    when groups are given, ``best_baseline`` (by accuracy), ``n``, ``size`` and ``hints``.
    """
    names = list(names) if names is not None else [f"photo {i + 1}" for i in range(len(photos))]
    preds = (["model"] if model is not None else []) + list(BASELINES)
    tallies = {p: Tally() for p in preds}
    by_group: dict = {}
    truth_cf, per_image = [], []
    for i, photo in enumerate(photos):
        im = resize(photo, (size, size)) if size else photo
        lab = rgb2lab(im)
        L, ab_true = lab[..., 0], lab[..., 1:]
        gray = rgb2gray(im)
        row = {"name": names[i]}
        g = groups[i] if groups is not None else None
        for p in preds:
            if p == "model":
                maps = random_pixel_hints(ab_true, hints, np.random.default_rng((seed, i))) if hints else None
                ab_pred = model_ab(model, L, maps, vividness)
            else:
                ab_pred = baselines[p].predict(gray)
            stats = tallies[p].add(ab_pred, ab_true, L)
            row[p] = Tally.own(stats)
            if g is not None:
                by_group.setdefault(g, {q: Tally() for q in preds})[p].add_stats(stats)
        truth_cf.append(colorfulness(im))
        per_image.append(row)
        if progress is not None:
            progress(i + 1, len(photos))
    agg = {p: t.result() for p, t in tallies.items()}
    agg["truth"] = {"colorfulness": float(np.mean(truth_cf)) if truth_cf else None}
    out = {
        "n": len(per_image),
        "size": size,
        "hints": hints,
        "aggregate": agg,
        "per_image": per_image,
        "best_baseline": max(BASELINES, key=lambda b: agg[b]["accuracy"] or 0.0),
    }
    if groups is not None:
        out["groups"] = {g: {p: t.result() for p, t in ts.items()} for g, ts in sorted(by_group.items())}
    return out
