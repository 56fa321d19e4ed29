"""Colour: wide-gamut images are restored in sRGB, the space the models were trained in.

A picture tagged with a Display P3, Adobe RGB or other RGB matrix profile is converted
to sRGB before the model sees it and back to its own profile afterwards, so its colours
do not shift; the written file keeps the source's profile (engine.imageio re-embeds it).
The conversion is relative colorimetric, what littleCMS does between matrix-shaper
profiles, computed in float32 from the profile's own tags (colorants and tone curves):
never through 8-bit pixels, so 16-bit and float images keep their precision. Pillow's
ImageCms (littleCMS) checks that a profile is readable and names it.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

ROWS = 256   # conversions run over bands of rows: no full-size temporaries


@dataclass(frozen=True)
class Curve:
    """An ICC tone curve, encoded value -> linear light. Either parametric,
    ``Y = (aX + b)^g + e`` for ``X >= d`` else ``cX + f``, or a sampled table.
    Values outside [0, 1] (out-of-gamut colours) follow the curve mirrored at 0."""
    params: tuple[float, ...] = (1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)   # g, a, b, c, d, e, f
    table: tuple[float, ...] = ()

    def linear(self, x: np.ndarray) -> np.ndarray:
        ax = np.abs(x)
        if self.table:
            grid = np.linspace(0.0, 1.0, len(self.table))
            y = np.interp(ax, grid, self.table).astype(np.float32)
        else:
            g, a, b, c, d, e, f = self.params
            y = np.where(ax >= d, np.maximum(a * ax + b, 0.0) ** g + e, c * ax + f)
        return np.copysign(y, x).astype(np.float32, copy=False)

    def encoded(self, y: np.ndarray) -> np.ndarray:
        ay = np.abs(y)
        if self.table:
            grid = np.linspace(0.0, 1.0, len(self.table))
            x = np.interp(ay, np.maximum.accumulate(self.table), grid).astype(np.float32)
        else:
            g, a, b, c, d, e, f = self.params
            knee = max(a * d + b, 0.0) ** g + e
            high = (np.maximum(ay - e, 0.0) ** (1.0 / g) - b) / a
            low = (ay - f) / c if c else np.full_like(ay, d)
            x = np.where(ay >= knee, high, low)
        return np.copysign(x, y).astype(np.float32, copy=False)

    def same_as(self, other: "Curve") -> bool:
        x = np.linspace(0.0, 1.0, 257, dtype=np.float32)
        return bool(np.abs(self.linear(x) - other.linear(x)).max() < 1e-3)


@dataclass(frozen=True)
class RGBSpace:
    """An RGB matrix-shaper profile: its name, linear RGB -> XYZ (D50) and tone curves."""
    name: str
    matrix: np.ndarray
    curves: tuple[Curve, Curve, Curve]


def _s15(data: bytes, at: int) -> float:
    return struct.unpack_from(">i", data, at)[0] / 65536.0


def _tags(icc: bytes) -> dict[bytes, bytes]:
    count = struct.unpack_from(">I", icc, 128)[0]
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        tags[sig] = icc[offset:offset + size]
    return tags


def _xyz(data: bytes) -> list[float]:
    if data[:4] != b"XYZ ":
        raise ValueError("a colorant tag is not an XYZ value")
    return [_s15(data, 8 + 4 * i) for i in range(3)]


PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


def _curve(data: bytes) -> Curve:
    kind = data[:4]
    if kind == b"curv":
        count = struct.unpack_from(">I", data, 8)[0]
        if count == 0:
            return Curve()
        if count == 1:
            return Curve((struct.unpack_from(">H", data, 12)[0] / 256.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0))
        table = np.frombuffer(data, ">u2", count, 12) / 65535.0
        return Curve(table=tuple(float(v) for v in table))
    if kind == b"para":
        ftype = struct.unpack_from(">H", data, 8)[0]
        if ftype not in PARA_COUNTS:
            raise ValueError(f"unknown parametric curve type {ftype}")
        p = [_s15(data, 12 + 4 * i) for i in range(PARA_COUNTS[ftype])]
        g, a, b = (p + [1.0, 0.0])[:3]
        if g <= 0 or a == 0:
            raise ValueError("a tone curve that cannot be inverted")
        full = {0: (g, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
                1: (g, a, b, 0.0, -b / a, 0.0, 0.0),
                2: (g, a, b, 0.0, -b / a, p[-1], p[-1]),
                3: (*p, 0.0, 0.0),
                4: tuple(p)}[ftype]
        return Curve(tuple(float(v) for v in full))
    raise ValueError(f"unsupported tone curve type {kind!r}")


def description(icc: bytes) -> str:
    """The profile's name as littleCMS reads it; raises ValueError when it cannot be read."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError) as err:
        raise ValueError(str(err) or type(err).__name__) from None
    return (profile.profile_description or "").strip() or "unnamed profile"


def parse(icc: bytes) -> RGBSpace:
    """An RGB matrix-shaper profile; ValueError for anything else or anything unreadable."""
    name = description(icc)
    try:
        if icc[16:20] != b"RGB ":
            raise ValueError("not an RGB profile")
        tags = _tags(icc)
        if not all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")):
            raise ValueError(f"'{name}' is not a matrix profile (lookup tables are not supported)")
        matrix = np.array([_xyz(tags[t]) for t in (b"rXYZ", b"gXYZ", b"bXYZ")]).T
        curves = tuple(_curve(tags[t]) for t in (b"rTRC", b"gTRC", b"bTRC"))
        if abs(np.linalg.det(matrix)) < 1e-6:
            raise ValueError(f"'{name}' has colorants that span no colour space")
    except struct.error:
        raise ValueError("the profile is cut short") from None
    return RGBSpace(name, matrix, curves)


@lru_cache(maxsize=1)
def srgb() -> RGBSpace:
    """littleCMS's own sRGB profile: the space every model works in."""
    from PIL import ImageCms

    return parse(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


class Conversion:
    """Between one RGB space and sRGB, both ways, on float HWC pixels (alpha kept as is)."""

    def __init__(self, source: RGBSpace, target: RGBSpace | None = None) -> None:
        target = target or srgb()
        self.source, self.target = source, target
        self.forward = (np.linalg.inv(target.matrix) @ source.matrix).astype(np.float32)
        self.backward = np.linalg.inv(self.forward).astype(np.float32)

    def is_identity(self) -> bool:
        return bool(np.abs(self.forward - np.eye(3)).max() < 2e-3) and all(
            a.same_as(b) for a, b in zip(self.source.curves, self.target.curves))

    def to_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """Source-space pixels in sRGB: float32, unclipped (out-of-gamut colours go below 0
        or above 1)."""
        return _convert(pixels, self.source.curves, self.forward, self.target.curves)

    def from_srgb(self, pixels: np.ndarray) -> np.ndarray:
        return _convert(pixels, self.target.curves, self.backward, self.source.curves)


def _convert(pixels: np.ndarray, decode, matrix: np.ndarray, encode) -> np.ndarray:
    out = np.array(pixels, dtype=np.float32, copy=True)
    for r in range(0, out.shape[0], ROWS):
        band = out[r:r + ROWS, :, :3]
        linear = np.stack([c.linear(band[..., i]) for i, c in enumerate(decode)], axis=-1)
        linear = linear @ matrix.T
        for i, c in enumerate(encode):
            band[..., i] = c.encoded(linear[..., i])
    return out


def srgb_conversion(icc: bytes | None, channels: int, source: str = "") -> tuple[Conversion | None, str]:
    """(conversion, note) for an image of ``channels`` channels tagged with ``icc``.

    The conversion is None for untagged, grey and sRGB images and for a profile that
    cannot be used; ``note`` is a line to log ('' when there is nothing to say)."""
    if not icc or channels not in (3, 4):
        return None, ""
    name = f"'{source}'" if source else "the image"
    try:
        if len(icc) < 132 or icc[36:40] != b"acsp":
            raise ValueError("not an ICC profile")
        if icc[16:20] != b"RGB ":   # a grey or CMYK profile does not describe these pixels
            return None, ""
        conversion = Conversion(parse(icc))
    except ValueError as err:
        return None, f"{name}: its ICC profile cannot be used ({err}); restored without colour conversion"
    if conversion.is_identity():
        return None, ""
    return conversion, (f"{name}: converted from '{conversion.source.name}' to sRGB for the model "
                        f"and back")


LINEAR_SRGB = "Linear sRGB (gamma 1.0)"


def _tag_data(kind: bytes, payload: bytes) -> bytes:
    return kind + bytes(4) + payload


@lru_cache(maxsize=1)
def linear_srgb_icc() -> bytes:
    """An ICC v2 display profile with sRGB's primaries and white (littleCMS's colorants)
    and straight-line tone curves: how a linear image (a camera RAW developed linear) is
    tagged, so that other programs, and srgb_conversion, know its values are light."""
    from PIL import ImageCms

    own = _tags(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    name = LINEAR_SRGB.encode("ascii") + b"\0"
    # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts (67 bytes fixed)
    desc = _tag_data(b"desc", struct.pack(">I", len(name)) + name + bytes(4 + 4 + 2 + 1 + 67))
    gamma_one = _tag_data(b"curv", struct.pack(">IH", 1, 0x0100))   # u8Fixed8 1.0
    tags = [(b"desc", desc), (b"cprt", _tag_data(b"text", b"No copyright, use freely\0")),
            *((sig, own[sig]) for sig in (b"wtpt", b"rXYZ", b"gXYZ", b"bXYZ")),
            (b"rTRC", gamma_one), (b"gTRC", gamma_one), (b"bTRC", gamma_one)]
    table, body, where = b"", b"", {}
    start = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        if data not in where:                 # the three curves share one copy
            where[data] = start + len(body)
            body += data + bytes(-len(data) % 4)
        table += sig + struct.pack(">II", where[data], len(data))
    d50 = b"".join(struct.pack(">i", round(v * 65536)) for v in (0.9642, 1.0, 0.8249))
    header = (struct.pack(">I", start + len(body)) + bytes(4) + bytes([2, 0x10, 0, 0])
              + b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp"
              + bytes(24) + struct.pack(">I", 0) + d50 + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body
