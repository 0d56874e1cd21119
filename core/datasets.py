"""Datasets: where photos live, and scenario datasets for the CNN.

The data root holds ``scenes/<scenario>/*.jpg|png`` and ``single/*.png``. It is
given by ``--data`` on the command line or the ``COLORLAB_DATA`` environment
variable (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "data_root", "single_image_path"]

#: Environment variable naming the data root.
DATA_ENV = "COLORLAB_DATA"


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
