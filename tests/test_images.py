"""Every odd input the loader accepts and every bad one it refuses."""

import io

import numpy as np
import pytest
from PIL import Image

from core.images import SAMPLES, ImageError, check_image, fit_within, load_image, load_sample, to_png_bytes


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def rgb_image(w=40, h=30):
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_load_offline(name):
    rgb = load_image(name)
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    assert min(rgb.shape[:2]) >= 100
    assert load_sample("coffee").flags.writeable


def test_coffee_is_400_by_600():
    assert load_image("coffee").shape == (400, 600, 3)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF"])
def test_formats(fmt):
    im = rgb_image()
    out = load_image(encode(im, fmt))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    if fmt in ("PNG", "BMP", "TIFF"):
        np.testing.assert_array_equal(out, np.asarray(im))


def test_grayscale_is_repeated():
    gray = Image.fromarray(np.arange(30 * 40, dtype=np.uint32).reshape(30, 40).astype(np.uint8), "L")
    out = load_image(encode(gray, "PNG"))
    assert out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out[..., 0], np.asarray(gray))
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_rgba_composited_on_white():
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., 0] = 255  # red
    arr[:10, :, 3] = 0  # top half fully transparent
    arr[10:, :, 3] = 255
    out = load_image(encode(Image.fromarray(arr, "RGBA"), "PNG"))
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[15, 0], [255, 0, 0])


def test_palette_with_transparency():
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    im.info["transparency"] = 0
    out = load_image(encode(im, "PNG", transparency=0))
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])


def test_16_bit_scaled_to_8_bit():
    arr = np.zeros((20, 20), np.uint16)
    arr[:, :10] = 65535
    arr[:, 10:] = 32896  # 128 * 257
    out = load_image(encode(Image.fromarray(arr), "PNG"))
    assert out[0, 0, 0] == 255 and out[0, 15, 0] == 128


def test_cmyk_jpeg():
    im = Image.new("CMYK", (20, 20), (0, 255, 255, 0))  # pure cyan ink off, magenta+yellow -> red
    out = load_image(encode(im, "JPEG"))
    assert out.shape == (20, 20, 3)
    assert out[10, 10, 0] > 200 and out[10, 10, 1] < 60


def test_exif_orientation_is_honoured():
    im = rgb_image(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    out = load_image(encode(im, "JPEG", exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = load_image(data)
    assert out[5, 5, 0] > 200 and out[5, 5, 2] < 50


def test_paths_and_file_objects(tmp_path):
    p = tmp_path / "photo.png"
    p.write_bytes(encode(rgb_image(), "PNG"))
    a = load_image(p)
    b = load_image(str(p))
    with open(p, "rb") as f:
        c = load_image(f)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    "data, pattern",
    [
        (b"", "empty"),
        (b"hello, this is a text file\n" * 10, "not an image"),
        (b"%PDF-1.4 fake", "not an image"),
    ],
)
def test_refused_bytes(data, pattern):
    with pytest.raises(ImageError, match=pattern) as err:
        load_image(data)
    assert "bytes" in str(err.value)  # says what it received


def test_truncated_file():
    data = encode(rgb_image(200, 200), "PNG")
    with pytest.raises(ImageError, match="damaged or truncated|not an image"):
        load_image(data[: len(data) // 2])


def test_truncated_jpeg():
    data = encode(rgb_image(200, 200), "JPEG")
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 3])


def test_decompression_bomb_refused_before_decoding():
    bomb = encode(Image.new("1", (9000, 9000)), "PNG")  # 81 megapixels in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="megapixels"):
        load_image(bomb)
    with pytest.raises(ImageError, match="megapixels"):
        load_image(encode(rgb_image(100, 100), "PNG"), max_pixels=5000)


def test_too_small():
    with pytest.raises(ImageError, match="too small") as err:
        load_image(encode(Image.new("RGB", (1, 1)), "PNG"))
    assert "1x1" in str(err.value)


def test_missing_path_and_unknown_sample(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="samples"):
        load_sample("teapot")


def test_check_image_normalises_arrays():
    gray = np.full((20, 20), 7, np.uint8)
    assert check_image(gray).shape == (20, 20, 3)
    np.testing.assert_array_equal(check_image(np.ones((20, 20, 3)))[0, 0], [255, 255, 255])
    rgba = np.zeros((20, 20, 4), np.uint8)
    np.testing.assert_array_equal(check_image(rgba)[0, 0], [255, 255, 255])


@pytest.mark.parametrize(
    "arr, pattern",
    [
        (np.zeros((20, 20, 2), np.uint8), r"shape \(20, 20, 2\)"),
        (np.zeros(20, np.uint8), r"shape \(20,\)"),
        (np.full((20, 20, 3), 2.0), r"values in \[2, 2\]"),
        (np.full((20, 20, 3), np.nan), "NaN"),
        (np.full((20, 20, 3), 300, np.int32), "int32"),
        (np.zeros((20, 20, 3), bool), "bool"),
    ],
)
def test_check_image_says_what_it_got(arr, pattern):
    with pytest.raises(ImageError, match=pattern):
        check_image(arr)


def test_fit_within_and_png():
    rgb = load_image("coffee")
    small = fit_within(rgb, 150)
    assert small.shape == (100, 150, 3)
    assert fit_within(rgb, None) is rgb
    np.testing.assert_array_equal(load_image(to_png_bytes(small)), small)


@pytest.mark.parametrize("name", ["china", "flower"])
def test_sklearn_samples_match_sklearn(name):
    from sklearn.datasets import load_sample_image

    np.testing.assert_array_equal(load_image(name), load_sample_image(f"{name}.jpg"))
