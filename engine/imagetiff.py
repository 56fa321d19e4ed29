"""TIFF pixels through tifffile: 8/16-bit integer and 16/32-bit float, grey or RGB,
with unassociated alpha, ICC profile (tag 34675) and EXIF (main tags, Exif and GPS
sub-directories). LZW, JPEG and the floating-point predictor (Photoshop and
Lightroom files) are decoded by the imagecodecs package; without it a float TIFF so
packed is refused in one line, an integer one left to Pillow, which has its own
LZW. Layouts tifffile leaves to others (palette, YCbCr, CMYK, bilevel) return None
from decode_tiff, for Pillow to decode.
"""
from __future__ import annotations

import importlib
import io
import struct
import warnings

import numpy as np
import tifffile
from PIL import Image, TiffImagePlugin

from engine.imagebase import EXIF_IFD, GPS_IFD, TIFF_LAYOUT_TAGS


class Unsupported(Exception):
    """The file decodes, but into a layout we do not handle; str() says what it is,
    ``reason`` why it is refused."""

    def __init__(self, what: str, reason: str = ", which is not supported") -> None:
        super().__init__(what)
        self.reason = reason


_COLOUR_WORDS = {0: "min-is-white greyscale", 1: "greyscale", 2: "RGB", 3: "palette",
                 4: "mask", 5: "CMYK", 6: "YCbCr", 8: "CIE L*a*b*", 9: "CIE L*a*b*",
                 10: "CIE L*a*b*"}
_SAMPLE_WORDS = {1: "integer", 2: "signed integer", 3: "float", 5: "complex integer",
                 6: "complex float"}
_ASSOCIATED_ALPHA = 1                             # ExtraSamples: colour premultiplied


def colour_words(photometric: int) -> str:
    """'CMYK' for TIFF photometric 5: a TIFF's colour model, in words."""
    return _COLOUR_WORDS.get(int(photometric), "unusual colour model")


def describe(page) -> str:
    """'a 32-bit integer greyscale TIFF': what a TIFF page holds, in words."""
    bits = page.bitspersample
    sample = _SAMPLE_WORDS.get(int(page.sampleformat), "unknown sample type")
    colour = colour_words(page.photometric)
    base = 1 if int(page.photometric) in (0, 1, 3, 4) else 3
    extra = page.samplesperpixel - base
    words = f"{bits}-bit {sample} {colour} TIFF"
    if extra > 1:                                  # one extra channel is alpha
        words += f" with {extra} extra channels"
    return f"{'an' if str(bits)[0] == '8' or bits in (11, 18) else 'a'} {words}"


# what tifffile decodes by itself (none, deflate, PackBits, LZMA; horizontal predictor)
_OWN_COMPRESSION, _OWN_PREDICTOR = {1, 8, 32946, 50013, 32773, 34925}, {1, 2}
_NO_CODECS = "; reading it needs the imagecodecs package, which this installation lacks"


def _needs_imagecodecs(err: Exception) -> bool:
    return "imagecodecs" in str(err)


def _codecs_missing(page) -> bool:
    """Whether the page is packed in a way only imagecodecs decodes, and it is absent."""
    if int(page.compression) in _OWN_COMPRESSION and int(page.predictor) in _OWN_PREDICTOR:
        return False
    try:
        importlib.import_module("imagecodecs")
    except ImportError:
        return True
    return False


def _packing(page) -> str:
    """'compressed with LZW and the floating-point predictor', in words."""
    words = {"ADOBE_DEFLATE": "deflate", "FLOATINGPOINT": "floating-point"}
    comp, pred = (getattr(v, "name", str(v)) for v in (page.compression, page.predictor))
    pred = "NONE" if pred == "1" else pred            # absent: tifffile says 1, not an enum
    text = f"compressed with {words.get(comp, comp.replace('_', ' ').upper())}"
    return text + (f" and the {words.get(pred, pred.lower())} predictor" if pred != "NONE" else "")


def decode_tiff(data: bytes, check_size) -> tuple[np.ndarray, bytes | None, int] | None:
    """First page as (HWC uint8/uint16/float32 array, ICC profile, bits stored: 8, 16
    or 32, float64 counting as 32), or None to let Pillow decode it.
    ``check_size(width, height)`` runs before any pixel is decoded."""
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        check_size(page.imagewidth, page.imagelength)
        kind, bits = int(page.sampleformat), page.bitspersample
        photometric, samples = int(page.photometric), page.samplesperpixel
        is_float = kind == 3 and bits in (16, 32, 64)
        if not is_float and not (kind == 1 and bits in (8, 16)):
            if kind == 1 and bits < 8:
                return None                       # bilevel / 4-bit: Pillow expands them
            raise Unsupported(describe(page))
        if photometric not in (0, 1, 2) or page.planarconfig not in (1, 2):
            if is_float or bits == 16:
                raise Unsupported(describe(page))
            return None                           # palette, YCbCr, CMYK: Pillow
        base = 1 if photometric in (0, 1) else 3
        if (not base <= samples <= base + 1 or page.is_tiled and page.imagedepth > 1
                or is_float and photometric == 0):
            raise Unsupported(describe(page))
        if _codecs_missing(page):
            if is_float:
                raise Unsupported(f"{describe(page)} {_packing(page)}", _NO_CODECS)
            return None                           # LZW, JPEG: Pillow has its own
        try:
            arr = page.asarray()
        except (KeyError, ValueError, NotImplementedError) as err:
            if not _needs_imagecodecs(err):       # an imagecodecs built without that codec
                raise
            if is_float:
                raise Unsupported(f"{describe(page)} {_packing(page)}",
                                  ", which this installation's imagecodecs cannot decode") from None
            return None
        icc_tag = page.tags.get(34675)
        icc = bytes(icc_tag.value) if icc_tag is not None and icc_tag.value else None
        associated = tuple(page.extrasamples)[:1] == (_ASSOCIATED_ALPHA,)
        images = _full_size_pages(tif)
    if images > 1:   # read_image turns this into a line naming the file
        warnings.warn(f"it holds {images} images (TIFF pages); only the first is read")
    if page.planarconfig == 2 and samples > 1:    # separate planes: SHW -> HWS
        arr = np.moveaxis(arr, 0, -1)
    arr = arr.reshape(page.imagelength, page.imagewidth, samples)
    arr = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("="), copy=False))
    if is_float:
        arr = arr.astype(np.float32, copy=False)
    if photometric == 0:                          # min-is-white: 0 is white
        arr[..., :1] = np.iinfo(arr.dtype).max - arr[..., :1]
    if associated and samples == base + 1:
        arr = _unpremultiply(arr, base)
    return arr, icc, min(bits, 32)


def _full_size_pages(tif) -> int:
    """Pages that are images of their own, not a previous one's thumbnail or reduced
    resolution (NewSubfileType bit 0)."""
    return sum(1 for page in tif.pages if not int(getattr(page, "subfiletype", 0)) & 1)


def _unpremultiply(arr: np.ndarray, base: int) -> np.ndarray:
    """Colour stored multiplied by alpha -> plain colour (where alpha is not 0)."""
    if arr.dtype.kind == "f":
        colour, alpha = arr[..., :base], arr[..., base:]
        np.divide(colour, alpha, out=colour, where=alpha > 0)
        return arr
    peak = np.iinfo(arr.dtype).max
    wide = arr.astype(np.float64)
    alpha = wide[..., base:]
    colour = np.divide(wide[..., :base] * peak, alpha, out=wide[..., :base].copy(),
                       where=alpha > 0)
    arr[..., :base] = np.clip(np.rint(colour), 0, peak).astype(arr.dtype)
    return arr


# ---------------------------------------------------------------------- writing

def encode_tiff(arr: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    """HWC uint8/uint16/float16/float32 -> deflate TIFF (predictor where tifffile can)."""
    height, width, channels = arr.shape
    predictor = arr.dtype.kind == "u"   # not the float one: it would need imagecodecs to read
    exif_tags, sub_ifds, resolution = _exif_tags(exif)
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, arr[..., 0] if channels == 1 else arr, byteorder="<",
        photometric="minisblack" if channels <= 2 else "rgb", planarconfig="contig",
        extrasamples=("unassalpha",) if channels in (2, 4) else None,
        compression="zlib", compressionargs={"level": 6}, predictor=predictor,
        rowsperstrip=max(1, (1 << 18) // (width * channels * arr.itemsize)),
        iccprofile=icc or None, metadata=None, software=False,
        bigtiff=False if sub_ifds else None,      # _append_sub_ifds patches classic TIFF
        **resolution,
        extratags=exif_tags + [(_PLACEHOLDER[tag], 4, 1, 0, True) for tag in sub_ifds])
    return _append_sub_ifds(buffer.getvalue(), sub_ifds)


def _exif_tags(exif: bytes | None) -> tuple[list, dict, dict]:
    """EXIF -> (tifffile extratags for the main directory, {sub-IFD tag: its tags},
    tifffile's resolution arguments: it writes tags 282, 283 and 296 itself)."""
    if not exif:
        return [], {}, {}
    parsed = Image.Exif()
    parsed.load(exif)
    main = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    subs = {}
    for tag, value in parsed.items():
        if tag in (EXIF_IFD, GPS_IFD):
            subs[tag] = parsed.get_ifd(tag)
        elif tag not in TIFF_LAYOUT_TAGS and tag not in _RESOLUTION_TAGS:
            main[tag] = value
    resolution = {}
    try:
        x, y = float(parsed[282]), float(parsed[283])
        if x > 0 and y > 0:
            resolution = {"resolution": (x, y), "resolutionunit": int(parsed.get(296, 2))}
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        pass                                      # none, or unusable: tifffile's default
    return _raw_entries(main.tobytes(0)), {t: d for t, d in subs.items() if d}, resolution


_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}   # TIFF field type -> bytes per value
_INTEROP_IFD = 0xA005
_RESOLUTION_TAGS = {282, 283, 296}
# private tags that hold the Exif / GPS directory pointers until _append_sub_ifds
_PLACEHOLDER = {EXIF_IFD: 65000, GPS_IFD: 65001}


def _raw_entries(blob: bytes) -> list:
    """A little-endian IFD as Pillow serialized it -> (tag, type, count, raw bytes) entries."""
    tags = []
    (count,) = struct.unpack_from("<H", blob, 0)
    for i in range(count):
        tag, typ, n, value = struct.unpack_from("<HHI4s", blob, 2 + 12 * i)
        size = _TYPE_SIZES[typ] * n
        raw = value[:size] if size <= 4 else blob[struct.unpack("<I", value)[0]:][:size]
        tags.append((tag, typ, None, raw, True))
    return tags


def _append_sub_ifds(data: bytes, sub_ifds: dict) -> bytes:
    """Write each sub-IFD after the image, then give its placeholder entry in the first
    directory the real tag and the sub-IFD's offset (tifffile will not write 34665 or
    34853 itself), keeping the entries sorted by tag as TIFF requires."""
    if not sub_ifds:
        return data
    out = bytearray(data)
    where = {}
    for tag, entries in sub_ifds.items():
        out += b"\x00" * (len(out) & 1)           # IFDs start on a word boundary
        ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
        for key, value in entries.items():
            if key != _INTEROP_IFD and not isinstance(value, dict):  # nested IFDs dropped
                ifd[key] = value
        where[_PLACEHOLDER[tag]] = (tag, len(out))
        out += ifd.tobytes(len(out))
    (first,) = struct.unpack_from("<I", out, 4)
    (count,) = struct.unpack_from("<H", out, first)
    entries = []
    for i in range(count):
        tag, typ, n, value = struct.unpack_from("<HHI4s", out, first + 2 + 12 * i)
        if tag in where:
            tag, offset = where[tag]
            value = struct.pack("<I", offset)
        entries.append((tag, typ, n, value))
    for i, entry in enumerate(sorted(entries)):
        struct.pack_into("<HHI4s", out, first + 2 + 12 * i, *entry)
    return bytes(out)
