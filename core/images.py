"""Loading and validating photos.

Every photo that enters the lab goes through :func:`load_image` (paths, bytes,
uploads, built-in sample names) or :func:`check_image` (arrays). Both return
RGB ``uint8`` arrays of shape ``(H, W, 3)`` or raise :class:`ImageError`, whose
message says what was received and what is accepted.
"""

from __future__ import annotations

import io
import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageError",
    "SAMPLES",
    "DEFAULT_MAX_PIXELS",
    "MIN_SIDE",
    "load_image",
    "load_sample",
    "read_bytes",
    "check_image",
    "fit_within",
    "resize",
    "to_png_bytes",
]

#: Largest image accepted, in pixels (about 50 megapixels). Larger files are
#: refused before they are decoded, which protects against decompression bombs.
DEFAULT_MAX_PIXELS = 50_000_000

#: Smallest side accepted, in pixels: a 3x3 window and a two-way split need room.
MIN_SIDE = 16

#: Built-in sample names: coffee, chelsea, astronaut and rocket come from
#: ``skimage.data``, china and flower from scikit-learn. All ship inside wheels.
SAMPLES = ("coffee", "chelsea", "astronaut", "rocket", "china", "flower")

ACCEPTED = "an image file (JPEG, PNG, WebP, BMP, TIFF, GIF) or one of the samples " + ", ".join(SAMPLES)


class ImageError(ValueError):
    """A photo could not be used. The message says what was received and why."""


def _describe(source) -> str:
    """Short human description of what was received, for error messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return f"{len(data)} bytes" + (f" starting {data[:8]!r}" if data else "")
    if isinstance(source, (str, os.PathLike)):
        return f"'{source}'"
    if isinstance(source, np.ndarray):
        return f"a {source.dtype} array of shape {source.shape}"
    name = getattr(source, "name", None)
    return f"{type(source).__name__}" + (f" '{name}'" if name else "")


@cache
def _sample_array(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        # The JPEG ships inside scikit-learn; reading it with Pillow gives the same
        # pixels as sklearn.datasets.load_sample_image without importing
        # scikit-learn (about 2 s on first use).
        from importlib.util import find_spec

        spec = find_spec("sklearn")
        if spec is None or not spec.submodule_search_locations:
            raise ImageError(f"sample '{name}' needs scikit-learn, which is not installed")
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "images" / f"{name}.jpg"
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
    else:
        from skimage import data

        arr = getattr(data, name)()
    arr = check_image(np.asarray(arr), name=f"sample '{name}'")
    arr.setflags(write=False)
    return arr


def load_sample(name: str) -> np.ndarray:
    """Return a built-in sample photo.

    Parameters
    ----------
    name : str
        One of :data:`SAMPLES`.

    Returns
    -------
    rgb : (H, W, 3) uint8
        A fresh, writable copy of the sample.
    """
    if name not in SAMPLES:
        raise ImageError(f"unknown sample '{name}'; the samples are: {', '.join(SAMPLES)}")
    return _sample_array(name).copy()


def _to_rgb_array(im: Image.Image) -> np.ndarray:
    """Convert any PIL mode to (H, W, 3) uint8, compositing alpha on white."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float64)  # (H, W), 16- or 32-bit integers
        top = 65535.0 if arr.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        arr = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(im).astype(np.float64)
        if arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode in ("RGB;16", "RGB;16B"):
        im = im.convert("RGB")
    return np.asarray(im.convert("RGB"))


def read_bytes(source) -> bytes | None:
    """The raw file bytes behind a source, or None when it has none.

    Parameters
    ----------
    source : path, bytes or binary file-like (read from its start)

    Returns
    -------
    bytes, or None for arrays, sample names and anything else
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        return source.read()
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        return Path(source).read_bytes()
    return None


def load_image(
    source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> np.ndarray:
    """Load a photo into RGB.

    Parameters
    ----------
    source : str, path, bytes, file-like or ndarray
        A file path, the raw bytes of an image file, an open binary file
        (an upload), an array, or a built-in sample name (see :data:`SAMPLES`).
    max_pixels : int
        Refuse images with more pixels than this (checked before decoding).
    min_side : int
        Refuse images whose shorter side is below this.

    Returns
    -------
    rgb : (H, W, 3) uint8, values in [0, 255]
        Grayscale is repeated over the channels, alpha is composited on white,
        palette, 16-bit and CMYK images are converted, EXIF orientation is
        applied and only the first frame of an animation is used.

    Raises
    ------
    ImageError
        With a message naming what was received and what is accepted.
    """
    if isinstance(source, np.ndarray):
        return check_image(source, min_side=min_side, max_pixels=max_pixels)
    if isinstance(source, str) and source in SAMPLES and not Path(source).exists():
        return load_sample(source)

    what = _describe(source)
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        hint = f" or a sample name ({', '.join(SAMPLES)})" if isinstance(source, str) else ""
        raise ImageError(f"no such file: {what}; expected a path to an image file{hint}")
    data = read_bytes(source)
    if data is None:
        raise ImageError(f"cannot load {what}; expected {ACCEPTED}")
    if isinstance(source, (str, os.PathLike)):
        what = f"file '{Path(source).name}' ({len(data)} bytes)"
    elif hasattr(source, "read"):
        what = f"{what} ({len(data)} bytes)"

    if not data:
        raise ImageError(f"received an empty file ({what}); expected {ACCEPTED}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageError(f"{what} is too large to open safely ({exc})") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise ImageError(
                f"{what} is not an image we can read ({type(exc).__name__}); expected {ACCEPTED}"
            ) from None
        w, h = im.size
        if w * h > max_pixels:
            raise ImageError(
                f"{what} is {w}x{h} = {w * h / 1e6:.1f} megapixels, over the limit of "
                f"{max_pixels / 1e6:.0f} megapixels (a possible decompression bomb); scale it down first"
            )
        try:
            im.seek(0)  # first frame of an animation
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb_array(im)
        except Image.DecompressionBombError as exc:
            raise ImageError(f"{what} is too large to open safely ({exc})") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageError(f"{what} is a damaged or truncated {im.format or 'image'} file ({exc})") from None
    return check_image(rgb, name=what, min_side=min_side, max_pixels=max_pixels)


def check_image(
    image,
    *,
    name: str = "image",
    min_side: int = MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Validate an array and return it as RGB uint8.

    This is the one boundary check of the library: every model entry point calls
    it, so a bad array fails early with a message that says what it received.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` or ``(H, W, 1)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
        ``uint8`` in [0, 255] or float in [0, 1].
    name : str
        What to call the image in error messages.
    min_side, max_pixels : int
        Size limits, as in :func:`load_image`.

    Returns
    -------
    rgb : (H, W, 3) uint8
    """
    arr = np.asarray(image)
    got = f"{name}: got {_describe(arr)}"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"{got}; expected (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA")
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ImageError(f"{got}; expected uint8 values in [0, 255] or floats in [0, 1]")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ImageError(f"{got} containing NaN or infinity")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ImageError(
                f"{got} with values in [{arr.min():.3g}, {arr.max():.3g}]; float images must lie in [0, 1]"
            )
        arr = np.rint(arr * 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ImageError(f"{got} with values in [{arr.min()}, {arr.max()}]; integer images must lie in [0, 255]")
        arr = arr.astype(np.uint8)
    h, w = arr.shape[:2]
    if min(h, w) < min_side:
        raise ImageError(f"{got}: {w}x{h} pixels is too small; the shorter side must be at least {min_side} pixels")
    if h * w > max_pixels:
        raise ImageError(f"{got}: {w}x{h} is over the limit of {max_pixels / 1e6:.0f} megapixels")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        arr = np.rint(arr[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize with antialiasing.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
    size : (height, width)

    Returns
    -------
    (height, width, 3) uint8
    """
    h, w = size
    if rgb.shape[:2] == (h, w):
        return rgb.copy()
    return np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))


def fit_within(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """Scale an image down so that its longer side is at most ``max_side``.

    Images already small enough, or ``max_side=None``, are returned unchanged
    (same object). The aspect ratio is kept.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
    max_side : int or None

    Returns
    -------
    (h, w, 3) uint8 with ``max(h, w) <= max_side``
    """
    h, w = rgb.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return rgb
    scale = max_side / max(h, w)
    return resize(rgb, (max(1, round(h * scale)), max(1, round(w * scale))))


def to_png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an RGB uint8 image as PNG bytes (for downloads)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
