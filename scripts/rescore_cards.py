"""Measure the committed models' card metrics again with today's ``cnn.evaluate``; the models are unchanged.

Round 18 (docs/CNN.md, rules 56-57) changed how ``ours`` is scored: from the photo squashed to 64x64 *and* the
photo at a shorter side of 96 px, their a/b averaged. The cards written before kept the old figures; this
rewrites each card's ``metrics`` (atomically) and prints the model's accuracy before and after.

    COLORLAB_DATA=../shared/data python scripts/rescore_cards.py            # beach sunset forest scenes
    COLORLAB_DATA=../shared/data python scripts/rescore_cards.py --dry-run  # print only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    from core import cnn, datasets

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", default=list(cnn.COMMITTED_MODELS), help="committed models (default: all)")
    p.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = p.parse_args(argv)
    for name in args.names:
        card = cnn.load_card(name)
        if card is None:
            print(f"{name}: no committed card", file=sys.stderr)
            return 1
        focus = card["config"].get("focus")
        ds = datasets.load_scenario(datasets.ALL_SCENES if focus else name, seed=card["config"]["seed"])
        new = cnn.rescore(cnn.load_model(name), card, ds)
        old_m, new_m = card["metrics"], new["metrics"]
        best = new_m["best_baseline"]
        print(
            f"{name}: model {100 * old_m['model']['accuracy']:.1f}% -> {100 * new_m['model']['accuracy']:.1f}% "
            f"(AuC {old_m['model']['auc']:.3f} -> {new_m['model']['auc']:.3f}); best baseline {best} "
            f"{100 * new_m[best]['accuracy']:.1f}%, lead {100 * (new_m['model']['accuracy'] - new_m[best]['accuracy']):+.1f}"
        )
        if not args.dry_run:
            cnn.write_card(cnn.model_path(name).with_suffix(".json"), new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
