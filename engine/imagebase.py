"""What image reading and writing share: the info types, formats and pixel helpers.

Pixels travel as HWC arrays, float32 in [0, 1] for integer files. Float files
(32- or 16-bit float TIFF) keep their values as stored, above 1 included, and
say so with ``ImageInfo.sample == "float"``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MAX_PIXELS = 200_000_000
DEFAULT_QUALITY = 95   # JPEG / lossy WebP / HEIF / AVIF, when no quality is asked for

# suffix -> our format name
FORMAT_BY_SUFFIX = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF",
                    ".tiff": "TIFF", ".webp": "WEBP", ".bmp": "BMP", ".heic": "HEIF",
                    ".heif": "HEIF", ".avif": "AVIF", ".dng": "RAW", ".cr2": "RAW",
                    ".nef": "RAW", ".arw": "RAW"}
SUPPORTED_SUFFIXES = set(FORMAT_BY_SUFFIX)                       # what we read
WRITABLE_SUFFIXES = {s for s, f in FORMAT_BY_SUFFIX.items() if f != "RAW"}
# how camera RAW is developed: sRGB (its tone curve), or linear light tagged with a
# gamma-1.0 profile (engine.colour), which restore_image turns to sRGB for the model
RAW_DEVELOP = ("srgb", "linear")

ORIENTATION_TAG = 0x0112
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
# TIFF tags describing pixel layout (or bulky private data); they must not be
# carried over as "EXIF" from a TIFF source into another file.
TIFF_LAYOUT_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279,
                    280, 281, 284, 317, 320, 322, 323, 324, 325, 330, 338, 339, 340,
                    341, 347, 530, 531, 532, 34377, 34675, 37724, *range(512, 522)}


@dataclass(frozen=True)
class ImageInfo:
    format: str                 # "PNG", "JPEG", "TIFF", "WEBP", "BMP", "HEIF", "AVIF" or "RAW"
    bit_depth: int              # bits per channel as stored: 8 or 16 (integer), 16 or 32 (float)
    has_alpha: bool
    is_grey: bool
    icc_profile: bytes | None = None
    exif: bytes | None = None   # orientation already applied and reset to 1
    source: str | None = None
    lossless: bool = False      # a WebP stored lossless (written back lossless)
    sample: str = "uint"        # "uint" (pixels scaled to [0, 1]) or "float" (as stored)


@dataclass
class LoadedImage:
    # float32 HWC, C in {1, 2, 3, 4}; [0, 1] unless info.sample is float (read_image(...,
    # as_float=False): uint8/uint16 as stored, float32 for float files)
    pixels: np.ndarray
    info: ImageInfo
    # what the decoders warned about, each a line naming the file ("x.jpg: Corrupt EXIF
    # data ..."); a job reports them as Log warnings (read_image(..., log=False))
    warnings: tuple[str, ...] = ()


def is_image_path(path) -> bool:
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def output_suffix(path) -> str:
    """The suffix a restored copy of ``path`` is saved with: its own, or .tif where that
    format is read only (camera RAW: a 16-bit TIFF keeps what was developed)."""
    suffix = Path(path).suffix
    return suffix if suffix.lower() in WRITABLE_SUFFIXES else ".tif"


def as_hwc(pixels) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected an HWC image with 1-4 channels, got shape {arr.shape}")
    return arr


def split_alpha(pixels) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (colour with 1 or 3 channels, alpha as HW1 or None)."""
    arr = as_hwc(pixels)
    if arr.shape[2] in (2, 4):
        return arr[..., :-1], arr[..., -1:]
    return arr, None


def join_alpha(colour, alpha) -> np.ndarray:
    """Inverse of split_alpha; ``alpha`` may be HW, HW1 or None."""
    colour = as_hwc(colour)
    if alpha is None:
        return colour
    alpha = np.asarray(alpha)
    if alpha.ndim == 2:
        alpha = alpha[..., None]
    if alpha.shape != colour.shape[:2] + (1,) or colour.shape[2] not in (1, 3):
        raise ValueError(f"cannot join colour {colour.shape} with alpha {alpha.shape}")
    return np.concatenate([colour, alpha.astype(colour.dtype, copy=False)], axis=2)


def quantize(pixels, depth: int) -> np.ndarray:
    """Float [0, 1] -> rounded uint8/uint16 HWC (``depth`` 8 or 16 bits); NaN becomes 0."""
    arr = np.nan_to_num(as_hwc(pixels).astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    peak = 255 if depth == 8 else 65535
    np.clip(arr, 0.0, 1.0, out=arr)
    arr *= peak
    arr += 0.5
    return arr.astype(np.uint8 if depth == 8 else np.uint16)


def to_uint8(pixels) -> np.ndarray:
    """Clip and round float pixels to an HWC uint8 array (for previews)."""
    return quantize(pixels, 8)


def to_float(arr: np.ndarray) -> np.ndarray:
    """uint8/uint16 pixels -> float32 [0, 1]; float pixels as float32."""
    if arr.dtype.kind != "u":
        return arr.astype(np.float32, copy=False)
    out = arr.astype(np.float32)
    out *= np.float32(1.0 / np.iinfo(arr.dtype).max)
    return out


def as_depth(pixels, depth: int) -> np.ndarray:
    """HWC uint8/uint16 of ``depth`` bits: integer pixels of that depth are kept as they are."""
    arr = as_hwc(pixels)
    if arr.dtype == (np.uint8 if depth == 8 else np.uint16):
        return arr
    return quantize(to_float(arr), depth)


def stored_depth(path, depth: int) -> int:
    """Bits per channel a file at ``path`` keeps of ``depth``: 32 (float) only in
    TIFF, 16 in PNG and TIFF, else 8."""
    fmt = FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())
    if fmt == "TIFF":
        return depth
    return min(depth, 16) if fmt == "PNG" else 8


def stored_dtype(path, info: ImageInfo) -> type:
    """The pixel type to restore ``info``'s image to when it is saved at ``path``:
    float32 for a float image going into a TIFF, else uint8/uint16 by stored depth."""
    if info.sample == "float" and FORMAT_BY_SUFFIX.get(Path(path).suffix.lower()) == "TIFF":
        return np.float32
    return np.uint16 if stored_depth(path, min(info.bit_depth, 16)) == 16 else np.uint8


def icc_fits(icc: bytes | None, channels: int) -> bool:
    """An ICC profile's colour space (header bytes 16-20) must match the pixels."""
    if not icc or len(icc) < 20:
        return False
    space = icc[16:20]
    return space == b"GRAY" if channels == 1 else space == b"RGB "


# EXIF orientation -> how to turn the stored HWC array upright
ORIENT = {
    2: lambda a: a[:, ::-1],                          # mirrored
    3: lambda a: a[::-1, ::-1],                       # rotated 180
    4: lambda a: a[::-1],                             # flipped
    5: lambda a: a.transpose(1, 0, 2),                # transposed
    6: lambda a: np.rot90(a, -1),                     # needs 90 clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),   # transversed
    8: lambda a: np.rot90(a, 1),                      # needs 90 anticlockwise
}
