"""Loading stimulus images exactly and safely.

Every image becomes an 8-bit RGB :class:`PIL.Image.Image` the way a participant saw it:

* transparency (RGBA, LA, palette images with a transparent index, grayscale or RGB
  images with a transparent colour) is composited on a
  **white** page (the Peterson et al. stimuli are RGBA with transparent backgrounds and
  were shown on white);
* palette, grayscale, 16-bit, float and CMYK images are converted to RGB;
* the EXIF orientation tag is applied;
* a corrupt or truncated file raises :class:`~repalign.InputError` naming the file
  (truncated images are never silently padded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import InputError
from .._validation import optional_import

__all__ = ["IMAGE_SUFFIXES", "load_image", "list_images", "to_rgb"]

#: File suffixes treated as images (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

_WHITE = (255, 255, 255)


def _pil() -> Any:
    return optional_import("PIL.Image", extra="io", purpose="Loading images")


def to_rgb(image: Any, *, background: tuple[int, int, int] = _WHITE) -> Any:
    """Convert a PIL image of any mode to RGB, compositing transparency on ``background``.

    Examples
    --------
    >>> from PIL import Image
    >>> rgba = Image.new("RGBA", (2, 2), (255, 0, 0, 0))  # fully transparent red
    >>> to_rgb(rgba).getpixel((0, 0))
    (255, 255, 255)
    """
    Image = _pil()
    mode = image.mode
    if mode in ("L", "RGB") and "transparency" in image.info:
        # Grayscale/RGB PNGs can mark one colour transparent (a tRNS chunk) instead of an alpha channel.
        image = image.convert("RGBA")
        mode = image.mode
    if mode == "P":
        # A palette image may mark one index transparent; keep that as alpha.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    elif mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit/float grayscale: scale to 8 bits instead of clipping.
        import numpy as np

        arr = np.asarray(image, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or (mode == "I" and arr.max() > 255) else 255.0
        if mode == "F":
            hi = 1.0 if arr.max() <= 1.0 else 255.0
        image = Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
        mode = "L"
    if mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        rgba = image.convert("RGBA")
        page = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(page, rgba).convert("RGB")
    if mode == "RGB":
        return image
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def load_image(path: str | os.PathLike[str], *, background: tuple[int, int, int] = _WHITE) -> Any:
    """Read one image file as RGB (see the module docstring for the rules).

    Raises
    ------
    InputError
        If the file is missing, not an image, corrupt or truncated; the message names it.
    """
    Image = _pil()
    from PIL import ImageFile, ImageOps, UnidentifiedImageError

    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global another library may have switched on
        raise InputError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process, which would silently "
            "pad truncated stimuli with grey; set it back to False."
        )
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: image file not found.")
    try:
        with Image.open(p) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            return to_rgb(im, background=background)
    except UnidentifiedImageError as exc:
        raise InputError(f"{p}: not a readable image file ({exc}).") from exc
    except Image.DecompressionBombError as exc:
        raise InputError(f"{p}: refused as a decompression bomb ({exc}).") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{p}: corrupt or truncated image ({exc}).") from exc


def list_images(folder: str | os.PathLike[str], *, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; hidden files are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of images.")
    wanted = tuple(s.lower() for s in suffixes)
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in wanted)
