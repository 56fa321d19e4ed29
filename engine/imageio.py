"""Read and write images as float32 HWC arrays in [0, 1], keeping their metadata.

Pixels come from Pillow, except for 16-bit PNG/TIFF files, which OpenCV decodes
(Pillow would cut them to 8 bits). Metadata (ICC profile, EXIF, orientation)
always comes from Pillow. Files are read as bytes and encoded in memory, so
Unicode paths work everywhere, and writes go through ``atomic_path``.

Channel layouts: 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA.
JPEG and BMP cannot keep alpha: it is composited over white on write.
WebP has no grey mode: grey is written as RGB. 16-bit grey + alpha is written
as 16-bit RGBA, since OpenCV can neither encode it as PNG nor decode it from TIFF.
JPEG and WebP are written at ``quality`` (default 95); a lossless WebP source
(its image chunk is 'VP8L') is written back lossless unless a quality is given.
"""
from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, TiffImagePlugin, TiffTags

from engine.atomic import atomic_path
from engine.errors import ImageError

DEFAULT_MAX_PIXELS = 200_000_000
DEFAULT_QUALITY = 95   # JPEG / lossy WebP, when no quality is asked for
SUPPORTED_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}

# read_image does its own size check (max_pixels) before decoding, so Pillow's
# decompression-bomb guard would only get in the way with a different message.
Image.MAX_IMAGE_PIXELS = None

_FORMAT_BY_SUFFIX = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF",
                     ".tiff": "TIFF", ".webp": "WEBP", ".bmp": "BMP"}
# Pillow format name -> ours (MPO is the multi-picture JPEG some cameras write)
_READ_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "TIFF": "TIFF",
                 "WEBP": "WEBP", "BMP": "BMP"}
# Pillow modes we convert on read, and what to
_PIL_MODES = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA", "RGB": "RGB",
              "RGBX": "RGB", "YCbCr": "RGB", "CMYK": "RGB", "RGBA": "RGBA", "RGBa": "RGBA"}
# Pillow modes we do not read, in words for error messages
_MODE_WORDS = {"F": "32-bit float greyscale", "I": "32-bit integer greyscale",
               "I;16S": "16-bit signed greyscale", "I;32": "32-bit integer greyscale",
               "LAB": "CIE L*a*b* colour", "HSV": "HSV colour", "RGBA;16": "16-bit RGBA",
               "LAB;16": "16-bit CIE L*a*b* colour"}
_log = logging.getLogger("restorelab.imageio")
_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
# TIFF tags describing pixel layout (or bulky private data); they must not be
# carried over as "EXIF" from a TIFF source into another file.
_TIFF_LAYOUT_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279,
                     280, 281, 284, 317, 320, 322, 323, 324, 325, 330, 338, 339, 340,
                     341, 347, 530, 531, 532, 34377, 34675, 37724, *range(512, 522)}


class _Unsupported(Exception):
    """Internal: the file decodes, but into a layout we do not handle."""


@dataclass(frozen=True)
class ImageInfo:
    format: str                 # "PNG", "JPEG", "TIFF", "WEBP" or "BMP"
    bit_depth: int              # 8 or 16 bits per channel, as stored in the file
    has_alpha: bool
    is_grey: bool
    icc_profile: bytes | None = None
    exif: bytes | None = None   # orientation already applied and reset to 1
    source: str | None = None
    lossless: bool = False      # a WebP stored lossless (written back lossless)


@dataclass
class LoadedImage:
    pixels: np.ndarray          # float32 HWC in [0, 1], C in {1, 2, 3, 4}
    info: ImageInfo


# ---------------------------------------------------------------- small helpers

def is_image_path(path) -> bool:
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def _as_hwc(pixels) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected an HWC image with 1-4 channels, got shape {arr.shape}")
    return arr


def split_alpha(pixels) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (colour with 1 or 3 channels, alpha as HW1 or None)."""
    arr = _as_hwc(pixels)
    if arr.shape[2] in (2, 4):
        return arr[..., :-1], arr[..., -1:]
    return arr, None


def join_alpha(colour, alpha) -> np.ndarray:
    """Inverse of split_alpha; ``alpha`` may be HW, HW1 or None."""
    colour = _as_hwc(colour)
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
    arr = np.nan_to_num(_as_hwc(pixels).astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    peak = 255 if depth == 8 else 65535
    np.clip(arr, 0.0, 1.0, out=arr)
    arr *= peak
    arr += 0.5
    return arr.astype(np.uint8 if depth == 8 else np.uint16)


def to_uint8(pixels) -> np.ndarray:
    """Clip and round float pixels to an HWC uint8 array (for previews)."""
    return quantize(pixels, 8)


def _to_float(arr: np.ndarray) -> np.ndarray:
    """uint8/uint16 pixels -> float32 [0, 1]; float pixels as float32."""
    if arr.dtype.kind != "u":
        return arr.astype(np.float32, copy=False)
    out = arr.astype(np.float32)
    out *= np.float32(1.0 / np.iinfo(arr.dtype).max)
    return out


def _as_depth(pixels, depth: int) -> np.ndarray:
    """HWC uint8/uint16 of ``depth`` bits: integer pixels of that depth are kept as they are."""
    arr = _as_hwc(pixels)
    if arr.dtype == (np.uint8 if depth == 8 else np.uint16):
        return arr
    return quantize(_to_float(arr), depth)


def stored_depth(path, depth: int) -> int:
    """Bits per channel a file at ``path`` keeps of ``depth``: 16 only in PNG and TIFF."""
    return depth if _FORMAT_BY_SUFFIX.get(Path(path).suffix.lower()) in ("PNG", "TIFF") else 8


# EXIF orientation -> how to turn the stored HWC array upright
_ORIENT = {
    2: lambda a: a[:, ::-1],                          # mirrored
    3: lambda a: a[::-1, ::-1],                       # rotated 180
    4: lambda a: a[::-1],                             # flipped
    5: lambda a: a.transpose(1, 0, 2),                # transposed
    6: lambda a: np.rot90(a, -1),                     # needs 90 clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),   # transversed
    8: lambda a: np.rot90(a, 1),                      # needs 90 anticlockwise
}


def _icc_fits(icc: bytes | None, channels: int) -> bool:
    """An ICC profile's colour space (header bytes 16-20) must match the pixels."""
    if not icc or len(icc) < 20:
        return False
    space = icc[16:20]
    return space == b"GRAY" if channels == 1 else space == b"RGB "


# ---------------------------------------------------------------------- reading

def read_image(path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read an image file; raise ImageError with a readable message on failure."""
    path = Path(path)
    name = path.name or str(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = _read_image(path, name, max_pixels)
    for message in dict.fromkeys(str(w.message) for w in caught):  # once each, naming the file
        _log.warning("warning: %s: %s", name, message)
    return loaded


def _read_image(path: Path, name: str, max_pixels: int | None) -> LoadedImage:
    data = _read_bytes(path, name)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = _READ_FORMATS.get(im.format or "")
            if fmt is None:
                raise ImageError(f"'{name}' is a {im.format} image, which is not supported.")
            width, height = im.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageError(f"'{name}' is too large ({width} x {height} pixels; "
                                 f"the limit is {max_pixels:,} pixels).")
            icc = im.info.get("icc_profile") or None
            exif, orientation = _read_exif(im, fmt)
            layout = _layout_16bit(im, data)
            if layout:
                arr = _decode_cv2(data, *layout)
            else:
                arr, icc = _decode_pillow(im, icc)
    except ImageError:
        raise
    except _Unsupported as err:
        raise ImageError(f"'{name}' is {err}, which is not supported.") from None
    except Image.UnidentifiedImageError:
        if data[:4] in (b"II*\x00", b"MM\x00*"):  # a TIFF whose layout Pillow rejects
            raise ImageError(f"'{name}' is a TIFF whose sample layout (bits, sample type or "
                             f"channel count) is not supported, or it is damaged.") from None
        raise ImageError(f"'{name}' is not an image file, or its format is not supported.") from None
    except MemoryError:
        raise ImageError(f"Not enough memory to open '{name}'.") from None
    except Exception as err:  # decoders raise many types on damaged data
        raise ImageError(f"'{name}' is damaged or truncated and cannot be read ({err}).") from err

    depth = 16 if arr.dtype == np.uint16 else 8
    channels = arr.shape[2]
    arr = _ORIENT.get(orientation, lambda a: a)(arr)
    pixels = _to_float(arr)
    info = ImageInfo(format=fmt, bit_depth=depth, has_alpha=channels in (2, 4),
                     is_grey=channels in (1, 2), icc_profile=icc, exif=exif,
                     source=str(path), lossless=fmt == "WEBP" and webp_is_lossless(data))
    return LoadedImage(pixels=pixels, info=info)


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


def _read_exif(im: Image.Image, fmt: str) -> tuple[bytes | None, int]:
    """Return (EXIF bytes with orientation reset to 1, orientation to apply)."""
    try:
        exif = im.getexif()
        orientation = exif.get(_ORIENTATION, 1)
        orientation = orientation if orientation in range(1, 9) else 1
        if fmt == "TIFF":  # Pillow mixes the TIFF's own layout tags into its EXIF
            for tag in _TIFF_LAYOUT_TAGS.intersection(exif):
                del exif[tag]
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        return (exif.tobytes() if len(exif) else None), orientation
    except Exception:  # broken EXIF should not stop us from reading the pixels
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
        raise _Unsupported(f"a 16-bit TIFF with photometric {photometric}, "
                           f"{samples} samples")
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
    if mode.startswith("I;16"):
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
    else:
        words = f"{kind} with an unusual pixel layout ({mode})"
    return f"{'an' if words[0] in 'AEIOUaeiou' or words.startswith('HSV') else 'a'} {words}"


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Use the embedded CMYK profile when there is one, else a naive conversion."""
    try:
        return ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # no profile, or a broken one
        return im.convert("RGB")


# ---------------------------------------------------------------------- writing

def write_image(path, pixels: np.ndarray, info: ImageInfo | None = None, *,
                bit_depth: int | None = None, quality: int | None = None) -> None:
    """Write HWC pixels; format from the suffix, depth/ICC/EXIF from info.

    Pixels are float in [0, 1] or integers (uint8 0-255, uint16 0-65535); integers
    of the depth written are stored as they are, others are rounded to it.

    ``quality`` (1-100) is for JPEG and WebP; None: DEFAULT_QUALITY, and lossless
    for a WebP when ``info`` says the source was a lossless WebP. WebP 100 is lossless.
    """
    path = Path(path)
    name = path.name or str(path)
    if quality is not None and not 1 <= quality <= 100:
        raise ImageError(f"Cannot save '{name}': quality must be 1-100, not {quality}.")
    fmt = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"Cannot save '{name}': unknown image type '{path.suffix}' "
                         f"(use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}).")
    depth = bit_depth or (info.bit_depth if info else 8)
    if depth not in (8, 16):
        raise ImageError(f"Cannot save '{name}': bit depth must be 8 or 16, not {depth}.")
    depth = stored_depth(path, depth)
    if quality is None:   # a lossless WebP stays lossless
        lossless = fmt == "WEBP" and info is not None and info.format == "WEBP" and info.lossless
        quality = 100 if lossless else DEFAULT_QUALITY
    colour, alpha = split_alpha(pixels)
    if alpha is not None and fmt in ("JPEG", "BMP"):
        colour = _over_white(colour, alpha)
        alpha = None
    if colour.shape[2] == 1 and (fmt == "WEBP" or (depth == 16 and alpha is not None)):
        colour = np.repeat(colour, 3, axis=2)  # layouts we cannot write (see the top)
    icc = info.icc_profile if info else None
    icc = icc if _icc_fits(icc, colour.shape[2]) else None
    exif = _exif_for_write(info.exif) if info and info.exif and fmt != "BMP" else None

    try:
        arr = _as_depth(join_alpha(colour, alpha), depth)
        if fmt == "TIFF":
            data = _encode_tiff(arr, icc, exif)
        elif depth == 16:
            data = _encode_png16(arr, icc, exif)
        else:
            data = _encode_pillow(arr, fmt, icc, exif, quality)
    except MemoryError:
        raise ImageError(f"Not enough memory to save '{name}'.") from None
    except Exception as err:
        raise ImageError(f"Could not encode '{name}' as {fmt}: {err}") from err

    try:
        with atomic_path(path) as tmp:
            _write_bytes(tmp, data)
    except OSError as err:
        raise ImageError(f"Could not save '{name}': {err.strerror or err}") from err


def _write_bytes(tmp: Path, data: bytes) -> None:
    tmp.write_bytes(data)


def _over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = np.clip(_to_float(alpha), 0.0, 1.0)
    return _to_float(colour) * a + (1.0 - a)


def _exif_for_write(exif: bytes | None) -> bytes | None:
    """Make sure a stale orientation cannot rotate the already upright pixels again."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        if parsed.get(_ORIENTATION, 1) == 1:
            return exif
        parsed[_ORIENTATION] = 1
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
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality >= 100, exact=quality >= 100)
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
                                       [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    return buf.tobytes()


def _encode_tiff(arr: np.ndarray, icc, exif) -> bytes:
    """8/16-bit TIFF: deflate strips with horizontal predictor, plus ICC and EXIF.

    Our own, as Pillow cannot write 16-bit colour and its libtiff path rejects
    EXIF sub-directories. Pillow's tag directory writer still does the packing:
    it puts the strips after the directory and shifts our relative offsets.
    """
    height, width, channels = arr.shape
    diff = arr.copy()
    diff[:, 1:] -= arr[:, :-1]          # predictor 2; wraps around as TIFF expects
    diff = diff.astype(diff.dtype.newbyteorder("<"))
    rows_per_strip = max(1, (1 << 18) // (width * channels * arr.itemsize))
    strips = [zlib.compress(diff[y:y + rows_per_strip].tobytes(), 6)
              for y in range(0, height, rows_per_strip)]
    offsets = np.cumsum([0] + [len(s) for s in strips[:-1]])

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        parsed = Image.Exif()
        parsed.load(exif)
        for tag, value in parsed.items():
            if tag in (_EXIF_IFD, _GPS_IFD):
                ifd[tag] = parsed.get_ifd(tag)
            elif tag not in _TIFF_LAYOUT_TAGS:
                ifd[tag] = value
    layout = {256: width, 257: height, 258: (8 * arr.itemsize,) * channels,
              259: 8, 262: 1 if channels <= 2 else 2,        # deflate; grey / RGB
              273: tuple(int(o) for o in offsets), 277: channels, 278: rows_per_strip,
              279: tuple(len(s) for s in strips), 284: 1, 317: 2, 339: (1,) * channels}
    if channels in (2, 4):
        layout[338] = (2,)              # unassociated alpha
    for tag, value in layout.items():
        ifd[tag] = value
    if icc:
        ifd.tagtype[34675] = TiffTags.UNDEFINED
        ifd[34675] = icc
    header = b"II*\x00" + struct.pack("<I", 8)
    return header + ifd.tobytes(8) + b"".join(strips)
