"""Datasets: where photos live, and scenario datasets for the CNN.

The data root holds ``scenes/<scenario>/*.jpg|png`` and ``single/*.png``. It is
given by ``--data`` on the command line or the ``COLORLAB_DATA`` environment
variable (CI sets it to ``../shared/data``).

A :class:`PhotoDataset` is a list of RGB photos with the report's
deterministic 7:3 train/test split and a *fingerprint* (a hash of the photos'
bytes and of the preprocessing) that identifies it for caching. Build one with

* :func:`load_scenario` -- one scenario (``beach``, ``sunset``, ``forest``) or
  ``"scenes"`` (all of them; each scenario is split on its own, so the union of
  the test parts is exactly the union of the per-scenario test parts);
* :func:`load_folder` -- every ``*.jpg|png`` of a folder (``--images DIR``);
* :func:`from_images` -- a list of uploads (bytes, file-likes, arrays, paths),
  which is how the dashboard lets a class train on its own pictures.

:meth:`PhotoDataset.arrays` gives CIELAB arrays ready for Keras:
``L`` as ``(N, h, w, 1) float32`` in [0, 100] and ``ab`` as ``(N, h, w, 2)
float32`` (a, b units). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .color import rgb2gray, rgb2lab
from .images import ImageError, fit_within, load_image, read_bytes, resize

__all__ = [
    "DATA_ENV",
    "IMAGE_SUFFIXES",
    "ALL_SCENES",
    "TRAIN_RATIO",
    "MAX_SIDE",
    "data_root",
    "single_image_path",
    "list_scenarios",
    "split_indices",
    "PhotoDataset",
    "load_scenario",
    "load_folder",
    "from_images",
    "lab_arrays",
]

#: Environment variable naming the data root.
DATA_ENV = "COLORLAB_DATA"

#: File suffixes read from scenario folders (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

#: Name of the dataset made of every scenario under ``scenes/``.
ALL_SCENES = "scenes"

#: The report's train share (7:3).
TRAIN_RATIO = 0.7

#: Photos are scaled down so that their longer side is at most this (uploads can be huge).
MAX_SIDE = 512

#: Version of the preprocessing; part of every fingerprint.
_PREPROCESS_VERSION = "v1"


def data_root(path: str | os.PathLike | None = None, *, required: bool = True) -> Path | None:
    """Resolve the data root.

    Parameters
    ----------
    path : str or path, optional
        An explicit folder (``--data``); else ``$COLORLAB_DATA``.
    required : bool
        Raise when no folder is configured or it does not exist; else return None.

    Returns
    -------
    Path or None
    """
    chosen = path if path is not None else os.environ.get(DATA_ENV)
    if not chosen:
        if required:
            raise FileNotFoundError(f"no data folder: pass --data DIR or set {DATA_ENV}")
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        if required:
            raise FileNotFoundError(f"data folder {str(root)!r} does not exist (from --data or {DATA_ENV})")
        return None
    return root


def single_image_path(name: str, root: str | os.PathLike | None = None) -> Path:
    """Path of ``single/<name>.png`` (or .jpg) under the data root."""
    base = data_root(root) / "single"
    for ext in (".png", ".jpg", ".jpeg"):
        p = base / f"{name}{ext}"
        if p.is_file():
            return p
    raise FileNotFoundError(f"no single photo named {name!r} in {str(base)!r}")


# --------------------------------------------------------------------------- helpers


def _image_files(folder: Path) -> list[Path]:
    """Sorted image files of a folder (not recursive)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def list_scenarios(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the scenario folders under ``<root>/scenes`` that hold at least one photo.

    Parameters
    ----------
    root : str or path, optional
        The data root; else ``$COLORLAB_DATA``.

    Returns
    -------
    list of str, sorted
    """
    scenes = data_root(root) / "scenes"
    if not scenes.is_dir():
        raise FileNotFoundError(f"no scenes/ folder in {str(scenes.parent)!r}")
    return sorted(p.name for p in scenes.iterdir() if p.is_dir() and _image_files(p))


def split_indices(n: int, seed: int = 0, train_ratio: float = TRAIN_RATIO) -> tuple[np.ndarray, np.ndarray]:
    """The report's deterministic train/test split of ``n`` photos.

    The photos (in sorted file order) are shuffled by ``numpy.random.default_rng(seed)``;
    the first ``round(train_ratio * n)`` go to training (at least one of each
    part when ``n >= 2`` and ``0 < train_ratio < 1``).

    Parameters
    ----------
    n : int
    seed : int
    train_ratio : float in [0, 1]; 0 puts everything in the test part, 1 in the training part.

    Returns
    -------
    train, test : 1-D int arrays of indices, each sorted, disjoint, together ``0..n-1``
    """
    if not 0.0 <= train_ratio <= 1.0:
        raise ValueError(f"train_ratio must lie in [0, 1], got {train_ratio}")
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(train_ratio * n))
    if n >= 2 and 0.0 < train_ratio < 1.0:
        k = min(max(k, 1), n - 1)
    return np.sort(perm[:k]), np.sort(perm[k:])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lab_arrays(images: Sequence[np.ndarray], size: int | tuple[int, int] = 64) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB arrays of photos resized to one size, ready for Keras.

    Parameters
    ----------
    images : sequence of (H, W, 3) uint8
    size : int or (height, width)
        Every photo is resized (aspect not kept, as in the report) to this size.

    Returns
    -------
    L : (N, h, w, 1) float32 in [0, 100]
    ab : (N, h, w, 2) float32, CIELAB a/b units (roughly [-128, 127])
    """
    h, w = (size, size) if isinstance(size, int) else size
    if not images:
        return np.zeros((0, h, w, 1), np.float32), np.zeros((0, h, w, 2), np.float32)
    lab = np.stack([rgb2lab(resize(im, (h, w))) for im in images]).astype(np.float32)  # (N, h, w, 3)
    return lab[..., :1], lab[..., 1:]


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True, eq=False)
class PhotoDataset:
    """Photos with a deterministic train/test split and a fingerprint.

    Attributes
    ----------
    name : str
        ``"beach"``, ``"scenes"``, a folder name, or ``"uploads"``.
    images : tuple of (H, W, 3) uint8
        The photos (read-only), scaled down to at most :data:`MAX_SIDE` pixels.
    names : tuple of str
        One label per photo (``"beach/beach_001.jpg"``, an upload's file name...).
    train_idx, test_idx : tuple of int
        Indices into ``images``.
    seed : int
        The split's seed.
    fingerprint : str
        Hex SHA-256 of the photos' bytes, their names, the split and the
        preprocessing: equal fingerprints mean equal training data.
    groups : tuple of str
        The scenario of each photo (the dataset name when there is only one).
    """

    name: str
    images: tuple
    names: tuple
    train_idx: tuple
    test_idx: tuple
    seed: int
    fingerprint: str
    groups: tuple = field(default=())

    def __post_init__(self):
        if len(self.images) != len(self.names):
            raise ValueError("images and names differ in length")
        if not self.groups:
            object.__setattr__(self, "groups", (self.name,) * len(self.images))

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"PhotoDataset(name={self.name!r}, photos={len(self)}, train={len(self.train_idx)}, "
            f"test={len(self.test_idx)}, seed={self.seed}, fingerprint={self.fingerprint[:12]}...)"
        )

    def part(self, split: str) -> list[np.ndarray]:
        """The photos of one part: ``"train"``, ``"test"`` or ``"all"``; list of (H, W, 3) uint8."""
        return [self.images[i] for i in self._indices(split)]

    def part_names(self, split: str) -> list[str]:
        """The names of one part's photos, in the order of :meth:`part`."""
        return [self.names[i] for i in self._indices(split)]

    def _indices(self, split: str) -> tuple:
        if split == "train":
            return self.train_idx
        if split == "test":
            return self.test_idx
        if split == "all":
            return tuple(range(len(self.images)))
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")

    def arrays(self, split: str = "train", size: int | tuple[int, int] = 64) -> tuple[np.ndarray, np.ndarray]:
        """CIELAB arrays of one part at a working size (cached).

        Parameters
        ----------
        split : {"train", "test", "all"}
        size : int or (height, width), default 64 (the report's 64 x 64)

        Returns
        -------
        L : (N, h, w, 1) float32 in [0, 100]
        ab : (N, h, w, 2) float32, a/b units
        """
        size = (size, size) if isinstance(size, int) else tuple(size)
        return _cached_arrays(self, split, size)

    def gray_ab(self, split: str = "train", size: int | tuple[int, int] = 64) -> tuple[np.ndarray, np.ndarray]:
        """Gray values and a/b of one part at a working size, for fitting baselines.

        Returns
        -------
        gray : (N, h, w) uint8, :func:`core.color.rgb2gray` of the resized photos
        ab : (N, h, w, 2) float32
        """
        h, w = (size, size) if isinstance(size, int) else size
        imgs = [resize(im, (h, w)) for im in self.part(split)]
        gray = np.stack([rgb2gray(im) for im in imgs]) if imgs else np.zeros((0, h, w), np.uint8)
        return gray, self.arrays(split, (h, w))[1]

    def subset(self, group: str) -> PhotoDataset:
        """The photos of one group (a scenario of ``"scenes"``), with their part of the split.

        Parameters
        ----------
        group : str
            One of :attr:`groups`.

        Returns
        -------
        PhotoDataset
            Named ``group``; its fingerprint is derived from this one's and the group.
        """
        if group not in self.groups:
            known = ", ".join(dict.fromkeys(self.groups))
            raise ValueError(f"dataset {self.name!r} has no group {group!r}; its groups: {known}")
        keep = [i for i, g in enumerate(self.groups) if g == group]
        new = {old: k for k, old in enumerate(keep)}
        return PhotoDataset(
            name=group,
            images=tuple(self.images[i] for i in keep),
            names=tuple(self.names[i] for i in keep),
            train_idx=tuple(new[i] for i in self.train_idx if i in new),
            test_idx=tuple(new[i] for i in self.test_idx if i in new),
            seed=self.seed,
            fingerprint=hashlib.sha256(f"{self.fingerprint}|group={group}".encode()).hexdigest(),
            groups=(group,) * len(keep),
        )

    def describe(self) -> dict:
        """A JSON-ready summary (name, counts, seed, fingerprint, file names of each part)."""
        return {
            "name": self.name,
            "photos": len(self),
            "train": len(self.train_idx),
            "test": len(self.test_idx),
            "seed": self.seed,
            "fingerprint": self.fingerprint,
            "train_files": self.part_names("train"),
            "test_files": self.part_names("test"),
        }


@lru_cache(maxsize=32)
def _cached_arrays(ds: PhotoDataset, split: str, size: tuple[int, int]):
    L, ab = lab_arrays(ds.part(split), size)
    L.setflags(write=False)
    ab.setflags(write=False)
    return L, ab


def _build(name, items, seed, train_ratio, groups=None, max_side=MAX_SIDE) -> PhotoDataset:
    """items: list of (label, raw bytes or None, rgb array). Splits per group when groups are given."""
    if not items:
        raise ImageError(f"dataset {name!r} has no photos; expected at least one .jpg or .png")
    labels = [lab for lab, _, _ in items]
    images = []
    h = hashlib.sha256()
    h.update(f"{_PREPROCESS_VERSION}|ratio={train_ratio}|seed={seed}|max_side={max_side}".encode())
    for label, raw, rgb in items:
        rgb = fit_within(rgb, max_side)
        rgb = np.ascontiguousarray(rgb)
        rgb.setflags(write=False)
        images.append(rgb)
        digest = _sha(raw) if raw is not None else _sha(np.ascontiguousarray(rgb).tobytes() + repr(rgb.shape).encode())
        h.update(f"|{label}:{digest}".encode())
    groups = tuple(groups) if groups is not None else (name,) * len(items)
    train, test = [], []
    for g in dict.fromkeys(groups):  # each group split on its own, in first-seen order
        idx = np.array([i for i, gi in enumerate(groups) if gi == g])
        tr, te = split_indices(len(idx), seed, train_ratio)
        train.extend(idx[tr].tolist())
        test.extend(idx[te].tolist())
    return PhotoDataset(
        name=name,
        images=tuple(images),
        names=tuple(labels),
        train_idx=tuple(sorted(train)),
        test_idx=tuple(sorted(test)),
        seed=int(seed),
        fingerprint=h.hexdigest(),
        groups=groups,
    )


def _read_folder(folder: Path, prefix: str) -> list:
    items = []
    for p in _image_files(folder):
        raw = p.read_bytes()
        items.append((f"{prefix}{p.name}", raw, load_image(raw)))
    return items


@lru_cache(maxsize=16)
def _load_scenario_cached(name: str, root: str, seed: int, train_ratio: float) -> PhotoDataset:
    scenes = Path(root) / "scenes"
    if name == ALL_SCENES:
        items, groups = [], []
        for sc in list_scenarios(root):
            got = _read_folder(scenes / sc, f"{sc}/")
            items += got
            groups += [sc] * len(got)
        return _build(ALL_SCENES, items, seed, train_ratio, groups)
    folder = scenes / name
    if not folder.is_dir():
        known = ", ".join(list_scenarios(root) + [ALL_SCENES])
        raise FileNotFoundError(f"no scenario {name!r} in {str(scenes)!r}; known: {known}")
    return _build(name, _read_folder(folder, f"{name}/"), seed, train_ratio)


def load_scenario(
    name: str, root: str | os.PathLike | None = None, *, seed: int = 0, train_ratio: float = TRAIN_RATIO
) -> PhotoDataset:
    """Load a scenario dataset from ``<root>/scenes/<name>/*.jpg|png``.

    Parameters
    ----------
    name : str
        A scenario folder (``"beach"``, ``"sunset"``, ``"forest"``), or ``"scenes"``
        for all of them (each scenario split on its own).
    root : str or path, optional
        The data root (``--data``); else ``$COLORLAB_DATA``.
    seed : int
        Seed of the 7:3 split (the report's experiment uses 0).
    train_ratio : float

    Returns
    -------
    PhotoDataset
        Cached per (name, root, seed, ratio): loading twice returns the same object.
    """
    root = data_root(root)
    return _load_scenario_cached(str(name), str(root.resolve()), int(seed), float(train_ratio))


def load_folder(
    folder: str | os.PathLike, *, seed: int = 0, train_ratio: float = TRAIN_RATIO, name: str | None = None
) -> PhotoDataset:
    """Every ``*.jpg|jpeg|png`` of one folder as a dataset (``--images DIR``).

    Parameters
    ----------
    folder : str or path
    seed : int
    train_ratio : float
        0 puts every photo in the test part (what ``cnn eval --images`` uses).
    name : str, optional
        Defaults to the folder's name.

    Returns
    -------
    PhotoDataset
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {str(folder)!r}")
    items = _read_folder(folder, "")
    if not items:
        raise ImageError(f"no .jpg or .png photos in {str(folder)!r}")
    return _build(name or folder.name, items, seed, train_ratio)


def from_images(
    images: Sequence,
    names: Sequence[str] | None = None,
    *,
    seed: int = 0,
    train_ratio: float = TRAIN_RATIO,
    name: str = "uploads",
) -> PhotoDataset:
    """A dataset from uploaded photos (what the dashboard's "train on your photos" uses).

    Parameters
    ----------
    images : sequence of bytes, file-like (e.g. Streamlit ``UploadedFile``), path or (H, W, 3) uint8 array
        Each goes through :func:`core.images.load_image`, so a bad file raises
        :class:`core.images.ImageError` naming it.
    names : sequence of str, optional
        One label per photo (default: the upload's ``.name`` or ``photo_<i>``).
    seed, train_ratio
        As in :func:`load_scenario`.
    name : str

    Returns
    -------
    PhotoDataset
    """
    items = []
    for i, src in enumerate(images):
        label = names[i] if names is not None else str(getattr(src, "name", None) or f"photo_{i:03d}")
        raw = read_bytes(src)  # None for arrays: they are fingerprinted by their pixels
        try:
            rgb = load_image(raw if raw is not None else src)
        except ImageError as exc:
            raise ImageError(f"photo {label!r}: {exc}") from None
        items.append((label, raw, rgb))
    return _build(name, items, seed, train_ratio)
