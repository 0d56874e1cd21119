"""How the ANN ``default`` preset was chosen: candidates scored on held-out photos.

The five built-in samples that are not in the report's experiments (chelsea,
astronaut, rocket, china, flower) are split left/right, at full size and scaled
to 256 px; each candidate is the ``default`` preset with one change. Prints the
mean test difference and L1 next to the lookup baseline's.

    python scripts/tune_ann.py            # full size and 256 px, all candidates (~15 CPU-minutes)
    python scripts/tune_ann.py --small    # 256 px only
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.ann import preset, run_ann  # noqa: E402
from core.images import fit_within, load_image  # noqa: E402
from core.splits import make_split  # noqa: E402

NAMES = ["chelsea", "astronaut", "rocket", "china", "flower"]
CANDIDATES = [
    {},
    {"batch_size": 256},
    {"batch_size": 64},
    {"window": 3},
    {"window": 7},
    {"hidden": (64,)},
    {"hidden": (32, 32)},
    {"activation": "sigmoid"},
    {"lr": 0.01},
    {"epochs": 40},
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--small", action="store_true", help="only the 256 px versions")
    args = p.parse_args()
    sizes = [256] if args.small else [None, 256]
    for size in sizes:
        splits = [make_split(fit_within(load_image(n), size)) for n in NAMES]
        print(f"\n== photos at {'full size' if size is None else f'{size} px'} ==")
        for change in CANDIDATES:
            cfg = preset("default", preview_every=0, **change)
            rows = []
            for split in splits:
                r = run_ann(cfg, split)
                lk = r.baselines["lookup"]
                rows.append((r.seed_difference, r.l1_difference, lk["seed_difference"], lk["l1_difference"]))
            a = np.mean(rows, axis=0)
            print(
                f"{json.dumps(change) or '{}':32s} difference {a[0]:.4f}  L1 {a[1]:.4f}   lookup {a[2]:.4f}  {a[3]:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
