"""Shared helpers for the dashboard tests: the app path and generated bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
TIMEOUT = 120  # seconds per AppTest run (>= 30; CI has two shared cores)


def png_bytes(arr: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", **save)
    return buf.getvalue()


def photo(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A small synthetic colour photo: smooth gradients plus a little noise, (h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w) + 64], axis=-1)
    img = img + rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _encode(im: Image.Image, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def bad_files() -> dict[str, tuple[str, bytes, str]]:
    """Files that must give st.error: name -> (filename, content, mime)."""
    good = png_bytes(photo())
    bomb = _encode(Image.new("1", (8000, 8000)), "PNG")  # 64 megapixels in a few kB: over the 50 MP limit
    return {
        "not an image": ("notes.png", b"this is plain text, not a picture\n" * 20, "image/png"),
        "truncated": ("cut.png", good[: len(good) // 2], "image/png"),
        "0 bytes": ("empty.png", b"", "image/png"),
        "1x1 pixel": ("dot.png", png_bytes(np.zeros((1, 1, 3), np.uint8)), "image/png"),
        "decompression bomb": ("bomb.png", bomb, "image/png"),
    }


def odd_files() -> dict[str, tuple[str, bytes, str]]:
    """Unusual but valid files the loader converts: they must give results, not errors."""
    rgb = photo()
    cmyk = _encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=90)
    sixteen = _encode(Image.fromarray(rgb[..., 0].astype(np.uint16) * 257), "PNG")  # 16-bit gray
    frames = [Image.fromarray(np.roll(rgb, 10 * i, axis=1)) for i in range(3)]
    gif_buf = io.BytesIO()
    frames[0].save(gif_buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    return {
        "CMYK": ("cmyk.jpg", cmyk, "image/jpeg"),
        "16-bit": ("deep.png", sixteen, "image/png"),
        "animated GIF": ("anim.gif", gif_buf.getvalue(), "image/gif"),
        "RGBA": ("alpha.png", png_bytes(rgba), "image/png"),
    }
