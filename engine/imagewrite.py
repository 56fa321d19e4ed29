"""Write HWC pixels to an image file, keeping ICC and EXIF (engine.imageio's writer).

TIFF through tifffile (8/16-bit integer, 16/32-bit float), 16-bit PNG through
OpenCV, HEIF through pillow-heif, the rest through Pillow. Files are encoded in
memory and written through ``atomic_path``.

JPEG and BMP cannot keep alpha: it is composited over white on write.
WebP and AVIF have no grey mode here: grey is written as RGB. 16-bit grey + alpha
PNG is written as 16-bit RGBA, since OpenCV cannot encode it. Float is written
only to TIFF; elsewhere it is clipped to [0, 1] and stored as 16-bit PNG or 8 bits.
JPEG, WebP, HEIF and AVIF are written at ``quality`` (default 95; from 90 up with
full-resolution colour); WebP and HEIF at 100 are lossless, and a lossless WebP
source (its image chunk is 'VP8L') is written back lossless unless a quality is
given. Camera RAW is read-only.
"""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, features

from engine import imageextra
from engine.atomic import atomic_path
from engine.errors import ImageError
from engine.imagebase import (DEFAULT_QUALITY, FORMAT_BY_SUFFIX, ORIENTATION_TAG,
                              WRITABLE_SUFFIXES, ImageInfo, as_depth, as_hwc, icc_fits,
                              join_alpha, split_alpha, stored_depth, to_float)
from engine.imagetiff import encode_tiff

# zlib level for PNG: 3 encodes a 12 MP photo 2.5x faster than 6 (Pillow's default) for
# files ~15% larger (docs/benchmarks.md, "Where a 12 MP restore spends its time")
PNG_COMPRESSION = 3


def write_image(path, pixels: np.ndarray, info: ImageInfo | None = None, *,
                bit_depth: int | None = None, quality: int | None = None) -> None:
    """Write HWC pixels; format from the suffix, depth/ICC/EXIF from info.

    Pixels are float (in [0, 1], or any value for a float TIFF) or integers (uint8
    0-255, uint16 0-65535); integers of the depth written are stored as they are,
    others are rounded to it. ``bit_depth`` 32 writes a float TIFF; without it, a
    float ``info`` (``info.sample == "float"``) writes a float TIFF of its depth.

    ``quality`` (1-100) is for JPEG, WebP, HEIF and AVIF; None: DEFAULT_QUALITY, and
    lossless for a WebP when ``info`` says the source was a lossless WebP. WebP 100
    is lossless.
    """
    path = Path(path)
    name = path.name or str(path)
    if quality is not None and not 1 <= quality <= 100:
        raise ImageError(f"Cannot save '{name}': quality must be 1-100, not {quality}.")
    fmt = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt == "RAW":
        raise ImageError(f"Cannot save '{name}': camera RAW files ({path.suffix}) can only "
                         f"be read; save as .tif or .png instead.")
    if fmt is None:
        raise ImageError(f"Cannot save '{name}': unknown image type '{path.suffix}' "
                         f"(use one of {', '.join(sorted(WRITABLE_SUFFIXES))}).")
    depth = bit_depth or (info.bit_depth if info else 8)
    if depth not in (8, 16, 32):
        raise ImageError(f"Cannot save '{name}': bit depth must be 8, 16 or 32 (float), "
                         f"not {depth}.")
    as_float = fmt == "TIFF" and (depth == 32 or (bit_depth is None and info is not None
                                                  and info.sample == "float"))
    depth = depth if as_float else stored_depth(path, min(depth, 16))
    if quality is None:   # a lossless WebP stays lossless
        lossless = fmt == "WEBP" and info is not None and info.format == "WEBP" and info.lossless
        quality = 100 if lossless else DEFAULT_QUALITY
    colour, alpha = split_alpha(pixels)
    if alpha is not None and fmt in ("JPEG", "BMP"):
        colour = _over_white(colour, alpha)
        alpha = None
    if colour.shape[2] == 1 and (fmt in ("WEBP", "AVIF")
                                 or (fmt == "PNG" and depth == 16 and alpha is not None)):
        colour = np.repeat(colour, 3, axis=2)  # layouts we cannot write (see the top)
    icc = info.icc_profile if info else None
    icc = icc if icc_fits(icc, colour.shape[2]) else None
    exif = _exif_for_write(info.exif) if info and info.exif and fmt != "BMP" else None

    try:
        joined = join_alpha(colour, alpha)
        if as_float:
            data = encode_tiff(_as_float(joined, depth), icc, exif)
        else:
            data = _encode(as_depth(joined, depth), fmt, name, depth, icc, exif, quality)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(f"Not enough memory to save '{name}'.") from None
    except Exception as err:
        raise ImageError(f"Could not encode '{name}' as {fmt}: {err}") from err

    try:
        with atomic_path(path) as tmp:
            _write_bytes(tmp, data)
    except OSError as err:
        raise ImageError(f"Could not save '{name}': {err.strerror or err}") from err


def _encode(arr: np.ndarray, fmt: str, name: str, depth: int, icc, exif, quality) -> bytes:
    if fmt == "TIFF":
        return encode_tiff(arr, icc, exif)
    if depth == 16:
        return _encode_png16(arr, icc, exif)
    if fmt == "HEIF" or (fmt == "AVIF" and not features.check("avif")):
        return imageextra.encode_heif(arr, fmt, name, icc, exif, quality)
    return _encode_pillow(arr, fmt, icc, exif, quality)


def _write_bytes(tmp: Path, data: bytes) -> None:
    tmp.write_bytes(data)


def _as_float(pixels: np.ndarray, depth: int) -> np.ndarray:
    """HWC float32 (``depth`` 32) or float16 (16); integers scaled to [0, 1] first."""
    arr = to_float(as_hwc(pixels))
    return arr.astype(np.float32 if depth == 32 else np.float16, copy=False)


def _over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = np.clip(to_float(alpha), 0.0, 1.0)
    return to_float(colour) * a + (1.0 - a)


def _exif_for_write(exif: bytes | None) -> bytes | None:
    """Make sure a stale orientation cannot rotate the already upright pixels again."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        if parsed.get(ORIENTATION_TAG, 1) == 1:
            return exif
        parsed[ORIENTATION_TAG] = 1
        return parsed.tobytes()
    except Exception:  # unreadable EXIF is dropped rather than failing the save
        return None


def _encode_pillow(arr: np.ndarray, fmt: str, icc, exif, quality: int) -> bytes:
    im = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    quality = int(min(max(quality, 1), 100))
    options: dict = {}
    if icc:
        options["icc_profile"] = icc
    if exif:
        options["exif"] = exif
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESSION
    elif fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality >= 100, exact=quality >= 100)
    elif fmt == "AVIF":   # full-resolution colour from 90 up, as for JPEG
        options.update(quality=quality, subsampling="4:4:4" if quality >= 90 else "4:2:0")
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _encode_png16(arr: np.ndarray, icc, exif) -> bytes:
    exif = exif[6:] if exif and exif.startswith(b"Exif\x00\x00") else exif  # PNG wants raw TIFF
    if arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]
    meta = [(kind, np.frombuffer(blob, np.uint8)) for kind, blob in
            ((cv2.IMAGE_METADATA_ICCP, icc), (cv2.IMAGE_METADATA_EXIF, exif)) if blob]
    ok, buf = cv2.imencodeWithMetadata(".png", arr, [k for k, _ in meta], [b for _, b in meta],
                                       [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    return buf.tobytes()
