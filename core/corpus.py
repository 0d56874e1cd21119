"""The general corpus: thousands of varied photos for training the general colorizer.

``<corpus>/train/<source>/*.jpg`` and ``<corpus>/val/<source>/*.jpg``, listed in ``<corpus>/manifest.csv``
(see the corpus's ``SOURCES.md``). A part is decoded once into one compact ``uint8`` array, each photo
scaled so that its shorter side is :data:`CORPUS_SIDE` and centre-cropped to a square, and cached under
``$COLORLAB_CACHE`` keyed by the part's fingerprint: no epoch decodes a JPEG. Nothing here imports Keras.
"""

from __future__ import annotations

import csv
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import DATA_ENV
from .images import ImageError, load_image, resize

__all__ = ["CORPUS_SIDE", "CorpusPart", "CorpusError", "corpus_root", "corpus_files", "load_corpus"]

#: Side of the square each corpus photo is stored at.
CORPUS_SIDE = 128

#: Version of the preprocessing; part of every fingerprint.
_VERSION = "corpus-v1"


class CorpusError(ValueError):
    """The corpus is missing or incomplete; the message names the folder expected."""


@dataclass(frozen=True, eq=False)
class CorpusPart:
    """One part of the corpus, decoded.

    Attributes
    ----------
    images : (N, S, S, 3) uint8
        The photos, S = :data:`CORPUS_SIDE` (a read-only memory map of the cache file).
    names : tuple of str
        ``"imagenette/n01440764_123.jpg"``..., relative to the part's folder.
    sources : tuple of str
        The source folder of each photo (``imagenette``, ``faces``...).
    part : str
        ``"train"`` or ``"val"``.
    fingerprint : str
        Hex SHA-256 of the manifest (every file's origin and size), the part and the preprocessing.
    """

    images: np.ndarray
    names: tuple
    sources: tuple
    part: str
    fingerprint: str

    def __len__(self) -> int:
        return len(self.names)

    def of_source(self, source: str) -> np.ndarray:
        """Indices of the photos from one source folder."""
        return np.flatnonzero(np.asarray(self.sources) == source)


def corpus_root(path: str | os.PathLike | None = None) -> Path:
    """The corpus folder: ``path``, else ``$COLORLAB_DATA/corpus``, else ``../shared/data/corpus``.

    Raises
    ------
    CorpusError
        When the folder or its ``manifest.csv`` is missing.
    """
    if path is None:
        data = os.environ.get(DATA_ENV)
        path = Path(data) / "corpus" if data else Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus"
    root = Path(path).expanduser()
    if not (root / "manifest.csv").is_file():
        raise CorpusError(
            f"no corpus at {root}: expected a folder with manifest.csv, train/ and val/ "
            "(the general corpus, ../shared/data/corpus). Pass --corpus DIR or set COLORLAB_DATA."
        )
    return root


def corpus_files(root: Path, part: str) -> list[tuple[str, str]]:
    """The manifest's files of one part: a list of ``(name, source)``, ``name`` relative to ``root / part``.

    Raises
    ------
    CorpusError
        When files of the manifest are missing (a partial copy); the message names the folder and counts them.
    """
    if part not in ("train", "val"):
        raise ValueError(f"part must be 'train' or 'val'; got {part!r}")
    with open(root / "manifest.csv", newline="") as f:
        rows = [r["file"] for r in csv.DictReader(f) if r["file"].startswith(part + "/")]
    if not rows:
        raise CorpusError(f"the corpus manifest lists no photos under {root / part}")
    missing = [r for r in rows if not (root / r).is_file()]
    if missing:
        raise CorpusError(
            f"the corpus at {root / part} is incomplete: {len(missing)} of the {len(rows)} photos its manifest "
            f"lists are missing (the first: {missing[0]}). Copy the whole corpus folder again."
        )
    out = []
    for r in rows:
        name = r[len(part) + 1 :]
        out.append((name, name.split("/", 1)[0]))
    return out


def _decode(path: Path, side: int) -> np.ndarray:
    rgb = load_image(path)
    h, w = rgb.shape[:2]
    f = side / min(h, w)
    rgb = resize(rgb, (max(side, round(h * f)), max(side, round(w * f))))
    h, w = rgb.shape[:2]
    y0, x0 = (h - side) // 2, (w - side) // 2
    return rgb[y0 : y0 + side, x0 : x0 + side]


def _cache_folder() -> Path:
    return Path(os.environ.get("COLORLAB_CACHE") or "~/.cache/colorlab").expanduser() / "corpus"


def load_corpus(part: str = "train", root=None, *, progress=None, workers: int | None = None) -> CorpusPart:
    """Load one part of the corpus, decoding it only the first time.

    Parameters
    ----------
    part : {"train", "val"}
    root : str or path, optional
        The corpus folder (see :func:`corpus_root`).
    progress : callable(done: int, total: int) -> None, optional
        Called while decoding (about 100 times).
    workers : int, optional
        Decoding threads (default: the number of cores).

    Returns
    -------
    CorpusPart

    Raises
    ------
    CorpusError
        Missing or partial corpus.
    """
    root = corpus_root(root)
    files = corpus_files(root, part)
    manifest = (root / "manifest.csv").read_bytes()
    blob = f"{hashlib.sha256(manifest).hexdigest()}|{part}|{_VERSION}|{CORPUS_SIDE}"
    fp = hashlib.sha256(blob.encode()).hexdigest()
    names = tuple(n for n, _ in files)
    sources = tuple(s for _, s in files)
    path = _cache_folder() / f"{part}-{fp[:16]}.npy"
    if path.is_file():
        try:
            images = np.load(path, mmap_mode="r")
            if images.shape == (len(files), CORPUS_SIDE, CORPUS_SIDE, 3):
                return CorpusPart(images, names, sources, part, fp)
        except (OSError, ValueError):
            pass  # an unreadable cache file is decoded again below
    images = np.empty((len(files), CORPUS_SIDE, CORPUS_SIDE, 3), np.uint8)
    folder = root / part
    every = max(1, len(files) // 100)

    def work(i):
        try:
            images[i] = _decode(folder / files[i][0], CORPUS_SIDE)
        except ImageError as exc:
            raise CorpusError(f"cannot read corpus photo {folder / files[i][0]}: {exc}") from exc

    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        for k, _ in enumerate(pool.map(work, range(len(files)))):
            if progress is not None and (k % every == 0 or k == len(files) - 1):
                progress(k + 1, len(files))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, images)
    os.replace(tmp, path)
    return CorpusPart(np.load(path, mmap_mode="r"), names, sources, part, fp)
