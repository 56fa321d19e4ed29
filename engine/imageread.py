"""Read an image file into float32 HWC pixels and its metadata (engine.imageio's reader).

TIFF goes through tifffile (8/16-bit, 16/32-bit float), HEIF/AVIF and camera RAW
through their libraries (engine.imageextra), 16-bit PNG through OpenCV (Pillow
would cut it to 8 bits), the rest through Pillow, which also reads EXIF. Files
are read as bytes and decoded in memory, so Unicode paths work everywhere.
"""
from __future__ import annotations

import io
import logging
import struct
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, features

from engine import colour, imageextra, imagetiff
from engine.errors import ImageError
from engine.imagebase import (FORMAT_BY_SUFFIX, ORIENT, ORIENTATION_TAG, RAW_DEVELOP,
                              TIFF_LAYOUT_TAGS, DEFAULT_MAX_PIXELS, ImageInfo, LoadedImage,
                              to_float)

# read_image does its own size check (max_pixels) before decoding, so Pillow's
# decompression-bomb guard would only get in the way with a different message.
Image.MAX_IMAGE_PIXELS = None

# Pillow format name -> ours (MPO is the multi-picture JPEG some cameras write)
_READ_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "TIFF": "TIFF",
                 "WEBP": "WEBP", "BMP": "BMP", "AVIF": "AVIF", "HEIF": "HEIF"}
# Pillow modes we convert on read, and what to
_PIL_MODES = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA", "RGB": "RGB",
              "RGBX": "RGB", "YCbCr": "RGB", "CMYK": "RGB", "RGBA": "RGBA", "RGBa": "RGBA"}
# Pillow modes we do not read, in words for error messages
_MODE_WORDS = {"F": "32-bit float greyscale", "I": "32-bit integer greyscale",
               "I;16S": "16-bit signed integer greyscale", "I;32": "32-bit integer greyscale",
               "LAB": "CIE L*a*b* colour", "HSV": "HSV colour", "RGBA;16": "16-bit RGBA",
               "LAB;16": "16-bit CIE L*a*b* colour"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# RAW tags meaningless once developed: the sensor's colour filter layout, and from
# 50000 on the DNG and vendor tags
_CFA_TAGS, _RAW_PRIVATE_TAGS = {33421, 33422}, 50000
_log = logging.getLogger("restorelab.imageio")
_WARNINGS_LOCK = threading.Lock()


class _Unsupported(Exception):
    """Internal: the file decodes, but into a layout we do not handle."""


def read_image(path, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               as_float: bool = True, log: bool = True, raw: str = "srgb") -> LoadedImage:
    """Read an image file; raise ImageError with a readable message on failure.

    ``as_float=False`` keeps the pixels as stored (uint8/uint16, float32 for float files)
    instead of a float32 copy: the restore pipeline converts them tile by tile.
    ``raw`` is how a camera RAW is developed (RAW_DEVELOP): "srgb", or "linear", whose
    image carries a linear-gamma ICC profile (engine.colour.linear_srgb_icc).
    A library's warnings (Pillow's "Corrupt EXIF data") never reach stderr bare: each
    becomes one line naming the file, in ``.warnings`` and, unless ``log`` is False
    (a job that yields them as Log events), logged to "restorelab.imageio"."""
    if raw not in RAW_DEVELOP:
        raise ValueError(f"raw must be one of {RAW_DEVELOP}, not {raw!r}")
    path = Path(path)
    name = path.name or str(path)
    # catch_warnings swaps process-wide state: two threads inside it at once would leave
    # one's recorder installed for good (every later warning lost), hence the lock
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = _read_image(path, name, max_pixels, as_float, raw)
    lines = tuple(dict.fromkeys(f"{name}: {' '.join(str(w.message).split())}" for w in caught))
    if log:
        for line in lines:
            _log.warning("warning: %s", line)
    loaded.warnings = lines
    return loaded


def _read_image(path: Path, name: str, max_pixels: int | None,
                as_float: bool = True, raw: str = "srgb") -> LoadedImage:
    data = _read_bytes(path, name)

    def check_size(width: int, height: int) -> None:
        if max_pixels is not None and width * height > max_pixels:
            raise ImageError(f"'{name}' is too large ({width} x {height} pixels; "
                             f"the limit is {max_pixels:,} pixels).")

    fmt = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    sample, depth = "uint", None
    try:
        if fmt == "RAW":                      # developed upright by LibRaw
            arr, orientation = imageextra.decode_raw(data, name, check_size, raw), 1
            icc = colour.linear_srgb_icc() if raw == "linear" else None   # None: sRGB
            exif = _raw_exif(data)
        else:
            decoded = _decode_special(data, name, check_size)
            if decoded:
                fmt, arr, icc, exif, orientation, depth = decoded
                sample = "float" if arr.dtype == np.float32 else "uint"
            else:
                fmt, arr, icc, exif, orientation = _decode_generic(data, name, check_size)
    except ImageError:
        raise
    except (_Unsupported, imagetiff.Unsupported) as err:
        reason = getattr(err, "reason", ", which is not supported")
        raise ImageError(f"'{name}' is {err}{reason}.") from None
    except Image.UnidentifiedImageError:
        if data[:4] in _TIFF_MAGIC:  # a TIFF whose layout Pillow rejects
            raise ImageError(f"'{name}' is a TIFF whose sample layout (bits, sample type or "
                             f"channel count) is not supported, or it is damaged.") from None
        raise ImageError(f"'{name}' is not an image file, or its format is not supported.") from None
    except MemoryError:
        raise ImageError(f"Not enough memory to open '{name}'.") from None
    except Exception as err:  # decoders raise many types on damaged data
        raise ImageError(f"'{name}' is damaged or truncated and cannot be read ({err}).") from err

    if depth is None:
        depth = 16 if arr.dtype == np.uint16 else 8
    channels = arr.shape[2]
    arr = ORIENT.get(orientation, lambda a: a)(arr)
    info = ImageInfo(format=fmt, bit_depth=depth, has_alpha=channels in (2, 4),
                     is_grey=channels in (1, 2), icc_profile=icc, exif=exif,
                     source=str(path), lossless=fmt == "WEBP" and webp_is_lossless(data),
                     sample=sample)
    return LoadedImage(pixels=to_float(arr) if as_float else arr, info=info)


def _decode_special(data: bytes, name: str, check_size):
    """TIFF through tifffile, HEIF/AVIF through pillow-heif: (format, array, ICC, EXIF,
    orientation, bits) or None where Pillow is to decode the file."""
    if data[:4] in _TIFF_MAGIC:
        got = imagetiff.decode_tiff(data, check_size)
        if got is None:
            return None
        arr, icc, bits = got
        exif, orientation = _exif_of(_load_exif(data), "TIFF")
        return "TIFF", arr, icc, exif, orientation, bits
    kind = imageextra.sniff(data)
    if kind is None:
        return None
    got = imageextra.decode_heif(data, name, kind, check_size)
    if got is None:
        if not features.check("avif"):
            raise imageextra.avif_missing(name)
        return None                               # Pillow's AVIF plugin reads it
    arr, icc, raw_exif = got
    # libheif has already turned the pixels upright (irot/imir): only reset the tag
    exif, _ = _exif_of(_load_exif(raw_exif), kind) if raw_exif else (None, 1)
    return kind, arr, icc, exif, 1, 16 if arr.dtype == np.uint16 else 8


def _decode_generic(data: bytes, name: str, check_size):
    """Pillow (and OpenCV for 16-bit PNG/TIFF): (format, array, ICC, EXIF, orientation)."""
    with Image.open(io.BytesIO(data)) as im:
        fmt = _READ_FORMATS.get(im.format or "")
        if fmt is None:
            raise ImageError(f"'{name}' is a {im.format} image, which is not supported.")
        check_size(*im.size)
        icc = im.info.get("icc_profile") or None
        try:
            exif, orientation = _exif_of(im.getexif(), fmt)
        except Exception:  # broken EXIF should not stop us from reading the pixels
            exif, orientation = None, 1
        layout = _layout_16bit(im, data)
        if layout:
            arr = _decode_cv2(data, *layout)
        else:
            arr, icc = _decode_pillow(im, icc)
    return fmt, arr, icc, exif, orientation


def webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP file's (first) image is stored lossless: a 'VP8L' chunk, not 'VP8 '."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    offset, end = 12, len(data)
    while offset + 8 <= end:
        kind = data[offset:offset + 4]
        size = struct.unpack_from("<I", data, offset + 4)[0]
        if kind == b"VP8L":
            return True
        if kind == b"VP8 ":
            return False
        if kind == b"ANMF":   # an animation frame: its image chunks follow a 16-byte header
            offset += 8 + 16
            continue
        offset += 8 + size + (size & 1)
    return False


def _read_bytes(path: Path, name: str) -> bytes:
    if path.is_dir():
        raise ImageError(f"'{name}' is a folder, not an image file.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"'{name}' was not found ({path}).") from None
    except PermissionError:
        raise ImageError(f"Permission denied when reading '{name}'.") from None
    except OSError as err:
        raise ImageError(f"'{name}' could not be read ({err.strerror or err}).") from err
    if not data:
        raise ImageError(f"'{name}' is empty (0 bytes).")
    return data


def _load_exif(data: bytes) -> Image.Exif | None:
    """EXIF from bytes: an 'Exif' block, or a whole TIFF (its first directory)."""
    try:
        exif = Image.Exif()
        exif.load(data)
        return exif
    except Exception:  # broken EXIF should not stop us from reading the pixels
        return None


def _raw_exif(data: bytes) -> bytes | None:
    """The camera's EXIF from a TIFF-based RAW (DNG, CR2, NEF, ARW): its first directory
    without layout or private DNG/maker tags, and the Exif and GPS directories."""
    exif = _load_exif(data) if data[:4] in _TIFF_MAGIC else None
    if exif is not None:
        for tag in [t for t in exif if t >= _RAW_PRIVATE_TAGS or t in _CFA_TAGS]:
            del exif[tag]
    return _exif_of(exif, "TIFF")[0]


def _exif_of(exif: Image.Exif | None, fmt: str) -> tuple[bytes | None, int]:
    """Return (EXIF bytes with orientation reset to 1, orientation to apply)."""
    if exif is None:
        return None, 1
    try:
        orientation = exif.get(ORIENTATION_TAG, 1)
        orientation = orientation if orientation in range(1, 9) else 1
        if fmt == "TIFF":  # a TIFF's own layout tags sit among its EXIF ones
            for tag in TIFF_LAYOUT_TAGS.intersection(exif):
                del exif[tag]
        if ORIENTATION_TAG in exif:
            exif[ORIENTATION_TAG] = 1
        return (exif.tobytes() if len(exif) else None), orientation
    except Exception:
        return None, 1


def _layout_16bit(im: Image.Image, data: bytes) -> tuple[bool, bool] | None:
    """For a 16-bit PNG/TIFF return (grey, alpha) from its header, else None."""
    if im.format == "PNG" and data[12:16] == b"IHDR" and data[24] == 16:
        colour_type = data[25]
        return colour_type in (0, 4), colour_type in (4, 6)
    if im.format != "TIFF" or 16 not in np.atleast_1d(im.tag_v2.get(258, 8)):
        return None
    tags = im.tag_v2
    photometric, samples = tags.get(262, 1), tags.get(277, 1)
    formats = tags.get(339, 1)
    if photometric not in (0, 1, 2) or samples > 4 or 1 not in np.atleast_1d(formats):
        raise _Unsupported(f"a 16-bit {imagetiff.colour_words(photometric)} TIFF with "
                           f"{samples} channels")
    grey = photometric in (0, 1)
    return grey, samples > (1 if grey else 3)


def _decode_cv2(data: bytes, grey: bool, alpha: bool) -> np.ndarray:
    # IMREAD_UNCHANGED keeps 16 bits and alpha and ignores EXIF orientation
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.size == 0:
        raise ValueError("the decoder returned no pixels")
    if arr.dtype not in (np.uint8, np.uint16):
        raise _Unsupported(f"an image with sample type {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if grey and arr.shape[2] >= 3:     # OpenCV expands grey + alpha to BGRA
        arr = arr[..., [0, 3]] if alpha and arr.shape[2] == 4 else arr[..., :1]
    elif arr.shape[2] == 3:
        arr = arr[..., ::-1]
    elif arr.shape[2] == 4:
        arr = arr[..., [2, 1, 0, 3]]
    return np.ascontiguousarray(arr)


def _decode_pillow(im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """Decode with Pillow; return (uint8/uint16 HWC array, ICC profile to keep)."""
    im.load()
    mode = im.mode
    if mode.startswith("I;16") and mode != "I;16S":
        arr = np.asarray(im).astype(np.uint16)
        return arr[..., None], icc
    if mode == "CMYK":
        return np.asarray(_cmyk_to_rgb(im, icc)), None
    if mode == "P":
        target = "RGBA" if "transparency" in im.info else "RGB"
    elif mode in ("L", "RGB") and "transparency" in im.info:
        target = {"L": "LA", "RGB": "RGBA"}[mode]
    elif mode in _PIL_MODES:
        target = _PIL_MODES[mode]
    else:
        raise _Unsupported(_describe_mode(mode, im.format))
    arr = np.asarray(im if mode == target else im.convert(target))
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr, icc


def _describe_mode(mode: str, fmt: str | None) -> str:
    """'a 32-bit float greyscale TIFF' for mode F: what the file holds, in words."""
    kind = fmt or "image"
    if mode in _MODE_WORDS:
        words = f"{_MODE_WORDS[mode]} {kind}"
    else:   # Pillow's mode letters mean nothing to a photographer: not shown
        words = f"{kind} with an unusual pixel layout"
    return f"{'an' if words[0] in 'AEIOUaeiou' or words.startswith('HSV') else 'a'} {words}"


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Use the embedded CMYK profile when there is one, else a naive conversion."""
    try:
        return ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # no profile, or a broken one
        return im.convert("RGB")
