"""Exact image loading: every quirk on images the tests make."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFile

from repalign import InputError
from repalign.data.images import list_images, load_image, to_rgb


def pixels(img) -> np.ndarray:
    assert img.mode == "RGB"
    return np.asarray(img)


def test_rgba_is_composited_on_white_exactly(tmp_path):
    arr = np.zeros((2, 3, 4), dtype=np.uint8)
    arr[0, 0] = (255, 0, 0, 0)  # fully transparent red -> white
    arr[0, 1] = (255, 0, 0, 255)  # opaque red -> red
    arr[0, 2] = (0, 0, 0, 128)  # half-transparent black -> ~ mid grey
    arr[1, :] = (10, 20, 30, 255)
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    out = pixels(load_image(tmp_path / "a.png"))
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 1]) == (255, 0, 0)
    # alpha compositing: 255 * (1 - 128/255) = 127 (Pillow rounds to 127)
    assert all(abs(int(v) - 127) <= 1 for v in out[0, 2])
    assert tuple(out[1, 0]) == (10, 20, 30)


def test_background_colour_can_be_chosen(tmp_path):
    Image.new("RGBA", (2, 2), (255, 0, 0, 0)).save(tmp_path / "t.png")
    assert tuple(pixels(load_image(tmp_path / "t.png", background=(0, 0, 0)))[0, 0]) == (0, 0, 0)


def test_palette_with_transparent_index(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "p.png", transparency=0)
    out = pixels(load_image(tmp_path / "p.png"))
    assert tuple(out[0, 0]) == (255, 255, 255)  # the transparent index (black) shows the white page
    assert tuple(out[0, 1]) == (0, 255, 0)


def test_palette_gif_without_transparency(tmp_path):
    Image.new("RGB", (3, 3), (0, 0, 255)).convert("P").save(tmp_path / "p.gif")
    assert tuple(pixels(load_image(tmp_path / "p.gif"))[1, 1]) == (0, 0, 255)


def test_grayscale_and_grayscale_with_alpha_and_trns(tmp_path):
    Image.new("L", (2, 2), 77).save(tmp_path / "l.png")
    assert tuple(pixels(load_image(tmp_path / "l.png"))[0, 0]) == (77, 77, 77)
    Image.new("LA", (2, 2), (77, 0)).save(tmp_path / "la.png")
    assert tuple(pixels(load_image(tmp_path / "la.png"))[0, 0]) == (255, 255, 255)
    l_trns = Image.new("L", (2, 1), 0)
    l_trns.putpixel((1, 0), 90)
    l_trns.save(tmp_path / "lt.png", transparency=0)
    out = pixels(load_image(tmp_path / "lt.png"))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[0, 1]) == (90, 90, 90)
    rgb_trns = Image.new("RGB", (1, 1), (1, 2, 3))
    rgb_trns.save(tmp_path / "rt.png", transparency=(1, 2, 3))
    assert tuple(pixels(load_image(tmp_path / "rt.png"))[0, 0]) == (255, 255, 255)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = pixels(load_image(tmp_path / "g16.png"))[0, :, 0]
    assert out.tolist() == [0, 128, 255]  # 32768 / 65535 * 255 = 127.5 -> 128


def test_float_image_is_scaled():
    img = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F")
    assert pixels(to_rgb(img))[0, :, 0].tolist() == [0, 128, 255]


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    r, g, b = pixels(load_image(tmp_path / "c.jpg"))[4, 4].astype(int)
    assert r > 240 and g < 15 and b < 15  # cyan 0, magenta and yellow full: red


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((16, 32, 3), dtype=np.uint8)  # 16 rows x 32 columns, top-left 8x8 block red
    arr[:8, :8] = (255, 0, 0)
    img = Image.fromarray(arr, "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=100, subsampling=0)
    out = pixels(load_image(tmp_path / "o.jpg"))
    assert out.shape == (32, 16, 3)  # width and height swapped
    r, g, b = out[3, 12].astype(int)  # the red corner moved to the top right
    assert r > 230 and g < 25 and b < 25
    assert out[3, 3].max() < 25  # and the top left is black
    plain = pixels(load_image(_save(img, tmp_path / "p.jpg")))
    assert plain.shape == (16, 32, 3)


def _save(img, path):
    img.save(path, quality=100)
    return path


def test_truncated_file_is_reported_by_name(tmp_path):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    img.save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.png: corrupt or truncated image"):
        load_image(tmp_path / "cut.png")
    img.save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.jpg: corrupt or truncated image"):
        load_image(tmp_path / "cut.jpg")


def test_corrupt_and_non_image_and_missing_files_are_named(tmp_path):
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "ok.png")
    data = bytearray((tmp_path / "ok.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start : start + 12] = b"\xff" * 12  # break the compressed pixel data
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad\.png: corrupt or truncated image"):
        load_image(tmp_path / "bad.png")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(InputError, match=r"text\.jpg: not a readable image file"):
        load_image(tmp_path / "text.jpg")
    with pytest.raises(InputError, match=r"nope\.png: image file not found"):
        load_image(tmp_path / "nope.png")


def test_global_truncated_flag_is_refused(tmp_path, monkeypatch):
    Image.new("RGB", (2, 2)).save(tmp_path / "ok.png")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(InputError, match="LOAD_TRUNCATED_IMAGES is True"):
        load_image(tmp_path / "ok.png")


def test_decompression_bomb_is_refused_by_name(tmp_path, monkeypatch):
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InputError, match=r"big\.png: refused as a decompression bomb"):
        load_image(tmp_path / "big.png")


def test_list_images_sorted_skips_hidden_and_other_files(tmp_path):
    for name in ("b.png", "a.JPG", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    with pytest.raises(InputError, match="not a folder of images"):
        list_images(tmp_path / "missing")
