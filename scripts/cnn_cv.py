"""Cross-validation of CNN recipes inside the scenarios' *training* photos (the test split is never used).

Each scenario's training part (7:3 split, seed 0) is cut into 3 folds (seed 123).
For fold k:

* ``--protocol scene``: train on that scenario's other two folds, score on fold k;
* ``--protocol all`` (default): fold k of *every* scenario is held out and the
  model is trained on the rest of all scenarios' training photos (``focus`` on
  the scenario, ``mix`` of the crops from the others, see ``CNNConfig``); it is
  scored on fold k of each scenario, so "unseen scenarios" are measured too.
  ``--scenario scenes`` trains one model on all of them (no focus).

Scores are the report's accuracy at 64x64 (since round 18 the model's a/b are the mean of its predictions
from the photo squashed to 64x64 and from the photo at a shorter side of 96 px, as ``cnn.evaluate`` scores
``ours``; ``--views 64`` scores from the 64x64 view only, as rounds 2-17 were logged), next to the best baseline fitted on
the model's own training photos (``own``) and on the scored scenario's
(``target``), and (since round 9) the colorfulness of the model's colours and of
the true photos. Each run appends one JSON line to ``--log``; ``--summary`` prints
pooled tables of a log.

Examples::

    python scripts/cnn_cv.py --scenario beach --fold 0 --config '{"mix": 0.5}'
    python scripts/cnn_cv.py --scenario beach --fold 0 --protocol scene --config '{"loss": "bins"}' --tag bins
    python scripts/cnn_cv.py --scenario scenes --fold 0 --save cvmodels/
    python scripts/cnn_cv.py --scenario beach --fold 0 --config '{"init": "cvmodels/scenes-all-fold0.keras", "mix": 0.25}'
    python scripts/cnn_cv.py --ensemble runs/seed0 runs/seed1     # runs saved with --save runs/seedN
    python scripts/cnn_cv.py --ensemble runs/seed0 runs/seed1 --folds 0 1 2   # every training photo held out once
    python scripts/cnn_cv.py --gated runs/specialist runs/generalist   # joined by a scene gate
    python scripts/cnn_cv.py --ensemble runs/seed0 runs/seed2 --soup runs/soup   # their weights averaged
    python scripts/cnn_cv.py --scenario scenes --fold 0 --teacher pre/s0 pre/w12s1 --save dpre/   # distilled
    python scripts/cnn_cv.py --scenario beach --fold 0 --tag cond \
        --config '{"init": "cvmodels/scenes-all-fold0.keras", "mix": 0.5, "gate": true, "ema": 0.99, "steps": 600, "lr": 0.001}'
        # one U-Net conditioned on its scene gate (round 8's committed recipe), the gate fitted on the fold's photos
    python scripts/cnn_cv.py --summary cv.jsonl
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIOS = ("beach", "sunset", "forest")
FOLDS = 3
FOLD_SEED = 123


def fold_names(scenario: str, fold: int) -> set[str]:
    """Names of the photos in fold ``fold`` of a scenario's training part (split seed 0)."""
    from core import datasets

    full = datasets.load_scenario(scenario, seed=0)
    train = np.array(full.train_idx)
    perm = train[np.random.default_rng(FOLD_SEED).permutation(len(train))]
    return {full.names[i] for i in np.array_split(perm, FOLDS)[fold]}


def _best(ev: dict) -> float:
    """Accuracy of the best baseline of a :func:`core.cnn.evaluate` result."""
    return ev["aggregate"][ev["best_baseline"]]["accuracy"]


def fold_dataset(scenario: str, fold: int, protocol: str = "all"):
    """The training photos of fold k's split: the rest of the training part as ``train``, fold k as ``test``.

    ``protocol="scene"``: the scenario's photos only; ``"all"``: every scenario's, fold k of each held out.
    """
    from core import datasets

    if protocol == "scene":
        full = datasets.load_scenario(scenario, seed=0)
        held = fold_names(scenario, fold)
    else:
        full = datasets.load_scenario(datasets.ALL_SCENES, seed=0)
        held = set().union(*(fold_names(s, fold) for s in SCENARIOS))
    train = tuple(i for i in full.train_idx if full.names[i] not in held)
    val = tuple(i for i in full.train_idx if full.names[i] in held)
    return dataclasses.replace(
        full,
        train_idx=train,
        test_idx=val,
        fingerprint=hashlib.sha256(f"{full.fingerprint}|cv-{protocol}-{fold}".encode()).hexdigest(),
    )


def teacher_views(views: list, teachers: list) -> float:
    """Distillation (round 12's rule 27, not adopted): replace, in place, the a/b of each training view (the
    photos at each scale, before the crops are cut) by the teachers' averaged :func:`core.cnn.predict_ab`.

    views : list of lists of (h, w, 3) float32 Lab arrays, as ``core.cnn._ours_views`` makes them; L is untouched.
    Returns the share of the views' a/b values the teachers got within 10 of the truth (mean over views).
    """
    from core import cnn

    hits = []
    for per in views:
        for v in per:
            ab = np.mean([cnn.predict_ab(m, v[None, ..., :1]) for m in teachers], axis=0)[0]  # (h, w, 2)
            hits.append(np.mean(np.abs(ab - v[..., 1:]) <= 10))
            v[..., 1:] = ab
    return float(np.mean(hits))


def run(
    scenario: str,
    fold: int,
    config: dict,
    protocol: str,
    tag: str,
    save: Path | None = None,
    teachers: list[Path] | None = None,
    detail: bool = True,
) -> dict:
    """Train one fold's model and score it (see the module's docstring); ``teachers``: folders of saved runs
    whose ``<scenario>-<protocol>-fold<k>`` models' averaged predictions replace the photos' a/b as the training
    targets (:func:`teacher_views`); the scores are against the true colours all the same."""
    from contextlib import nullcontext
    from unittest import mock

    from core import cnn, datasets
    from core.baselines import fit_ab_baselines

    ds = fold_dataset(scenario, fold, protocol)
    focus = scenario if protocol == "all" and scenario != datasets.ALL_SCENES else None
    cfg = cnn.CNNConfig(**{"focus": focus, **config})
    hits = None
    views_patch = nullcontext()
    if teachers:
        models = [cnn.load_model(d / f"{scenario}-{protocol}-fold{fold}.keras") for d in teachers]
        make_views = cnn._ours_views

        def distilled(dataset, config):
            nonlocal hits
            views = make_views(dataset, config)
            hits = teacher_views(views, models)
            return views

        views_patch = mock.patch.object(cnn, "_ours_views", distilled)
    with views_patch:
        res = cnn.train_cnn(cfg, ds)
    if save is not None:  # e.g. a fold's pre-trained ``scenes`` model, to fine-tune from with {"init": PATH}
        cnn.save_model(res.model, res.card, save, name=f"{scenario}-{protocol}-fold{fold}")
    own_data = ds.subset(focus) if focus else ds
    own_base = fit_ab_baselines(*own_data.gray_ab("train", cnn.REPORT_SIZE))
    out = {"tag": tag, "protocol": protocol, "scenario": scenario, "fold": fold, "config": config}
    if teachers:
        out["teachers"] = [str(d) for d in teachers]
        out["teacher_within_10"] = hits  # on the training views, against the true a/b
    out["seconds"] = round(res.seconds, 1)
    out["detail_side"] = cnn.detail_side() if detail else None  # how the model was scored (round 18)
    scored = [scenario] if protocol == "scene" else list(SCENARIOS)
    for s in scored:
        part = ds.subset(s) if protocol == "all" else ds
        ev = cnn.evaluate(res.model, part, baselines=own_base, detail=detail)
        tgt = cnn.evaluate(None, part)  # baselines fitted on the scored scenario's training folds
        acc = ev["aggregate"]["model"]["accuracy"]
        out[s] = {"n": len(part.test_idx), "model": acc, "own": _best(ev), "target": _best(tgt)}
        # Hasler-Suesstrunk colorfulness, per-photo means: the model's colours and the true photos'
        out[s]["colorfulness"] = ev["aggregate"]["model"]["colorfulness"]
        out[s]["truth_colorfulness"] = ev["aggregate"]["truth"]["colorfulness"]
    return out


def _gated(spec_path: Path, gen_path: Path, ds):
    """A scene-gated model (``CNNConfig.gate``) from two saved runs, its gate fitted on the fold's training photos."""
    from core import cnn

    cfg = cnn.CNNConfig.from_dict(cnn.load_card(spec_path)["config"])
    gen_cfg = cnn.load_card(gen_path)["config"]
    # the mix only has to pass the gate's check here: the members' weights come from the saved runs
    mix = gen_cfg.get("mix") or 0.5
    widths = (cfg.width, int(gen_cfg.get("width", cfg.width)))
    cfg = dataclasses.replace(cfg, members=2, gate=True, mix=mix, init=None, member_widths=widths)
    return cnn.gated_model(cnn.load_model(spec_path), cnn.load_model(gen_path), ds, cfg)[0]


def predict_shifted(model, lightness, shift: int):
    """Shift averaging (round 11's rule 22, not adopted): the mean of :func:`core.cnn.predict_ab` (flip-averaged)
    on the photo and on it shifted by ``shift`` px down, right, and both (symmetric padding, cropped back).

    lightness : (N, h, w, 1) float, L in [0, 100]; returns ab : (N, h, w, 2) float32. ``shift=0``: plain predict_ab.
    """
    from core import cnn

    if not shift:
        return cnn.predict_ab(model, lightness)
    _, h, w, _ = lightness.shape
    outs = []
    for dy, dx in ((0, 0), (0, shift), (shift, 0), (shift, shift)):
        x = np.pad(lightness, ((0, 0), (dy, 0), (dx, 0), (0, 0)), mode="symmetric")  # (N, h+dy, w+dx, 1)
        outs.append(cnn.predict_ab(model, x)[:, dy : dy + h, dx : dx + w])
    return np.mean(outs, axis=0).astype(np.float32)


def soup(dirs: list[Path], out: Path, folds=(0, 1)) -> Path:
    """A weight soup (round 12's rules 25-26, not adopted): for each scenario and fold, the networks saved by
    ``--save`` in ``dirs`` (the same architecture, fine-tuned from the same starting model) are averaged weight by
    weight (Wortsman et al. 2022) into one network of the same size, saved as ``out/<scenario>-all-fold<k>.keras``
    with the first folder's card. Returns ``out``, to be scored like a single run (``--ensemble out``).
    """
    import shutil

    from core import cnn

    out.mkdir(parents=True, exist_ok=True)
    for fold in folds:
        for s in SCENARIOS:
            name = f"{s}-all-fold{fold}"
            models = [cnn.load_model(d / f"{name}.keras") for d in dirs]
            weights = [m.get_weights() for m in models]  # one list of arrays per model
            if len({tuple(w.shape for w in ws) for ws in weights}) != 1:
                raise ValueError(f"{name}: the models in {[str(d) for d in dirs]} differ in architecture")
            models[0].set_weights([np.mean(arrays, axis=0) for arrays in zip(*weights)])
            models[0].save(out / f"{name}.keras")
            shutil.copy(dirs[0] / f"{name}.json", out / f"{name}.json")
    return out


def predict_scaled(model, lightness, sizes=()):
    """Multi-scale averaging (round 12's rule 30, not adopted): the mean of :func:`core.cnn.predict_ab`
    (flip-averaged) on the photo and on its L resized to each ``size x size`` (bilinear, as ``colorize`` resizes),
    that prediction resized back.

    lightness : (N, h, w, 1) float, L in [0, 100]; returns ab : (N, h, w, 2) float32. No sizes: plain predict_ab.
    """
    from core import cnn

    _, h, w, _ = lightness.shape
    outs = [cnn.predict_ab(model, lightness)]
    for size in sizes:
        big = np.stack([cnn._resize_float(x, (size, size)) for x in lightness])  # (N, s, s, 1)
        outs.append(np.stack([cnn._resize_float(y, (h, w)) for y in cnn.predict_ab(model, big)]))  # (N, h, w, 2)
    return np.mean(outs, axis=0).astype(np.float32)


def ensemble(dirs: list[Path], folds=(0, 1), gated: bool = False, shift: int = 0, sizes=(), views=(64, 96)) -> None:
    """Average the a/b predictions of models saved by ``--save`` (one folder per run) and score them.

    Protocol ``all``: for each scenario and fold, the models ``<dir>/<scenario>-all-fold<k>.keras``
    of every folder are averaged and scored on fold k of every scenario, next to the best
    baseline fitted on the model's own training photos / on the scored scenario's.
    ``gated``: two folders, a specialist's runs and a generalist's, joined by a scene gate
    (``CNNConfig.gate``) fitted on the fold's training photos, instead of averaged.
    ``shift``: predict with :func:`predict_shifted` (shift averaging) instead of plain ``predict_ab``;
    ``sizes``: with :func:`predict_scaled` (multi-scale averaging; not with ``shift``).
    ``views``: what each photo is predicted from, the predictions' a/b averaged at 64x64: ``64`` is the photo
    squashed to 64x64 (``shift`` and ``sizes`` apply to it), any other number the photo at that shorter side,
    aspect kept (round 18). The default ``(64, 96)`` is how ``cnn.evaluate`` scores ``ours``.
    """
    from core import cnn, datasets
    from core.baselines import fit_ab_baselines
    from core.metrics import report_accuracy

    if 64 not in views and (shift or sizes):
        raise ValueError("shift and sizes apply to the squashed view: views must include 64")

    def predict(model, lightness, fines):
        outs = [cnn.predict_detail_ab(model, f, lightness.shape[1:3]) for f in fines]  # (N, 64, 64, 2) each
        if 64 in views:
            outs.append(predict_scaled(model, lightness, sizes) if sizes else predict_shifted(model, lightness, shift))
        return np.mean(outs, axis=0)  # (N, 64, 64, 2)

    pooled = collections.defaultdict(lambda: np.zeros(4))  # (model, scored) -> sums of n*acc, n*own, n*target, n
    for fold in folds:
        ds = fold_dataset(datasets.ALL_SCENES, fold)
        parts = {s: ds.subset(s) for s in SCENARIOS}
        arrays = {t: parts[t].arrays("test", cnn.REPORT_SIZE) for t in SCENARIOS}  # (N, 64, 64, 1), (N, 64, 64, 2)
        fine = {t: [parts[t].lightness("test", v) for v in views if v != 64] for t in SCENARIOS}
        target_best = {t: _best(cnn.evaluate(None, parts[t])) for t in SCENARIOS}
        for s in SCENARIOS:
            paths = [d / f"{s}-all-fold{fold}.keras" for d in dirs]
            models = [_gated(*paths, ds)] if gated else [cnn.load_model(p) for p in paths]
            own = fit_ab_baselines(*parts[s].gray_ab("train", cnn.REPORT_SIZE))
            for t in SCENARIOS:
                ab = np.mean([predict(m, arrays[t][0], fine[t]) for m in models], axis=0)  # (N, 64, 64, 2)
                n = len(ab)
                own_best = _best(cnn.evaluate(None, parts[t], baselines=own))
                pooled[(s, t)] += n * np.array([report_accuracy(ab, arrays[t][1]), own_best, target_best[t], 1.0])
    diag, off = [], []
    for s in SCENARIOS:
        cells = []
        for t in SCENARIOS:
            acc, own, tgt, n = pooled[(s, t)]
            acc, own, tgt = acc / n, own / n, tgt / n
            cells.append(f"{t} {100 * acc:.1f} ({100 * (acc - own):+.1f} / {100 * (acc - tgt):+.1f})")
            (diag if s == t else off).append(100 * (acc - own))
        print(f"{s}-model, folds {list(folds)}: " + " | ".join(cells))
    print(
        f"own scenario, mean gap {np.mean(diag):+.1f}; other scenarios: min gap {min(off):+.1f}, mean {np.mean(off):+.1f}"
    )
    print(
        "cells: accuracy on the held-out folds (model - best baseline fitted on the model's / the scored scenario's photos);"
        " cf: colorfulness of the model's colours / of the true photos (runs logged since round 9)"
    )


def summary(log: Path) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    by = collections.defaultdict(list)
    for r in rows:
        by[(r["tag"], r["scenario"])].append(r)
    tags = list(dict.fromkeys(r["tag"] for r in rows))
    order = {s: i for i, s in enumerate(SCENARIOS + ("scenes",))}
    for tag, scenario in sorted(by, key=lambda k: (tags.index(k[0]), order.get(k[1], 9))):
        runs = by[(tag, scenario)]
        folds = sorted(r["fold"] for r in runs)
        cells = []
        for s in SCENARIOS:
            rs = [r for r in runs if s in r]
            if not rs:
                continue
            n = sum(r[s]["n"] for r in rs)
            m, own, tgt = (sum(r[s][k] * r[s]["n"] for r in rs) / n for k in ("model", "own", "target"))
            cell = f"{s} {100 * m:.1f} ({100 * (m - own):+.1f} / {100 * (m - tgt):+.1f})"
            if all("colorfulness" in r[s] for r in rs):  # logged since round 9
                cf, cf_true = (sum(r[s][k] * r[s]["n"] for r in rs) / n for k in ("colorfulness", "truth_colorfulness"))
                cell += f" cf {cf:.1f}/{cf_true:.1f}"
            cells.append(cell)
        secs = np.mean([r["seconds"] for r in runs])
        print(f"{tag:14s} {scenario}-model, folds {folds}, {secs:.0f} s: " + " | ".join(cells))
    print(
        "cells: accuracy on the held-out folds (model - best baseline fitted on the model's / the scored scenario's photos);"
        " cf: colorfulness of the model's colours / of the true photos (runs logged since round 9)"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", choices=SCENARIOS + ("scenes",))
    p.add_argument("--fold", type=int, choices=range(FOLDS))
    p.add_argument("--config", default="{}", help="CNNConfig fields as JSON, e.g. '{\"mix\": 0.5}'")
    p.add_argument("--protocol", choices=("all", "scene"), default="all")
    p.add_argument("--tag", help="label in the log (default: the config)")
    p.add_argument("--log", default="cnn_cv.jsonl", help="JSON lines appended here (default cnn_cv.jsonl)")
    p.add_argument(
        "--save", metavar="DIR", type=Path, help="also save the model as DIR/<scenario>-<protocol>-fold<k>.keras"
    )
    p.add_argument("--ensemble", metavar="DIR", nargs="+", type=Path, help="score the average of runs saved by --save")
    p.add_argument(
        "--gated",
        metavar="DIR",
        nargs=2,
        type=Path,
        help="score a specialist's and a generalist's saved runs joined by a scene gate (CNNConfig.gate)",
    )
    p.add_argument(
        "--shift",
        type=int,
        default=0,
        metavar="PX",
        help="with --ensemble/--gated: also average the photo shifted by PX px down, right and both (rule 22)",
    )
    p.add_argument(
        "--scales",
        type=int,
        nargs="+",
        default=(),
        metavar="SIZE",
        help="with --ensemble/--gated: also average predictions at SIZE x SIZE, resized back (rule 30)",
    )
    p.add_argument(
        "--teacher",
        metavar="DIR",
        nargs="+",
        type=Path,
        help="train on the averaged predictions of these saved runs (same scenario and fold) instead of the "
        "photos' a/b: distillation (rule 27)",
    )
    p.add_argument(
        "--soup",
        metavar="OUT",
        type=Path,
        help="with --ensemble: average the runs' weights (not their outputs) into OUT, then score OUT (rules 25-26)",
    )
    p.add_argument(
        "--folds",
        type=int,
        nargs="+",
        choices=range(FOLDS),
        default=(0, 1),
        metavar="K",
        help="with --ensemble/--gated/--soup: the held-out folds to score (default 0 1; round 16 used 0 1 2, "
        "every training photo held out once)",
    )
    p.add_argument(
        "--views",
        type=int,
        nargs="+",
        default=(64, 96),
        metavar="SIDE",
        help="what each photo is predicted from, the a/b averaged (round 18): 64 the photo squashed to 64x64, "
        "another number the photo at that shorter side. Default 64 96, as cnn.evaluate scores ours; '--views 64' "
        "scores as rounds 2-17 were logged. A training run takes 64 or 64 96 only",
    )
    p.add_argument("--summary", metavar="LOG", help="print the pooled table of a log and exit")
    args = p.parse_args(argv)
    if args.summary:
        summary(Path(args.summary))
        return 0
    if args.shift and args.scales:
        p.error("--shift and --scales do not combine")
    if 64 not in args.views and (args.shift or args.scales):
        p.error("--shift and --scales apply to the squashed view: --views must include 64")
    if args.soup and not args.ensemble:
        p.error("--soup needs --ensemble DIR DIR ...")
    folds = tuple(args.folds)
    if args.soup:
        ensemble(
            [soup(args.ensemble, args.soup, folds)],
            folds,
            shift=args.shift,
            sizes=tuple(args.scales),
            views=tuple(args.views),
        )
        return 0
    if args.ensemble or args.gated:
        dirs = args.ensemble or args.gated
        ensemble(
            dirs, folds, gated=bool(args.gated), shift=args.shift, sizes=tuple(args.scales), views=tuple(args.views)
        )
        return 0
    if args.scenario is None or args.fold is None:
        p.error("--scenario and --fold are required (or --summary LOG)")
    if tuple(args.views) not in ((64,), (64, 96)):
        p.error("a training run is scored as cnn.evaluate scores: --views 64 96 (the default) or --views 64")
    config = json.loads(args.config)
    out = run(
        args.scenario,
        args.fold,
        config,
        args.protocol,
        args.tag or json.dumps(config, sort_keys=True),
        args.save,
        args.teacher,
        detail=tuple(args.views) == (64, 96),
    )
    with open(args.log, "a") as f:
        f.write(json.dumps(out) + "\n")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
