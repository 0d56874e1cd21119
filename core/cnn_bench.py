"""``python -m core reproduce cnn`` (the report's experiment) and ``python -m core bench cnn`` (speed, memory)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .cnn_cli import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    Bar,
    aggregate_rows,
    jsonable,
    metric_table,
    quiet_keras,
    user_errors,
)

__all__ = ["reproduce_main", "bench_main", "peak_mb"]


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def _run(fn, args) -> int:
    cnn = quiet_keras()
    try:
        return fn(args)
    except cnn.TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def reproduce_main(argv: list[str] | None = None) -> int:
    """``python -m core reproduce cnn``: the report's network beside ours and the baselines, per scenario."""
    p = argparse.ArgumentParser(prog="python -m core reproduce cnn", description="The report's CNN experiment.")
    p.add_argument("--steps", type=int, default=8000, help="iterations of the report's network (the report's 8000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of training")
    p.add_argument("--scenarios", default="beach,sunset,forest", help="comma-separated")
    p.add_argument("--data", metavar="DIR")
    p.add_argument("--retrain-ours", action="store_true", help="fine-tune ours on this seed's split (else models/)")
    p.add_argument("--skip-report-net", action="store_true", help="leave the report's network out (it is slow)")
    p.add_argument("--json", action="store_true")
    return _run(_reproduce, p.parse_args(argv))


def _progress(label):
    bar = Bar(label)
    return lambda ev: bar(ev["step"], ev["steps"], f"loss {ev['loss']:.3g}")


def _reproduce(args) -> int:
    from . import cnn, datasets
    from .cnn.evaluate import evaluate_photos, fit_baselines
    from .cnn.runs import train_on_dataset
    from .report import REPORT_FIGURES, REPORT_SIZE

    results = {}
    for sc in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        ds = datasets.load_scenario(sc, args.data, seed=args.seed)
        test, names = ds.part("test"), ds.part_names("test")
        baselines = fit_baselines(ds.part("train"))

        def score(m, test=test, names=names, baselines=baselines):
            return evaluate_photos(m, test, baselines=baselines, names=names, size=REPORT_SIZE)

        ev_base = score(None)
        rep = None
        if not args.skip_report_net:
            print(f"[{sc}] the report's network, {args.steps} steps (loaded if cached) ...", file=sys.stderr)
            rep = train_on_dataset(cnn.recipe("report", steps=args.steps, seed=args.seed), ds, progress=_progress(sc))
        if args.retrain_ours or sc not in cnn.store.committed_models():
            ours = train_on_dataset(cnn.recipe("scenario", seed=args.seed), ds, progress=_progress(sc))["model"]
            label = f"ours (general fine-tuned on seed {args.seed}'s split)"
        else:
            ours, label = cnn.store.load_model(sc), f"ours (models/{sc}.keras)"
        agg_ours = score(ours)["aggregate"]["model"]
        agg_rep = score(rep["model"])["aggregate"]["model"] if rep else None
        agg = ev_base["aggregate"]
        best = ev_base["best_baseline"]
        results[sc] = {
            "photos": {"train": len(ds.train_idx), "test": len(ds.test_idx)},
            "report_paper": REPORT_FIGURES.get(sc),
            "report_reproduced": agg_rep,
            "report_train_seconds": rep["card"]["training"]["seconds"] if rep else None,
            "ours": agg_ours,
            "baselines": {b: agg[b] for b in ("gray", "mean", "lookup")},
            "best_baseline": best,
            "ours_minus_best_baseline": agg_ours["accuracy"] - agg[best]["accuracy"],
        }
        if not args.json:
            rows = [("report (paper)", {"accuracy": REPORT_FIGURES.get(sc)})]
            rows += [(f"report net ({args.steps} steps)", agg_rep)] if agg_rep else []
            rows += [(label, agg_ours)] + aggregate_rows(agg, None)
            print(f"\n## {sc}: test split, {len(test)} photos (train {len(ds.train_idx)}), 64x64, seed {args.seed}")
            print(metric_table(rows))
            print(f"ours - best baseline ({best}): {100 * results[sc]['ours_minus_best_baseline']:+.1f} points")
    if args.json:
        print(json.dumps(jsonable({"scenarios": results}), indent=1))
    return 0


def bench_main(argv: list[str] | None = None) -> int:
    """``python -m core bench cnn``: training steps, colorizing with and without hints, training times, memory."""
    p = argparse.ArgumentParser(prog="python -m core bench cnn", description="CNN speed and memory on this machine.")
    p.add_argument("--steps", type=int, default=10, help="timed training steps per network (after 2 warm-up steps)")
    p.add_argument("--model", default="general", help="the model colorize is timed with")
    p.add_argument("--json", action="store_true")
    return _run(_bench, p.parse_args(argv))


def _bench(args) -> int:
    import numpy as np

    from . import cnn
    from .cnn.data import CropBatches
    from .cnn.train import _loss, _optimizer, device_name
    from .images import load_sample, resize

    rng = np.random.default_rng(0)
    out = {"device": device_name()}

    def step_ms(config, x, y):
        model = cnn.get_model(config)
        model.compile(optimizer=_optimizer(config), loss=_loss(config))
        for _ in range(2):
            model.train_on_batch(x, y)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        return 1000 * (time.perf_counter() - t0) / args.steps

    rep = cnn.recipe("report")
    out["report_ms_per_step"] = step_ms(
        rep, rng.random((3, 64, 64, 1), dtype=np.float32), rng.random((3, 8192), dtype=np.float32) * 255
    )
    gen = cnn.recipe("general")
    photos = rng.integers(0, 256, (32, 128, 128, 3), dtype=np.uint8)
    x, y = CropBatches(photos, gen.batch_size, 1, gen.size, 0, True).batch(0)
    out["unet_ms_per_step"] = step_ms(gen, x, y)
    out["unet_batch"] = f"{gen.batch_size} crops of {gen.size}x{gen.size}"
    t0 = time.perf_counter()
    batches = CropBatches(photos, gen.batch_size, 20, gen.size, 0, True)
    for i in range(20):
        batches.batch(i)
    out["batch_prep_ms"] = 1000 * (time.perf_counter() - t0) / 20

    try:
        model = cnn.store.load_model(args.model)
        out["colorize_model"] = args.model
    except (FileNotFoundError, ValueError):
        model = cnn.get_model(gen)
        out["colorize_model"] = "an untrained U-Net (no committed model found)"
    photo = load_sample("astronaut")

    def colorize_s(h, w, hints, repeats):
        img = resize(photo, (h, w))
        cnn.colorize(model, img[:64, :64])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            cnn.colorize(model, img, hints=hints)
            best = min(best, time.perf_counter() - t0)
        return best

    ten = [(int(x), int(y), tuple(int(v) for v in photo[y % 512, x % 512])) for x, y in rng.integers(0, 1024, (10, 2))]
    out["colorize_1024x1024_s"] = colorize_s(1024, 1024, None, 3)
    out["colorize_1024x1024_10_hints_s"] = colorize_s(1024, 1024, ten, 3)
    out["colorize_4000x3000_s"] = colorize_s(3000, 4000, None, 1)
    for name in cnn.store.committed_models():
        tr = (cnn.store.load_card(name) or {}).get("training") or {}
        out[f"train_{name}_s"] = tr.get("seconds")
        out[f"train_{name}_device"] = tr.get("device")
        if tr.get("peak_memory_mb"):
            out[f"train_{name}_peak_memory_mb"] = tr["peak_memory_mb"]
    out["peak_memory_mb"] = peak_mb()
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"device: {out['device']}")
    print(f"report net, batch 3:             {out['report_ms_per_step']:.0f} ms/step")
    print(
        f"U-Net, {out['unet_batch']}:  {out['unet_ms_per_step']:.0f} ms/step (batch preparation {out['batch_prep_ms']:.0f} ms)"
    )
    print(f"colorize 1024x1024:              {out['colorize_1024x1024_s']:.2f} s ({out['colorize_model']})")
    print(f"colorize 1024x1024, 10 hints:    {out['colorize_1024x1024_10_hints_s']:.2f} s")
    print(f"colorize 4000x3000:              {out['colorize_4000x3000_s']:.2f} s")
    for name in cnn.store.committed_models():
        s = out.get(f"train_{name}_s")
        if s is not None:
            mem = out.get(f"train_{name}_peak_memory_mb")
            print(
                f"training {name + ':':<24} {s / 60:.1f} min on {out[f'train_{name}_device']}"
                + (f", peak memory {mem:.0f} MB" if mem else "")
                + " (from its card)"
            )
    print(f"peak memory of this benchmark:   {out['peak_memory_mb']:.0f} MB")
    return 0
