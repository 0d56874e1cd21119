"""Model files and their JSON cards: the committed models, the training cache, saving and loading.

See docs/CNN.md, "Model cards".
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np

from .config import CNNConfig
from .models import count_parameters, get_model
from .train import TrainResult, device_name, versions

__all__ = [
    "COMMITTED_MODELS",
    "DEFAULT_MODEL",
    "MODELS_DIR",
    "CACHE_ENV",
    "CARD_FORMAT",
    "committed_models",
    "model_path",
    "load_model",
    "load_card",
    "save_model",
    "write_card",
    "make_card",
    "cache_dir",
    "cache_key",
]

#: The committed models in ``models/``: the general colorizer and one fine-tuned per scenario.
COMMITTED_MODELS = ("general", "beach", "sunset", "forest")

#: The model the dashboard and the command line use when none is named.
DEFAULT_MODEL = "general"

#: The repository's ``models/`` folder.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

#: Environment variable overriding the cache folder (default ``~/.cache/colorlab``).
CACHE_ENV = "COLORLAB_CACHE"

#: Format version of model cards and cache keys.
CARD_FORMAT = 2


def _peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource
    import sys

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def cache_dir() -> Path:
    """The cache folder: ``$COLORLAB_CACHE`` or ``~/.cache/colorlab``."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/colorlab").expanduser()


def committed_models() -> list[str]:
    """Names of the committed models present in ``models/`` (in the order of :data:`COMMITTED_MODELS`)."""
    return [n for n in COMMITTED_MODELS if (MODELS_DIR / f"{n}.keras").is_file()]


def model_path(name_or_path) -> Path:
    """Resolve a committed model's name (``general``, ``beach``...) or a path to a ``.keras`` file.

    Raises
    ------
    FileNotFoundError, ValueError
        No such model, or not a ``.keras`` file; the message names what was asked for.
    """
    s = str(name_or_path)
    if s in COMMITTED_MODELS and not Path(s).exists():
        p = MODELS_DIR / f"{s}.keras"
        if not p.is_file():
            raise FileNotFoundError(f"the committed model {s!r} is missing: no {p}")
        return p
    p = Path(s).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"no model {s!r}: expected one of {', '.join(COMMITTED_MODELS)} or a .keras file")
    if p.suffix != ".keras":
        raise ValueError(f"the model file {s!r} is not a .keras file")
    return p


def load_model(name_or_path):
    """Load a model without ever deserializing code (Keras' safe mode).

    Parameters
    ----------
    name_or_path : str or path
        A committed model's name or a ``.keras`` path.

    Returns
    -------
    keras.Model (uncompiled)

    Raises
    ------
    FileNotFoundError, ValueError
        A missing, unreadable or corrupt file (the message names it).
    """
    p = model_path(name_or_path)
    try:
        return keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as exc:  # zip, h5 and deserialization errors all mean "unusable file"
        raise ValueError(f"cannot load the model {str(p)!r}: {type(exc).__name__}: {exc}") from exc


def load_card(name_or_path) -> dict | None:
    """The JSON card beside a model (``<name>.json``), or None when there is none."""
    p = model_path(name_or_path).with_suffix(".json")
    return json.loads(p.read_text()) if p.is_file() else None


def _atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_card(path, card: dict) -> None:
    """Write a model card as JSON, atomically."""
    text = json.dumps(card, indent=1, allow_nan=True)
    _atomic_write(Path(path), lambda p: p.write_text(text))


#: Significand bits kept by a compact model file (as bfloat16's 8; float16 keeps 11, float32 24).
COMPACT_BITS = 8


def _round_float16(a: np.ndarray) -> np.ndarray:
    """float32 weights as float16 rounded to :data:`COMPACT_BITS` significand bits (unchanged past float16's range)."""
    if a.dtype != np.float32 or np.abs(a).max(initial=0.0) > 60000.0:
        return a
    drop = 11 - COMPACT_BITS
    u = a.astype(np.float16).view(np.uint16).astype(np.uint32)
    return (((u + (1 << (drop - 1))) >> drop) << drop).astype(np.uint16).view(np.float16)


def _compact(path: Path) -> None:
    """Rewrite a ``.keras`` file with its weights rounded (:func:`_round_float16`) and the archive deflated.

    Keras reads it as any ``.keras`` file: the weights are cast back to float32 when loaded. The colours move by
    at most about an a/b unit (docs/CNN.md, "Model files"); the file shrinks to about 40 %.
    """
    import h5py

    def copy(src, dst):
        dst.attrs.update(dict(src.attrs))
        for key, item in src.items():
            if isinstance(item, h5py.Group):
                copy(item, dst.create_group(key))
            else:
                dst.create_dataset(key, data=_round_float16(item[()])).attrs.update(dict(item.attrs))

    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out = []
    for name, data in entries:
        if name.endswith(".h5"):
            buf = io.BytesIO()
            with h5py.File(io.BytesIO(data), "r") as fi, h5py.File(buf, "w") as fo:
                copy(fi, fo)
            data = buf.getvalue()
        out.append((name, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in out:
            z.writestr(name, data)


def save_model(model, card: dict, out_dir, name: str | None = None, *, compact: bool = False) -> Path:
    """Save ``<name>.keras`` (weights and architecture only) and its card ``<name>.json``, atomically.

    Parameters
    ----------
    model : keras.Model
    card : dict, from :func:`make_card`
    out_dir : str or path
    name : str, optional
        Default: the card's ``name``.
    compact : bool
        Store the weights rounded to 8 significant bits in float16 and deflate the file (:func:`_compact`): the
        committed models, at about 40 % of the size. Default: exact float32 weights.

    Returns
    -------
    Path of the ``.keras`` file
    """
    name = name or card.get("name") or "model"
    path = Path(out_dir) / f"{name}.keras"
    plain = get_model(CNNConfig.from_dict(card["config"]))  # uncompiled: no optimizer state, loadable in safe mode
    plain.set_weights(model.get_weights())

    def write(p):
        plain.save(p)
        if compact:
            _compact(p)

    _atomic_write(path, write)
    write_card(path.with_suffix(".json"), {**card, "compact_weights": True} if compact else card)
    return path


def cache_key(config: CNNConfig, fingerprint: str) -> str:
    """A 20-character key of a config, its data's fingerprint and (fine-tuning) the starting model's bytes."""
    init = None
    if config.init:
        try:
            init = hashlib.sha256(model_path(config.init).read_bytes()).hexdigest()
        except (FileNotFoundError, ValueError):
            init = "missing"
    blob = json.dumps(
        {"format": CARD_FORMAT, "config": config.to_dict(), "data": fingerprint, "init": init}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def make_card(result: TrainResult, *, name: str, data: dict, metrics: dict | None, baselines_ab: dict | None) -> dict:
    """A model card: what was trained, on what, how, and how it scores.

    Parameters
    ----------
    result : TrainResult
    name : str
    data : dict
        What it was trained on (name, photo count, fingerprint...).
    metrics : dict, optional
        Scores from :func:`core.cnn.evaluate.evaluate_photos` (``aggregate``, ``n``, ...).
    baselines_ab : dict, optional
        The baselines' tables fitted on the training photos (:func:`core.cnn.evaluate.baseline_tables`).
    """
    c = result.config
    return {
        "format": CARD_FORMAT,
        "name": name,
        "arch": c.arch,
        "parameters": count_parameters(result.model),
        "config": c.to_dict(),
        "loss": f"{c.loss}, rebalanced" if c.loss == "bins" and c.rebalance else c.loss,
        "data": data,
        "metrics": metrics,
        "baselines_ab": baselines_ab,
        "training": {
            "seconds": round(result.seconds, 1),
            "steps": int(result.steps_done),
            "stopped": bool(result.stopped),
            "final_loss": result.history[-1]["loss"] if result.history else None,
            "device": device_name(),
            "peak_memory_mb": round(_peak_mb()),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "versions": versions(),
    }


def cached(config: CNNConfig, fingerprint: str, folder=None):
    """A trained model and its card from the cache, or None.

    A corrupt cache file is reported (a ``UserWarning``), removed, and None returned.
    """
    folder = Path(folder) if folder is not None else cache_dir()
    key = cache_key(config, fingerprint)
    path = folder / f"{config.arch}-{key}.keras"
    card_path = path.with_suffix(".json")
    if not (path.exists() or card_path.exists()):
        return None
    try:
        card = json.loads(card_path.read_text())
        if card.get("key") != key:
            raise ValueError(f"its card has key {card.get('key')!r}, expected {key!r}")
        return load_model(path), card, path
    except Exception as exc:
        warnings.warn(f"the cache file {path} is corrupt or unreadable ({exc}); it is trained again", stacklevel=2)
        for p in (path, card_path):
            if p.exists():
                p.unlink()
        return None


def cache_put(model, card: dict, config: CNNConfig, fingerprint: str, folder=None) -> Path:
    """Store a trained model and its card in the cache (see :func:`cached`)."""
    folder = Path(folder) if folder is not None else cache_dir()
    key = cache_key(config, fingerprint)
    return save_model(model, {**card, "key": key}, folder, f"{config.arch}-{key}")
