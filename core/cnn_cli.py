"""Command line of the CNN colorizer (dispatched to by :mod:`core.cli`).

``python -m core cnn train|eval|colorize|describe ...``  -> :func:`main`
``python -m core reproduce cnn [--steps N]``            -> :func:`reproduce_main`
``python -m core bench cnn [--json]``                   -> :func:`bench_main`

Each function takes the argument strings (without the leading words) and
returns an exit code: 0 success, 1 failure (a clear message on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "reproduce_main", "bench_main"]


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _print_progress(ev: dict, prefix: str = "") -> None:
    """Print a training event to stderr when it carries accuracies (every ``eval_every`` steps)."""
    if ev["train_acc"] is not None:
        print(
            f"{prefix}step {ev['step']}/{ev['steps']}  epoch {ev['epoch']:.1f}  loss {ev['loss']:.4g}  "
            f"train acc {_pct(ev['train_acc'])}  test acc {_pct(ev['test_acc'])}  {ev['seconds']:.0f} s",
            file=sys.stderr,
            flush=True,
        )


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _user_errors():
    from .cnn import TrainingError
    from .images import ImageError

    return (FileNotFoundError, ValueError, ImageError, TrainingError, OSError)


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt="{:.2f}") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return fmt.format(x)


def _metric_table(rows: list[tuple[str, dict]]) -> str:
    """rows: (label, {"accuracy", "auc", "psnr", "ssim", "colorfulness"}) -> aligned text table."""
    head = ("", "accuracy", "AuC", "PSNR dB", "SSIM", "colorfulness")
    lines = [head]
    for label, m in rows:
        lines.append(
            (
                label,
                _pct(m.get("accuracy")),
                _num(m.get("auc"), "{:.3f}"),
                _num(m.get("psnr")),
                _num(m.get("ssim"), "{:.3f}"),
                _num(m.get("colorfulness"), "{:.1f}"),
            )
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    out = []
    for j, r in enumerate(lines):
        out.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _aggregate_rows(agg: dict, model_label: str | None = "model") -> list[tuple[str, dict]]:
    rows = []
    if model_label and "model" in agg:
        rows.append((model_label, agg["model"]))
    for b in ("gray", "mean", "lookup"):
        rows.append((f"baseline {b}", agg[b]))
    return rows


def _jsonable(obj):
    if isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- cnn ...


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core cnn", description="The Keras CNN colorizers.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a CNN on a scenario or a folder of photos (7:3 split)")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--scenario", help="beach, sunset, forest, or scenes (all of them)")
    src.add_argument("--images", metavar="DIR", help="a folder of .jpg/.png photos")
    t.add_argument("--arch", choices=("report", "ours"), default="ours")
    t.add_argument("--lr", type=float, help="learning rate (default 1e-4 report, 2e-3 ours)")
    n = t.add_mutually_exclusive_group()
    n.add_argument("--steps", type=int, help="training iterations (default 8000 report, 600 ours)")
    n.add_argument("--epochs", type=int, help="passes over the training photos instead of --steps")
    t.add_argument("--batch-size", type=int, help="default 3 report, 16 ours")
    t.add_argument("--seed", type=int, default=0, help="seed of the split and of training (default 0)")
    t.add_argument("--out", metavar="DIR", help="also save <name>.keras and <name>.json here (e.g. models/)")
    t.add_argument("--name", help="file name for --out (default: the scenario or folder name)")
    t.add_argument("--json", action="store_true", help="print the model card as JSON")
    t.add_argument("--data", metavar="DIR", help="data root (default $COLORLAB_DATA)")
    t.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    t.add_argument(
        "--loss",
        choices=("mse", "mae", "huber", "welsch", "bins"),
        help="default mse (report) or huber (ours); welsch: 1 - exp(-d^2 / (2 sigma^2)), aimed at the report's "
        "accuracy; bins: ours as a classifier over a/b bins",
    )
    t.add_argument("--welsch-sigma", type=float, help="width of the welsch loss, in a/b units (default 5)")
    t.add_argument(
        "--rebalance",
        action="store_true",
        help="with --loss bins: weight each a/b value by the rarity of its bin in the training photos "
        "(Zhang et al. 2016's class rebalancing, lambda 0.5)",
    )
    t.add_argument(
        "--mix",
        type=float,
        help="with --scenario NAME: draw this share of the crops from the other scenarios' training photos",
    )
    t.add_argument("--ema", type=float, help="keep a moving average of the weights with this momentum (e.g. 0.99)")
    t.add_argument("--dropout", type=float, default=0.0, help="report: dropout rate before the output layer")
    t.add_argument("--width", type=int, default=16, help="ours: filters of the first level")
    t.add_argument(
        "--member-widths",
        type=int,
        nargs="+",
        metavar="W",
        help="ours, with --members N: each member's first-level filters (e.g. 16 12; default --width for all)",
    )
    t.add_argument("--init", metavar="NAME|PATH", help="fine-tune from this model (e.g. scenes)")
    t.add_argument(
        "--scales",
        type=int,
        nargs="+",
        metavar="SIDE",
        help="ours: shorter sides the photos are rescaled to before the random crops (default 64 96 128; "
        "the squashed 64x64 view is always added)",
    )
    t.add_argument(
        "--members", type=int, default=1, help="ours: train N U-Nets (seeds --seed, --seed+1, ...) and average them"
    )
    t.add_argument(
        "--gate",
        action="store_true",
        help="with --scenario NAME --mix M: a scene gate gives each photo p, how likely it is a NAME photo. "
        "--members 1 (the default): one U-Net told p, trained with --own-share of each batch from NAME's photos "
        "(told 1) and the rest with the mix (told 0); --members 2: member 1 trains on NAME's photos only, "
        "member 2 with the mix, weighed per photo by p (see --gate-members)",
    )
    t.add_argument(
        "--gate-members",
        choices=("weigh", "tell"),
        help="with --gate and --members N > 1: 'weigh' (the default; N = 2, p weighs a specialist and a "
        "generalist) or 'tell' (each member a U-Net told p, trained as with --members 1, their colours averaged)",
    )
    t.add_argument(
        "--own-share",
        type=float,
        help="with --gate and --members 1 (or --gate-members tell): share of each batch's crops from the scenario's "
        "own photos (default 0.5)",
    )
    t.add_argument(
        "--position",
        action="store_true",
        help="with --gate (--members 1, or --gate-members tell): each U-Net also sees where each pixel sits in the "
        "photo (its height and its distance from the vertical centre line; round 23 of docs/CNN.md)",
    )
    t.add_argument("--no-cache", action="store_true", help="train even when the cache holds this model")

    e = sub.add_parser("eval", help="score a model and the baselines")
    e.add_argument("--model", required=True, metavar="NAME|PATH")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", metavar="DIR", help="every photo of this folder is scored")
    src.add_argument("--scenario", help="score on this scenario's test split (7:3, --seed)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--data", metavar="DIR")
    e.add_argument("--size", type=int, default=64, help="working size of the scores (default 64, the report's)")
    e.add_argument(
        "--no-detail",
        action="store_true",
        help="ours: predict from the photo squashed to the working size only, as before round 18 (default: also "
        "from the photo at a shorter side 1.5 x that size, averaged; docs/CNN.md)",
    )
    e.add_argument("--json", action="store_true")

    c = sub.add_parser("colorize", help="colorize one photo at full resolution")
    c.add_argument("image", metavar="IMAGE")
    c.add_argument("--model", required=True, metavar="NAME|PATH")
    c.add_argument("--out", required=True, metavar="OUT.png")
    c.add_argument("--working-size", type=int, help="ours: longest side used for prediction (default 96)")
    c.add_argument(
        "--no-flip",
        action="store_true",
        help="ours: skip flip averaging (one pass of the network instead of two; faster, slightly noisier)",
    )

    d = sub.add_parser("describe", help="layer table and parameter count")
    d.add_argument("--arch", choices=("report", "ours"), default="ours")
    d.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m core cnn train|eval|colorize|describe``; returns the exit code."""
    args = _parser().parse_args(argv)
    _quiet_tf()
    try:
        return {"train": _train, "eval": _eval, "colorize": _colorize, "describe": _describe}[args.command](args)
    except _user_errors() as exc:
        return _err(str(exc))


def _train(args) -> int:
    from . import cnn, datasets

    focus = None
    if args.mix:
        if not args.scenario or args.scenario == datasets.ALL_SCENES:
            raise ValueError("--mix needs --scenario NAME (one scenario; the others are mixed in)")
        focus = args.scenario
        ds = datasets.load_scenario(datasets.ALL_SCENES, args.data, seed=args.seed)  # train_cnn checks NAME
    elif args.scenario:
        ds = datasets.load_scenario(args.scenario, args.data, seed=args.seed)
    else:
        ds = datasets.load_folder(args.images, seed=args.seed)
    kw = {
        k: v
        for k, v in {
            "lr": args.lr,
            "steps": args.steps,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "loss": args.loss,
            "welsch_sigma": args.welsch_sigma,
            "rebalance": args.rebalance or None,
            "ema": args.ema,
            "focus": focus,
            "mix": args.mix or None,
            "gate": args.gate or None,
            "gate_members": args.gate_members,
            "own_share": args.own_share,
            "position": args.position or None,
            "scales": args.scales,  # CNNConfig makes it a tuple of ints
        }.items()
        if v is not None
    }
    config = cnn.CNNConfig(
        arch=args.arch,
        seed=args.seed,
        optimizer=args.optimizer,
        dropout=args.dropout,
        width=args.width,
        init=args.init,
        members=args.members,
        member_widths=tuple(args.member_widths or ()),
        **kw,
    )
    print(f"training {config.arch} on {ds!r}", file=sys.stderr)

    res = cnn.train_or_load(config, ds, cache=False if args.no_cache else None, progress=_print_progress)
    print(res.message, file=sys.stderr)
    card = res.card
    if args.out:
        path = cnn.save_model(res.model, card, args.out, args.name or card["name"])
        size_mb = path.stat().st_size / 1e6
        print(f"saved {path} ({size_mb:.2f} MB) and {path.with_suffix('.json')}", file=sys.stderr)
    if args.json:
        print(json.dumps(_jsonable(card), indent=1))
    elif card.get("metrics"):
        m = card["metrics"]
        print(
            f"{card['name']}: test split ({m['n']} photos, {m['size']}x{m['size']}), {card['training']['steps']} steps, {card['training']['seconds']:.0f} s"
        )
        print(_metric_table(_aggregate_rows(m, f"{config.arch} model")))
    return 0


def _detail_note(size: int, side: int) -> str:
    return (
        f"(the model's a/b: the mean of its predictions from the photo squashed to {size}x{size} and from the photo "
        f"at a shorter side of {side} px, resized to {size}x{size}; the baselines see the {size}x{size} view)"
    )


def _eval(args) -> int:
    from . import cnn, datasets

    model = cnn.load_model(args.model)
    card = cnn.load_card(args.model)
    if args.images:
        ds = datasets.load_folder(args.images, train_ratio=0.0)
    else:
        ds = datasets.load_scenario(args.scenario, args.data, seed=args.seed)
    base = cnn.baselines_from_card(card) if card else None
    note = "baselines fitted on the model's training data (from its card)"
    if base is None:
        if len(ds.train_idx) == 0:
            return _err(
                f"model {args.model!r} has no card with baselines and {args.images!r} has no training split; use --scenario"
            )
        note = "baselines fitted on the dataset's training split (the model has no card)"
    ev = cnn.evaluate(model, ds, split="test", size=args.size, baselines=base, detail=not args.no_detail)
    if args.json:
        print(
            json.dumps(
                _jsonable({"model": str(args.model), "dataset": ds.name, "baselines_from": note, **ev}), indent=1
            )
        )
    else:
        print(f"{args.model} on {ds.name}: {ev['n']} photos at {ev['size']}x{ev['size']}; {note}")
        if ev["detail_side"]:
            print(_detail_note(ev["size"], ev["detail_side"]))
        print(_metric_table(_aggregate_rows(ev["aggregate"], "model")))
        print(f"true photos' colorfulness: {ev['aggregate']['truth']['colorfulness']:.1f}")
    return 0


def _colorize(args) -> int:
    from . import cnn
    from .images import load_image, to_png_bytes

    rgb = load_image(args.image)
    model = cnn.load_model(args.model)
    t0 = time.perf_counter()
    out = cnn.colorize(model, rgb, working_size=args.working_size, flip=False if args.no_flip else None)
    dt = time.perf_counter() - t0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(to_png_bytes(out))
    print(f"wrote {args.out} ({out.shape[1]}x{out.shape[0]}) in {dt:.2f} s")
    return 0


def _describe(args) -> int:
    from . import cnn

    d = cnn.describe(args.arch)
    if args.json:
        print(json.dumps(d, indent=1))
        return 0
    rows = [("layer", "type", "output shape", "parameters")]
    for lay in d["layers"]:
        shape = "(" + ", ".join("None" if s is None else str(s) for s in lay["output_shape"] or []) + ")"
        rows.append((lay["name"], lay["type"], shape, f"{lay['parameters']:,}"))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    for j, r in enumerate(rows):
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}")
        if j == 0:
            print("  ".join("-" * x for x in w))
    print(f"{args.arch}: {d['parameters']:,} parameters; input {d['input']}")
    return 0


# --------------------------------------------------------------------------- reproduce cnn


def reproduce_main(argv: list[str] | None = None) -> int:
    """``python -m core reproduce cnn [--steps N]``: the report's experiment, one table per scenario."""
    p = argparse.ArgumentParser(
        prog="python -m core reproduce cnn", description="The report's CNN experiment, reproduced."
    )
    p.add_argument(
        "--steps", type=int, default=8000, help="iterations of the report's network (default 8000, the report's)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of training (default 0)")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam", help="for the report's network")
    p.add_argument("--scenarios", default="beach,sunset,forest", help="comma-separated (default beach,sunset,forest)")
    p.add_argument("--data", metavar="DIR")
    p.add_argument(
        "--retrain-ours",
        action="store_true",
        help="train our model per scenario (the committed model's recipe, with --seed) instead of loading models/",
    )
    p.add_argument(
        "--skip-report-net",
        action="store_true",
        help="leave the report's network out (e.g. to check our model over other seeds quickly)",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    _quiet_tf()
    try:
        return _reproduce(args)
    except _user_errors() as exc:
        return _err(str(exc))


def _steps(config) -> str:
    """``"300 steps"``, or ``"2 x 300 steps"`` for an ensemble (each member trains ``steps``)."""
    return f"{config.members} x {config.steps} steps" if config.members > 1 else f"{config.steps} steps"


def _retrain_init(card: dict, args) -> str | None:
    """For a model fine-tuned from another (``init``, e.g. ``scenes``): retrain that one first with
    this seed, on its own data (cached), and return its path; the committed one may have seen this
    seed's test photos."""
    from . import cnn, datasets

    init = card["config"].get("init")
    if not init:
        return None
    init_card = cnn.load_card(init)
    if not init_card:
        raise ValueError(f"the model card of {init!r} (the model {card.get('name')!r} was fine-tuned from) is missing")
    icfg = cnn.CNNConfig.from_dict({**init_card["config"], "seed": args.seed})
    ids = datasets.load_scenario(init_card["data"]["name"], args.data, seed=args.seed)
    prefix = f"[{card.get('name')}] "
    print(
        f"{prefix}the model {init!r} to fine-tune from ({_steps(icfg)}; loaded if cached, else trained) ...",
        file=sys.stderr,
    )
    res = cnn.train_or_load(icfg, ids, progress=functools.partial(_print_progress, prefix=f"{prefix}[{init}] "))
    print(f"{prefix}[{init}] {res.message}", file=sys.stderr, flush=True)
    return str(res.cache_path)


def _reproduce(args) -> int:
    from . import cnn, datasets

    results = {}
    for sc in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        ds = datasets.load_scenario(sc, args.data, seed=args.seed)
        progress = functools.partial(_print_progress, prefix=f"[{sc}] ")
        if args.skip_report_net:
            rep, ev_rep = None, cnn.evaluate(None, ds)  # the baselines only
        else:
            print(
                f"[{sc}] the report's network: {args.steps} steps, batch 3 (loaded if cached, else trained) ...",
                file=sys.stderr,
                flush=True,
            )
            rcfg = cnn.CNNConfig(arch="report", steps=args.steps, seed=args.seed, optimizer=args.optimizer)
            rep = cnn.train_or_load(rcfg, ds, progress=progress)
            print(f"[{sc}] {rep.message}", file=sys.stderr, flush=True)
            ev_rep = cnn.evaluate(rep.model, ds)
        if not args.retrain_ours and sc in cnn.committed_models():
            ours = cnn.load_model(sc)
            ours_label = f"ours (models/{sc}.keras)"
            ours_seconds = (cnn.load_card(sc) or {}).get("training", {}).get("seconds")
        else:
            card = cnn.load_card(sc) if sc in cnn.committed_models() else None
            # the committed model's recipe (its card's config) with this seed, else our default config
            init = _retrain_init(card, args) if card else None
            cfg = cnn.CNNConfig.from_dict({**card["config"], "seed": args.seed, "init": init}) if card else None
            cfg = cfg or cnn.CNNConfig(seed=args.seed)
            train_ds = datasets.load_scenario(datasets.ALL_SCENES, args.data, seed=args.seed) if cfg.focus else ds
            print(f"[{sc}] our model ({_steps(cfg)}; loaded if cached, else trained) ...", file=sys.stderr, flush=True)
            r = cnn.train_or_load(cfg, train_ds, progress=progress)
            print(f"[{sc}] {r.message}", file=sys.stderr, flush=True)
            ours, ours_label, ours_seconds = (
                r.model,
                f"ours (trained, {_steps(r.config)})",
                r.card["training"]["seconds"],
            )
        ev_ours = cnn.evaluate(ours, ds)
        agg = ev_rep["aggregate"]
        paper = cnn.REPORT_FIGURES.get(sc)
        rows = [("report (paper)", {"accuracy": paper})]
        if rep is not None:
            rows.append((f"report net, reproduced ({args.steps} steps)", agg["model"]))
        rows += [(ours_label, ev_ours["aggregate"]["model"])] + _aggregate_rows(agg, None)
        best = ev_rep["best_baseline"]
        results[sc] = {
            "photos": {"train": len(ds.train_idx), "test": len(ds.test_idx)},
            "report_paper": paper,
            "report_reproduced": agg["model"] if rep is not None else None,
            "report_steps": args.steps if rep is not None else 0,
            "report_train_seconds": rep.card["training"]["seconds"] if rep is not None else None,
            "ours": ev_ours["aggregate"]["model"],
            "ours_detail_side": ev_ours["detail_side"],
            "ours_train_seconds": ours_seconds,
            "baselines": {b: agg[b] for b in ("gray", "mean", "lookup")},
            "best_baseline": best,
            "ours_minus_best_baseline": ev_ours["aggregate"]["model"]["accuracy"] - agg[best]["accuracy"],
        }
        if not args.json:
            print(
                f"\n## {sc}: test split, {len(ds.test_idx)} photos (train {len(ds.train_idx)}), 64x64, seed {args.seed}"
            )
            print(_metric_table(rows))
            if ev_ours["detail_side"]:
                print(_detail_note(64, ev_ours["detail_side"]))
            line = f"ours - best baseline ({best}): {100 * results[sc]['ours_minus_best_baseline']:+.1f} points"
            if rep is not None:
                gap = ev_ours["aggregate"]["model"]["accuracy"] - agg["model"]["accuracy"]
                line += f"; ours - reproduced report net: {100 * gap:+.1f} points"
            print(line, flush=True)
    if results:
        mean_gap = sum(r["ours_minus_best_baseline"] for r in results.values()) / len(results)
        if args.json:
            print(json.dumps(_jsonable({"scenarios": results, "mean_ours_minus_best_baseline": mean_gap}), indent=1))
        else:
            print(f"\naverage over {len(results)} scenarios: ours - best baseline = {100 * mean_gap:+.1f} points")
    return 0


# --------------------------------------------------------------------------- bench cnn


def bench_main(argv: list[str] | None = None) -> int:
    """``python -m core bench cnn [--json]``: training step times, colorize times, peak memory."""
    p = argparse.ArgumentParser(prog="python -m core bench cnn", description="CNN speed on this machine.")
    p.add_argument("--json", action="store_true")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per model (after 3 warm-up steps)")
    p.add_argument("--model", default="scenes", help="model used for colorize timings (default scenes)")
    args = p.parse_args(argv)
    _quiet_tf()
    try:
        return _bench(args)
    except _user_errors() as exc:
        return _err(str(exc))


def _peak_mb() -> float:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def _bench(args) -> int:
    import numpy as np

    from . import cnn
    from .images import load_sample, resize

    rng = np.random.default_rng(0)
    out = {"device": None}

    def step_ms(arch, batch, shape_y):
        cfg = cnn.CNNConfig(arch=arch, batch_size=batch)
        model = cnn.build_model(cfg)
        model.compile(optimizer=cnn._make_optimizer(cfg, 100), loss=cnn._make_loss(cfg))
        x = rng.random((batch, 64, 64, 1), dtype=np.float32)
        y = (rng.random((batch,) + shape_y, dtype=np.float32) * 255).astype(np.float32)
        for _ in range(3):
            model.train_on_batch(x, y)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        return 1000 * (time.perf_counter() - t0) / args.steps

    out["report_ms_per_step"] = step_ms("report", 3, (8192,))
    out["report_batch_size"] = 3
    out["ours_ms_per_step"] = step_ms("ours", 16, (64, 64, 2))
    out["ours_batch_size"] = 16
    out["device"] = cnn._device()

    try:
        model = cnn.load_model(args.model)
        out["colorize_model"] = args.model
    except (FileNotFoundError, ValueError):
        model = cnn.build_model("ours")
        out["colorize_model"] = "ours (untrained: no committed model found)"
    photo = load_sample("astronaut")

    def colorize_s(h, w, repeats):
        img = resize(photo, (h, w))
        cnn.colorize(model, img[:64, :64])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            res = cnn.colorize(model, img)
            best = min(best, time.perf_counter() - t0)
        assert res.shape == img.shape
        return best

    out["colorize_1024x1024_s"] = colorize_s(1024, 1024, 3)
    out["colorize_4000x3000_s"] = colorize_s(3000, 4000, 1)
    out["peak_memory_mb"] = _peak_mb()
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"device: {out['device']}")
        print(f"report net, batch 3:      {out['report_ms_per_step']:.0f} ms/step")
        print(f"ours, batch 16 (64x64):   {out['ours_ms_per_step']:.0f} ms/step")
        print(f"colorize 1024x1024:       {out['colorize_1024x1024_s']:.2f} s ({out['colorize_model']})")
        print(f"colorize 4000x3000:       {out['colorize_4000x3000_s']:.2f} s")
        print(f"peak memory (max RSS):    {out['peak_memory_mb']:.0f} MB")
    return 0
