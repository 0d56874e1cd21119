"""Where a CNN's remaining error lies: a per-photo colour cast, or the detail.

For each photo of a scenario's split (64x64, the report's view; ``ours`` predicts as ``cnn.evaluate`` scores
it, from that view and the photo at a shorter side of 96 px, unless ``--squashed``) the model's accuracy (a/b
within 10 of the truth) is set beside two oracles that know the photo's true colours:

* **shift**: the model's a/b plus the per-photo median of (truth - prediction), per channel: the photo's
  colour cast set right, every detail left as the model made it;
* **scale**: the model's a/b times the best per-photo factor in [0, 2]: the saturation set right.

What they add is the most that a per-photo correction of the model could gain. It also prints how far the
model's per-photo mean a/b is from the truth's, next to the error of the training photos' mean (the best
single guess without looking at the photo).

This is a diagnostic of a finished model; it chooses nothing. Examples::

    python scripts/cnn_cast.py --model beach --scenario beach
    python scripts/cnn_cast.py --model forest --scenario forest --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCALES = np.round(np.arange(0.0, 2.0001, 0.05), 2)  # the scale oracle's factors


def cast_table(model, dataset, split: str = "test", size: int = 64, detail: bool = True) -> dict:
    """Per-photo accuracy of ``model`` and of its shift and scale oracles on one part of ``dataset``.

    Returns
    -------
    dict
        ``per_image``: ``{"name", "model", "shift", "scale", "mean_error", "train_mean_error"}`` per photo
        (accuracies in [0, 1]; mean errors: |mean a/b of the prediction (or of the training photos) - the
        truth's|, averaged over a and b); ``mean``: the same keys averaged over the photos; ``n``.
    """
    from core import cnn
    from core.metrics import cast_oracle, report_accuracy

    L, ab = dataset.arrays(split, size)  # (N, size, size, 1) L in [0, 100]; (N, size, size, 2) a/b
    fine = dataset.lightness(split, cnn.detail_side(size)) if detail else None
    pred = cnn.predict_scored_ab(model, L, fine)  # (N, size, size, 2)
    _, ab_train = dataset.arrays("train", size)
    train_mean = ab_train.mean(axis=(0, 1, 2))  # (2,)
    names = [dataset.names[i] for i in (dataset.test_idx if split == "test" else dataset.train_idx)]
    rows = []
    for name, p, t in zip(names, pred, ab, strict=True):
        rows.append(
            {
                "name": name,
                "model": report_accuracy(p, t),
                "shift": cast_oracle(p, t)[0],  # the photo's cast set right
                "scale": max(report_accuracy(p * k, t) for k in SCALES),
                "mean_error": float(np.abs(p.mean(axis=(0, 1)) - t.mean(axis=(0, 1))).mean()),
                "train_mean_error": float(np.abs(train_mean - t.mean(axis=(0, 1))).mean()),
            }
        )
    keys = ("model", "shift", "scale", "mean_error", "train_mean_error")
    return {"n": len(rows), "per_image": rows, "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, metavar="NAME|PATH", help="a committed model or a .keras file")
    p.add_argument("--scenario", required=True, help="the scenario whose split is scored")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--seed", type=int, default=0, help="seed of the 7:3 split (default 0)")
    p.add_argument("--data", metavar="DIR", help="data root (default $COLORLAB_DATA)")
    p.add_argument("--squashed", action="store_true", help="predict from the 64x64 view only, as before round 18")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from core import cnn, datasets

    ds = datasets.load_scenario(args.scenario, args.data, seed=args.seed)
    out = cast_table(cnn.load_model(args.model), ds, split=args.split, detail=not args.squashed)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.model} on {args.scenario}'s {args.split} split ({out['n']} photos, 64x64, seed {args.seed})")
    print(f"{'photo':<28} {'model':>6} {'+shift':>7} {'+scale':>7} {'mean err':>9} {'train-mean err':>15}")
    for r in out["per_image"] + [{"name": "mean", **out["mean"]}]:
        print(
            f"{r['name']:<28} {100 * r['model']:6.1f} {100 * r['shift']:7.1f} {100 * r['scale']:7.1f} "
            f"{r['mean_error']:9.1f} {r['train_mean_error']:15.1f}"
        )
    print("accuracy in %; +shift / +scale: the model with the photo's true cast / saturation set right (oracles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
