"""``python -m core cnn train|eval|colorize|describe``: the CNN's command line.

Exit status, as for every command: 0 success, 1 training diverged, 2 bad input.
Keras and TensorFlow are imported only inside the commands, with their start-up log silenced.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["main", "quiet_keras", "user_errors", "metric_table", "jsonable", "Bar"]

EXIT_DIVERGED, EXIT_BAD_INPUT = 1, 2


@contextmanager
def _stderr_silenced():
    """Send the process's stderr (file descriptor 2) to /dev/null for a while: TensorFlow's C++ start-up log."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_keras():
    """Import Keras (and its backend) without TensorFlow's CUDA and oneDNN start-up messages; returns ``core.cnn``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" not in sys.modules:
        with _stderr_silenced():
            import keras  # noqa: F401
    from . import cnn

    return cnn


def user_errors() -> tuple:
    """The exceptions that mean bad input (exit status 2)."""
    from .corpus import CorpusError
    from .images import ImageError

    return (FileNotFoundError, NotADirectoryError, ValueError, ImageError, CorpusError, OSError)


def _err(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return code


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt="{:.2f}") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return fmt.format(x)


def metric_table(rows: list[tuple[str, dict]]) -> str:
    """Rows of (label, scores) as an aligned text table of every metric."""
    head = ("", "accuracy", "AuC", "hit rate", "saturation", "PSNR dB", "SSIM", "colourfulness")
    lines = [head]
    for label, m in rows:
        lines.append(
            (
                label,
                _pct(m.get("accuracy")),
                _num(m.get("auc"), "{:.3f}"),
                _pct(m.get("hit_rate")),
                _num(m.get("saturation")),
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


def aggregate_rows(agg: dict, model_label: str | None = "model") -> list[tuple[str, dict]]:
    """The model's row (when present) and the baselines' rows of an ``aggregate``."""
    rows = [(model_label, agg["model"])] if model_label and "model" in agg else []
    return rows + [(f"baseline {b}", agg[b]) for b in ("gray", "mean", "lookup") if b in agg]


def jsonable(obj):
    """NaN and infinity as null, recursively (strict JSON)."""
    if isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
        return None
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


class Bar:
    """A one-line progress bar with ETA on stderr."""

    def __init__(self, label: str):
        self.label, self.t0, self.last = label, None, 0.0

    def __call__(self, done: int, total: int, extra: str = "") -> None:
        now = time.perf_counter()
        if self.t0 is None:  # the clock starts at the first report, not when the bar is made
            self.t0 = now
        if done < total and now - self.last < 0.5:
            return
        self.last = now
        frac = done / max(1, total)
        eta = (now - self.t0) * (1 - frac) / frac if frac > 0 else 0.0
        bar = "#" * int(30 * frac)
        print(
            f"\r{self.label} [{bar:<30}] {done}/{total}  {extra}  ETA {eta / 60:.1f} min ",
            end="\n" if done >= total else "",
            file=sys.stderr,
            flush=True,
        )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core cnn", description="The Keras CNN colorizers.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a CNN from a recipe", description="Train a CNN from a named recipe.")
    t.add_argument("--recipe", choices=("general", "scenario", "report"), required=True)
    t.add_argument("--corpus", metavar="DIR", help="general: the corpus folder (default $COLORLAB_DATA/corpus)")
    t.add_argument("--scenario", help="scenario, report: beach, sunset or forest")
    t.add_argument("--init", metavar="NAME|PATH", help="scenario: the model to fine-tune (default general)")
    t.add_argument("--out", metavar="DIR", required=True, help="save <name>.keras and <name>.json here")
    t.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    t.add_argument("--seed", type=int, default=0, help="seed of training (and of a scenario's 7:3 split)")
    t.add_argument("--resume", action="store_true", help="general: continue a stopped run from its checkpoint")
    t.add_argument("--data", metavar="DIR", help="the data folder (default $COLORLAB_DATA)")
    t.add_argument("--json", action="store_true", help="print the model card as JSON")

    e = sub.add_parser("eval", help="score a model and the baselines on photos")
    e.add_argument("--model", default="general", metavar="NAME|PATH")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", metavar="DIR", help="every photo under this folder (subfolders are groups)")
    src.add_argument("--scenario", help="a scenario's test split (7:3, --seed), squashed to 64 x 64")
    e.add_argument("--hints", type=int, default=0, metavar="N", help="give the model N hints per photo (true colours)")
    e.add_argument("--vividness", type=float, metavar="V", help="0 (safe) to 1 (vivid); default 0.5")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--data", metavar="DIR")
    e.add_argument("--json", action="store_true")

    c = sub.add_parser("colorize", help="colorize photos at full resolution")
    c.add_argument("images", metavar="IMAGE", nargs="+", help="photos, or folders of photos")
    c.add_argument("--model", default="general", metavar="NAME|PATH")
    c.add_argument("--out", required=True, metavar="PATH", help="a .png file for one photo, else a folder")
    c.add_argument("--vividness", type=float, metavar="V", help="0 (safe) to 1 (vivid); default 0.5")
    c.add_argument("--hints", metavar="FILE.json", help='a list of {"x": int, "y": int, "color": "#rrggbb"}')
    c.add_argument("--working-size", type=int, metavar="N", help="shorter side a/b are predicted at (default 128)")

    d = sub.add_parser("describe", help="layer table and parameter count")
    d.add_argument("--arch", choices=("report", "unet"), default="unet")
    d.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m core cnn train|eval|colorize|describe``; returns the exit status."""
    args = _parser().parse_args(argv)
    cnn = quiet_keras()
    from . import cnn_commands

    try:
        return getattr(cnn_commands, args.command)(args)
    except cnn.TrainingError as exc:
        return _err(str(exc), EXIT_DIVERGED)
    except KeyboardInterrupt:
        return _err("interrupted", 130)
    except user_errors() as exc:
        return _err(str(exc))


def read_hints(path) -> list:
    """A hints file: a JSON list of ``{"x": int, "y": int, "color": "#rrggbb"}``, as ``(x, y, (r, g, b))``."""
    try:
        items = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"the hints file {path} is not valid JSON ({exc})") from None
    if not isinstance(items, list):
        raise ValueError(f'the hints file {path} must hold a list of {{"x": .., "y": .., "color": "#rrggbb"}}')
    out = []
    for k, h in enumerate(items):
        try:
            color = str(h["color"]).lstrip("#")
            if len(color) != 6:
                raise ValueError
            rgb = tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))
            out.append((int(h["x"]), int(h["y"]), rgb))
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f'hint {k + 1} in {path} must be {{"x": int, "y": int, "color": "#rrggbb"}}; got {h!r}'
            ) from None
    return out
