"""The CNN recipes over other split seeds: own scenario and the scenarios a model was not made for.

For one seed, trains per scenario (a) our model on its own training photos only, (b) focus on the
scenario with mix 0.5 of the other scenarios' training photos and EMA 0.99 (600 steps), and (c) one
member of the committed recipe: (b) as a 300-step fine-tuning (lr 1e-3) of a model trained on all the
scenarios' training photos (1200 steps, EMA 0.99, trained once per seed), each on that seed's training
photos, and scores it on that seed's test split of every scenario (64x64) next to the best baseline
fitted on the model's own training photos and on the scored scenario's. One JSON line per model is
appended to ``--log``. TensorFlow runs on one thread so two seeds can run side by side on 2 cores
(what docs/CNN.md's "Other seeds" table did).

    COLORLAB_DATA=../shared/data python scripts/cnn_seeds.py --seed 1
    COLORLAB_DATA=../shared/data python scripts/cnn_seeds.py --seed 1 --recipes scenes+ft
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIOS = ("beach", "sunset", "forest")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--log", default="cnn_seeds.jsonl")
    p.add_argument("--recipes", default="scene-only,mix0.5+ema,scenes+ft", help="comma-separated, of: %(default)s")
    args = p.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from core import cnn, datasets

    seed = args.seed
    allsc = datasets.load_scenario(datasets.ALL_SCENES, seed=seed)
    targets = {t: datasets.load_scenario(t, seed=seed) for t in SCENARIOS}
    scored = {t: cnn.evaluate(None, targets[t]) for t in SCENARIOS}  # baselines fitted on t's own photos

    @functools.cache
    def scenes_model() -> str:  # the scenes model of this seed, trained once
        return str(cnn.train_or_load(cnn.CNNConfig(seed=seed, steps=1200, ema=0.99), allsc).cache_path)

    def fine_tuned(s):  # the scenes model, then fine-tuned for s
        return cnn.CNNConfig(seed=seed, init=scenes_model(), focus=s, mix=0.5, ema=0.99, steps=300, lr=1e-3), allsc

    recipes = {
        "scene-only": lambda s: (cnn.CNNConfig(seed=seed), datasets.load_scenario(s, seed=seed)),
        "mix0.5+ema": lambda s: (cnn.CNNConfig(seed=seed, focus=s, mix=0.5, ema=0.99), allsc),
        "scenes+ft": fine_tuned,
    }
    for name in args.recipes.split(","):
        make = recipes[name]
        for s in SCENARIOS:
            cfg, ds = make(s)
            res = cnn.train_cnn(cfg, ds)
            own = cnn.baselines_from_card(res.card)
            out = {"seed": seed, "recipe": name, "model": s, "secs": round(res.seconds)}
            for t in SCENARIOS:
                a = cnn.evaluate(res.model, targets[t], baselines=own)
                best = [x["aggregate"][x["best_baseline"]]["accuracy"] for x in (a, scored[t])]
                acc = a["aggregate"]["model"]["accuracy"]
                out[t] = [round(100 * acc, 1), round(100 * best[0], 1), round(100 * best[1], 1)]
            with open(args.log, "a") as f:
                f.write(json.dumps(out) + "\n")
            print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
