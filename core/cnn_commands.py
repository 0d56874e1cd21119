"""The work behind ``python -m core cnn train|eval|colorize|describe`` (parsing is in :mod:`core.cnn_cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .cnn.evaluate import folder_photos
from .cnn_cli import Bar, aggregate_rows, jsonable, metric_table, read_hints

__all__ = ["train", "eval", "colorize", "describe"]


def _progress_printer(label: str):
    bar = Bar(label)

    def show(ev: dict) -> None:
        acc = f"loss {ev['loss']:.3g}" + (
            f"  acc {100 * ev['accuracy']:.1f}%" if ev.get("accuracy") is not None else ""
        )
        bar(ev["step"], ev["steps"], acc)

    return show


def train(args) -> int:
    from . import cnn, datasets
    from .cnn import runs
    from .corpus import corpus_root, load_corpus

    out = Path(args.out)
    changes = {"seed": args.seed, **({"steps": args.steps} if args.steps else {})}
    if args.recipe == "general":
        config = cnn.recipe("general", **changes)
        root = args.corpus or (Path(args.data) / "corpus" if args.data else None)
        corpus = load_corpus("train", root, progress=Bar("decoding the corpus (once)"))
        val = load_corpus("val", root, progress=Bar("decoding val (once)"))
        print(f"general: {config.steps} steps of {config.batch_size} crops on {len(corpus)} photos", file=sys.stderr)
        result, card, path = runs.train_general(
            config,
            corpus,
            val,
            val_folder=corpus_root(root) / "val",
            out_dir=out,
            checkpoint_dir=out / ".checkpoints" / "general",
            resume=args.resume,
            progress=_progress_printer("training"),
            eval_progress=Bar("scoring on val"),
        )
        if path is None:
            print(f"{result.message}; run again with --resume to continue", file=sys.stderr)
            return 0
    else:
        if not args.scenario:
            raise ValueError(f"--recipe {args.recipe} needs --scenario (beach, sunset or forest)")
        dataset = datasets.load_scenario(args.scenario, args.data, seed=args.seed)
        if args.recipe == "scenario":
            changes["init"] = args.init or "general"
        config = cnn.recipe(args.recipe, **changes)
        res = runs.train_on_dataset(
            config, dataset, progress=_progress_printer(f"{args.scenario}"), cache=False, name=args.scenario
        )
        card = res["card"]
        path = cnn.store.save_model(res["model"], card, out, args.scenario, compact=True)
    print(f"saved {path} and its card ({card['training']['seconds']:.0f} s of training)", file=sys.stderr)
    if args.json:
        print(json.dumps(jsonable(card), indent=1))
    else:
        m = card.get("metrics") or {}
        if m.get("aggregate"):
            print(f"{m.get('scored_on')}: {m.get('n')} photos")
            print(metric_table(aggregate_rows(m["aggregate"], card["name"])))
    return 0


def _overlap_warning(card: dict | None, files) -> str | None:
    """A warning when photos being scored were among the model's training photos (by folder and file name)."""
    if not card:
        return None
    data = card.get("data") or {}
    train = set(data.get("train_files") or [])
    hits = [f for f, _ in files if f"{f.parent.name}/{f.name}" in train]
    if data.get("name") == "corpus":
        hits += [f for f, _ in files if "corpus" in f.parts and "train" in f.parts]
    if hits:
        return (
            f"warning: {len(hits)} of these {len(files)} photos were among the model's training photos "
            f"(e.g. {hits[0]}); its scores on them are optimistic"
        )
    return None


def eval(args) -> int:  # noqa: A001 - the command's name
    from . import cnn, datasets
    from .cnn.evaluate import EVAL_SIDE, baselines_from_tables, evaluate_photos, fit_baselines, load_photos

    model = cnn.store.load_model(args.model)
    card = cnn.store.load_card(args.model)
    if args.scenario:
        ds = datasets.load_scenario(args.scenario, args.data, seed=args.seed)
        photos, names, groups, size = ds.part("test"), ds.part_names("test"), None, 64
        baselines = fit_baselines(ds.part("train"))
        where = f"the test split of {args.scenario} ({len(photos)} photos, seed {args.seed}), squashed to 64 x 64"
        files = [(Path(n), "") for n in names]
    else:
        files = folder_photos([args.images])
        photos, names, groups = load_photos(
            files, args.images, on_error=lambda f, exc: print(f"skipped {f}: {exc}", file=sys.stderr)
        )
        size = None
        tables = (card or {}).get("baselines_ab")
        if not tables:
            raise ValueError(f"the model {args.model!r} has no card with baselines; score a scenario with --scenario")
        baselines = baselines_from_tables(tables)
        where = f"{len(photos)} photos under {args.images}, at most {EVAL_SIDE} px on the shorter side"
    warning = _overlap_warning(card, files)
    if warning:
        print(warning, file=sys.stderr)
    ev = evaluate_photos(
        model,
        photos,
        baselines=baselines,
        names=names,
        groups=groups or None,
        size=size,
        hints=args.hints,
        vividness=args.vividness,
        seed=args.seed,
        progress=Bar("scoring"),
    )
    ev.update(model=str(args.model), vividness=args.vividness, scored_on=where, overlap_warning=warning)
    if args.json:
        print(json.dumps(jsonable({k: v for k, v in ev.items() if k != "per_image"}), indent=1))
        return 0
    print(f"{args.model} on {where}" + (f", {args.hints} hints per photo" if args.hints else ""))
    print(metric_table(aggregate_rows(ev["aggregate"], str(args.model))))
    for g, agg in (ev.get("groups") or {}).items():
        print(f"\n{g}")
        print(metric_table(aggregate_rows(agg, str(args.model))))
    return 0


def colorize(args) -> int:
    from . import cnn
    from .images import ImageError, load_image, to_png_bytes

    files = folder_photos(args.images, recursive=False)
    hints = read_hints(args.hints) if args.hints else None
    many = len(files) > 1
    out = Path(args.out)
    into_folder = many or out.is_dir() or str(args.out).endswith(("/", "\\"))
    if many and out.suffix.lower() == ".png":
        raise ValueError(f"with {len(files)} photos, --out must be a folder, not {out}")
    if hints and many:
        raise ValueError("--hints apply to one photo; give one photo with --hints")
    model = cnn.store.load_model(args.model)
    bad = 0
    for f, _ in files:
        target = out / f"{f.stem}.png" if into_folder else out
        try:
            rgb = cnn.colorize(
                model, load_image(f), hints=hints, vividness=args.vividness, working_size=args.working_size
            )
        except ImageError as exc:
            print(f"error: {f}: {exc}", file=sys.stderr)
            bad += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(to_png_bytes(rgb))
        print(f"wrote {target} ({rgb.shape[1]}x{rgb.shape[0]})")
    if bad:
        print(f"{bad} of {len(files)} photos could not be read; the others were written", file=sys.stderr)
        return 2
    return 0


def describe(args) -> int:
    from . import cnn

    info = cnn.describe(args.arch)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{info['arch']}: {info['parameters']:,} parameters; input {info['input']}")
    for row in info["layers"]:
        print(f"  {row['name']:<16} {row['type']:<20} {str(row['output_shape']):<24} {row['parameters']:>10,}")
    return 0
