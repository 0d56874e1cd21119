"""The command line: ``python -m core <command> ...``.

Commands
--------
ann            train the numpy colorizer on a photo and score it beside the baselines
reproduce ann  the report's part 1 experiments: the report's figure, ours and the baselines
bench ann      speed of the numpy network (vectorised vs a per-sample loop), and memory
cnn ...        the Keras colorizers: train, eval, colorize, describe (see ``core.cnn_cli``)
reproduce cnn  the report's part 2 experiment
bench cnn      speed of the CNNs

Exit status: 0 on success, 1 when training diverged, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from .report import REPORT_ANN

USAGE = """usage: python -m core <command> [options]

commands:
  ann              train the numpy colorizer on one photo (python -m core ann --help)
  reproduce ann    the report's numpy experiments beside ours and the baselines
  reproduce cnn    the report's CNN experiment beside ours and the baselines
  bench ann        speed and memory of the numpy network
  bench cnn        speed and memory of the CNNs
  cnn train|eval|colorize|describe
                   the Keras colorizers (python -m core cnn --help)
"""


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated layer sizes like 9 or 32,16; got {text!r}"
        ) from None


def _ann_parser() -> argparse.ArgumentParser:
    from .ann import ACTIVATIONS, OPTIMIZERS, PRESETS, STRUCTURES
    from .splits import SPLITS

    p = argparse.ArgumentParser(prog="python -m core ann", description="Train the numpy colorizer on a photo.")
    p.add_argument("--image", required=True, help="test photo: a path or a sample name (coffee, chelsea, ...)")
    p.add_argument("--train-image", help="train on this photo and test on --image (the cross-image split)")
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="default", help="starting configuration (default: default)"
    )
    p.add_argument("--window", type=int, help="window size w (odd: 3, 5, 7)")
    p.add_argument("--levels", type=int, help="colour levels K per channel (4, 8, 16)")
    p.add_argument("--hidden", type=_hidden, help="hidden layer sizes, comma-separated (e.g. 9 or 32,16)")
    p.add_argument("--activation", choices=ACTIVATIONS)
    p.add_argument("--structure", choices=STRUCTURES)
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--split", choices=SPLITS, default="left-right", help="how to split train and test (default left-right)"
    )
    p.add_argument("--max-side", type=int, help="scale photos down so the longer side is at most this")
    p.add_argument("--out", help="write the generated picture (train side quantized truth, test side predicted) as PNG")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of a table")
    return p


class _Progress:
    """A one-line text progress bar on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr is not None

    def __call__(self, event) -> None:
        if not self.enabled or event.kind not in ("epoch", "diverged"):
            return
        width = 30
        filled = int(width * event.epoch / max(event.epochs, 1))
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] epoch {event.epoch}/{event.epochs}  loss {event.loss:.4f}"
        if math.isfinite(event.test_difference):
            line += f"  train {event.train_difference:.3f}  test {event.test_difference:.3f}"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")


def _table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    return "\n".join(out)


def _load(source, max_side=None):
    """A photo by path, by built-in sample name, or by name in the data folder's ``single/`` (``beach``,
    ``beach.png``), in that order."""
    from pathlib import Path

    from .datasets import data_root
    from .images import SAMPLES, fit_within, load_image

    if isinstance(source, str) and not Path(source).exists() and Path(source).stem not in SAMPLES:
        root = data_root(required=False)
        name = Path(source).name
        for candidate in (root / "single" / name, root / "single" / f"{name}.png") if root else ():
            if candidate.is_file():
                source = str(candidate)
                break
    return fit_within(load_image(source), max_side)


def cmd_ann(argv: list[str]) -> int:
    from .ann import ANNTrainer, preset
    from .images import ImageError, to_png_bytes
    from .splits import make_split

    args = _ann_parser().parse_args(argv)
    try:
        config = preset(
            args.preset,
            window=args.window,
            levels=args.levels,
            hidden=args.hidden,
            activation=args.activation,
            structure=args.structure,
            optimizer=args.optimizer,
            lr=args.lr,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        image = _load(args.image, args.max_side)
        train_image = _load(args.train_image, args.max_side) if args.train_image else None
        split = make_split(image, args.split, train_image)
    except (ImageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    progress = _Progress(not args.json)
    trainer = ANNTrainer(config, split)
    for event in trainer.train():
        progress(event)
    progress.close()
    result = trainer.result()
    if args.out:
        with open(args.out, "wb") as f:
            f.write(to_png_bytes(result.full_image()))

    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        if result.diverged:
            print(f"warning: {result.diverged}")
        rows = [["network", result.seed_difference, result.l1_difference]]
        rows += [[name, b["seed_difference"], b["l1_difference"]] for name, b in result.baselines.items()]
        h, w = split.test_rgb.shape[:2]
        print(
            f"{args.image}: split {split.how}, test part {w}x{h}, {result.epochs_run} epochs in {result.train_seconds:.2f} s"
        )
        print(f"config: {json.dumps(config.to_dict())}")
        print(_table(["predictor", "seed difference", "L1 (levels)"], rows))
        if args.out:
            print(f"wrote {args.out}")
    return 1 if result.diverged else 0


def cmd_reproduce_ann(argv: list[str]) -> int:
    from .ann import preset, run_ann
    from .datasets import data_root, single_image_path
    from .images import load_image
    from .splits import make_split

    p = argparse.ArgumentParser(prog="python -m core reproduce ann", description="The report's numpy experiments.")
    p.add_argument("--data", help="data folder with single/ (default: $COLORLAB_DATA)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    root = data_root(args.data, required=False)
    experiments = [("coffee", lambda: make_split(load_image("coffee")))]
    if root is not None:
        sunset = lambda: load_image(single_image_path("sunset", root))  # noqa: E731
        beach = lambda: load_image(single_image_path("beach", root))  # noqa: E731
        experiments += [
            ("sunset", lambda: make_split(sunset())),
            ("beach", lambda: make_split(beach())),
            ("sunset -> beach", lambda: make_split(beach(), "cross-image", sunset())),
        ]
    else:
        print("note: no data folder (--data or COLORLAB_DATA): running coffee only", file=sys.stderr)

    records = []
    for name, make in experiments:
        split = make()
        rec = {"experiment": name, "report_figure": REPORT_ANN[name]}
        for which in ("report", "default"):
            t0 = time.perf_counter()
            r = run_ann(preset(which), split)
            rec[f"{which}_preset"] = {
                "seed_difference": r.seed_difference,
                "l1_difference": r.l1_difference,
                "train_seconds": r.train_seconds,
                "wall_seconds": time.perf_counter() - t0,
            }
            rec["baselines"] = {
                k: {"seed_difference": v["seed_difference"], "l1_difference": v["l1_difference"]}
                for k, v in r.baselines.items()
            }
        records.append(rec)
        print(f"done: {name}", file=sys.stderr)

    if args.json:
        print(json.dumps({"experiments": records, "presets": {k: preset(k).to_dict() for k in ("report", "default")}}))
        return 0
    print("Report's difference mean(|dR+dG+dB|)/64 on the test part (lower is better); L1 in brackets.\n")
    headers = ["experiment", "report's figure", "ours: report preset", "ours: default preset", "gray", "mean", "lookup"]

    def both(d):
        return f"{d['seed_difference']:.3f} ({d['l1_difference']:.3f})"

    rows = [
        [
            r["experiment"],
            r["report_figure"],
            both(r["report_preset"]),
            both(r["default_preset"]),
            *(both(r["baselines"][k]) for k in ("gray", "mean", "lookup")),
        ]
        for r in records
    ]
    print(_table(headers, rows))
    return 0


def cmd_bench_ann(argv: list[str]) -> int:
    from .ann import ANNTrainer, per_sample_sgd_epoch, preset
    from .images import load_image, resize
    from .splits import make_split

    p = argparse.ArgumentParser(prog="python -m core bench ann", description="Speed of the numpy network.")
    p.add_argument("--epochs", type=int, default=5, help="timed vectorised epochs (median is reported)")
    p.add_argument(
        "--per-sample-windows",
        type=int,
        default=20000,
        help="windows timed with the per-sample loop; the time is scaled to the whole epoch",
    )
    p.add_argument(
        "--memory",
        action="store_true",
        help="instead: one epoch on a 2048x2048 photo with a 7x7 window, printing peak memory",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    if args.memory:
        import resource

        image = resize(load_image("astronaut"), (2048, 2048))
        config = preset("default", window=7, epochs=1, preview_every=0)
        t0 = time.perf_counter()
        trainer = ANNTrainer(config, make_split(image))
        for _ in trainer.train():
            pass
        out = {
            "image": "astronaut resized to 2048x2048",
            "window": 7,
            "epochs": 1,
            "seconds": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
        return 0

    default = preset("default")
    config = preset("default", window=3, hidden=(9,), activation="sigmoid", preview_every=0)
    split = make_split(load_image("coffee"))
    trainer = ANNTrainer(config, split)
    trainer.train_epoch()  # warm-up
    # Wall time is what a user waits; CPU time of this process is shown beside
    # it because it does not grow when other programs share the cores.
    times, cpu_times = [], []
    for _ in range(args.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        trainer.train_epoch()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    epoch = float(np.median(times))
    epoch_cpu = float(np.median(cpu_times))
    n = trainer.sampler.n

    m = min(args.per_sample_windows, n)
    ref = ANNTrainer(preset("report", window=3, hidden=(9,)), split)
    order = np.random.default_rng(0).permutation(n)[:m]
    t0, c0 = time.perf_counter(), time.process_time()
    per_sample_sgd_epoch(ref.model.network, ref.sampler, ref.train_levels, ref.config.lr, order, ref.config.activation)
    per_sample = (time.perf_counter() - t0) * n / m
    per_sample_cpu = (time.process_time() - c0) * n / m

    out = {
        "windows": n,
        "window": 3,
        "hidden": [9],
        "batch_size": config.batch_size,
        "optimizer": config.optimizer,
        "epoch_seconds": epoch,
        "epoch_cpu_seconds": epoch_cpu,
        "per_sample_epoch_seconds": per_sample,
        "per_sample_epoch_cpu_seconds": per_sample_cpu,
        "per_sample_windows_measured": m,
        "speedup": per_sample / epoch,
        "windows_per_second": n / epoch,
        "default_preset": default.to_dict(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"coffee left half: {n} windows, 3x3 window, 9 hidden, 3 channel networks, "
            f"batch {config.batch_size}, {config.optimizer}"
        )
        print(
            f"vectorised epoch:  {epoch:.4f} s (median of {args.epochs}; CPU {epoch_cpu:.4f} s)  = {n / epoch:,.0f} windows/s"
        )
        print(
            f"per-sample loop:   {per_sample:.2f} s per epoch (CPU {per_sample_cpu:.2f} s; timed on {m} windows, scaled to {n})"
        )
        print(f"speedup:           {per_sample / epoch:.0f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "ann":
        return cmd_ann(rest)
    if cmd == "cnn":
        from .cnn_cli import main as cnn_main

        return cnn_main(rest)
    if cmd in ("reproduce", "bench") and rest and rest[0] in ("ann", "cnn"):
        what, rest = rest[0], rest[1:]
        if what == "ann":
            return cmd_reproduce_ann(rest) if cmd == "reproduce" else cmd_bench_ann(rest)
        from . import cnn_bench

        return cnn_bench.reproduce_main(rest) if cmd == "reproduce" else cnn_bench.bench_main(rest)
    print(f"unknown command: {' '.join(argv[:2])}\n\n{USAGE}", file=sys.stderr)
    return 2
