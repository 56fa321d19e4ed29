"""Formats that need an optional library: HEIF/HEIC (pillow-heif), AVIF (Pillow's own
plugin, or pillow-heif where its libheif has an AVIF codec) and camera RAW (rawpy).

The libraries are imported on first use, so a bundle without one still reads every
other format, and says in one line what is missing when asked for this one.
"""
from __future__ import annotations

import importlib
import io

import numpy as np

from engine.errors import ImageError

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_PACKAGE = {"pillow_heif": "pillow-heif", "rawpy": "rawpy"}
_KIND = {"HEIF": "a HEIF image", "AVIF": "an AVIF image", "RAW": "a camera RAW image"}


def _import(module: str, name: str, fmt: str, verb: str = "reading"):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImageError(f"'{name}' is {_KIND[fmt]}; {verb} it needs the {_PACKAGE[module]} "
                         f"package, which this installation lacks.") from None


def sniff(data: bytes) -> str | None:
    """'HEIF' or 'AVIF' from an ISO-BMFF 'ftyp' box (major and compatible brands)."""
    if data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, min(size, 64), 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    return "HEIF" if brands & _HEIF_BRANDS else None


def _heif_can(fmt: str, heif) -> bool:
    """Whether this pillow-heif's libheif has a codec for ``fmt`` (AVIF is optional)."""
    try:
        return bool(heif.libheif_info().get(fmt))
    except Exception:
        return False


def avif_missing(name: str) -> ImageError:
    """The error for an AVIF file when neither Pillow nor pillow-heif can decode AVIF."""
    return ImageError(f"'{name}' is an AVIF image; reading it needs Pillow built with AVIF "
                      f"support or a pillow-heif with an AVIF codec, which this "
                      f"installation lacks.")


def decode_heif(data: bytes, name: str, fmt: str, check_size):
    """(HWC uint8/uint16 array, ICC, EXIF bytes) via pillow-heif, 10/12 bits as 16;
    None for an AVIF this pillow-heif cannot decode (Pillow's plugin reads it then)."""
    if fmt == "AVIF":
        try:
            heif = importlib.import_module("pillow_heif")
        except ImportError:
            return None
        if not _heif_can("AVIF", heif):
            return None
    else:
        heif = _import("pillow_heif", name, fmt)
    try:
        image = heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
        check_size(*image.size)
        arr = np.asarray(image)
    except ImageError:
        raise
    except Exception as err:
        raise ImageError(f"'{name}' is damaged or not a {fmt} image pillow-heif can read "
                         f"({err}).") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    icc = image.info.get("icc_profile") or None
    exif = image.info.get("exif") or None
    return np.ascontiguousarray(arr), icc, exif


def encode_heif(arr: np.ndarray, fmt: str, name: str, icc, exif, quality: int) -> bytes:
    """8-bit HWC -> HEIF via pillow-heif (AVIF too where its libheif can encode it);
    quality 100 is lossless (4:4:4, RGB coded as is)."""
    heif = _import("pillow_heif", name, fmt, "writing")
    if fmt == "AVIF" and not _heif_can("AVIF", heif):
        raise ImageError(f"Cannot save '{name}': this installation has no AVIF encoder.")
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    if mode == "LA":                          # HEIF has no grey + alpha
        arr, mode = np.concatenate([arr[..., :1]] * 3 + [arr[..., 1:]], axis=2), "RGBA"
    image = heif.from_bytes(mode=mode, size=(arr.shape[1], arr.shape[0]),
                            data=np.ascontiguousarray(arr).tobytes())
    options = {k: v for k, v in (("icc_profile", icc), ("exif", exif)) if v}
    if quality >= 90:                         # full-resolution colour, as for JPEG
        options["chroma"] = 444
    if quality >= 100:                        # lossless: no YCbCr rounding either
        options.update(quality=-1, matrix_coefficients=0)
    else:
        options["quality"] = quality
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# LibRaw's tone curves as (power, toe slope): sRGB's own (its default is BT.709's
# 2.222 / 4.5, which the rest of the engine would take for sRGB), or none
_RAW_GAMMA = {"srgb": (2.4, 12.92), "linear": (1.0, 1.0)}


def decode_raw(data: bytes, name: str, check_size, develop: str = "srgb") -> np.ndarray:
    """Develop a camera RAW to 16 bits, sRGB primaries: ``develop`` "srgb" with sRGB's
    tone curve, "linear" in linear light; camera white balance, no auto-brightening
    (the two differ by the curve alone), orientation applied."""
    rawpy = _import("rawpy", name, "RAW")
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            check_size(raw.sizes.width, raw.sizes.height)
            arr = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16,
                                  output_color=rawpy.ColorSpace.sRGB,
                                  gamma=_RAW_GAMMA[develop])
    except ImageError:
        raise
    except MemoryError:
        raise
    except Exception as err:
        detail = err.args[0] if err.args else ""
        detail = (detail.decode(errors="replace") if isinstance(detail, bytes)
                  else str(detail)).strip() or type(err).__name__
        raise ImageError(f"'{name}' is not a camera RAW file rawpy can read, or it is "
                         f"damaged ({detail.lower()}).") from None
    return np.ascontiguousarray(arr)
