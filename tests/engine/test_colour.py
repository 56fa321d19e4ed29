"""Wide-gamut images are restored in sRGB and come back in their own profile (engine.colour).

Pillow ships no P3 or Adobe RGB profile and ImageCms.createProfile makes only sRGB, so
the profiles here are written from their primaries (matrix-shaper ICC v4, as cameras and
phones embed them); littleCMS (ImageCms) is the reference the conversions are held to.
"""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from engine import colour, restore
from engine.descriptor import Restorer
from engine.events import Finished, Log
from engine.imageio import ImageInfo, read_image, write_image
from engine.jobs import drive
from engine.restore import RestoreSpec, restore_job

D50 = np.array([0.9642, 1.0, 0.8249])
D65 = (0.3127, 0.3290)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)   # parametric type 3
P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))


def _xyz_of(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def _mluc(text):
    data = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(data), 28) + data


def _xyz(v):
    return b"XYZ " + bytes(4) + b"".join(_s15(c) for c in v)


def _curve(curve):
    if isinstance(curve, float):   # a plain gamma, as Adobe RGB has it
        return b"curv" + bytes(4) + struct.pack(">IH", 1, int(round(curve * 256))) + bytes(2)
    return b"para" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(_s15(c) for c in curve)


def matrix_profile(name: str, primaries, curve=SRGB_CURVE) -> bytes:
    """An RGB matrix-shaper ICC profile (D65 white adapted to D50 by Bradford)."""
    p = np.stack([_xyz_of(c) for c in primaries], axis=1)
    white = _xyz_of(D65)
    to_xyz = p * np.linalg.solve(p, white)
    cone_src, cone_dst = BRADFORD @ white, BRADFORD @ D50
    adapt = np.linalg.inv(BRADFORD) @ np.diag(cone_dst / cone_src) @ BRADFORD
    m = adapt @ to_xyz
    trc = _curve(curve)
    tags = [(b"desc", _mluc(name)), (b"cprt", _mluc("none")), (b"wtpt", _xyz(D50)),
            (b"chad", b"sf32" + bytes(4) + b"".join(_s15(v) for v in adapt.ravel())),
            (b"rXYZ", _xyz(m[:, 0])), (b"gXYZ", _xyz(m[:, 1])), (b"bXYZ", _xyz(m[:, 2])),
            (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (struct.pack(">I", start + len(body)) + bytes(4) + bytes([4, 0x30, 0, 0]) + b"mntr"
              + b"RGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24)
              + bytes(4) + b"".join(_s15(c) for c in D50) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


@pytest.fixture(scope="module")
def p3():
    return matrix_profile("Display P3", P3)


def lcms(pixels8: np.ndarray, src: bytes | None, dst: bytes | None) -> np.ndarray:
    """littleCMS's conversion of 8-bit RGB pixels (None: its built-in sRGB)."""
    def profile(icc):
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)) if icc else ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(profile(src), profile(dst), "RGB", "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels8), transform))


def levels(a, depth=8):
    return np.asarray(a, np.float64) * (2 ** depth - 1)


def every_colour8(step=5) -> np.ndarray:
    v = np.arange(0, 256, step, dtype=np.uint8)
    grid = np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    return grid.reshape(len(v) ** 2, len(v), 3)


class Identity(Restorer):
    """A 'model' that gives back what it is given, and keeps a copy of it."""
    id = title = "identity"

    def __init__(self):
        self.seen = []

    def run(self, x, precision=None):
        self.seen.append(np.array(x, np.float32))
        return np.array(x, np.float32)


def restore_file(monkeypatch, src, dst, restorer=None, **spec):
    restorer = restorer or Identity()
    monkeypatch.setattr(restore, "load_restorer", lambda *a, **k: restorer)
    events = list(drive(restore_job, RestoreSpec((str(src),), str(dst), **spec)))
    assert isinstance(events[-1], Finished) and events[-1].result["written"] == [str(dst)], events[-1]
    return events, restorer


def test_wide_gamut_profiles_are_told_from_srgb(p3):
    conversion, note = colour.srgb_conversion(p3, 3, "photo.png")
    assert conversion is not None and "'photo.png'" in note and "Display P3" in note
    adobe, _ = colour.srgb_conversion(matrix_profile("Adobe RGB (1998)", ADOBE, 563 / 256), 4)
    assert adobe is not None
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    # sRGB, sRGB primaries under another name, no profile, grey pixels: nothing to convert
    assert colour.srgb_conversion(srgb, 3) == (None, "")
    assert colour.srgb_conversion(matrix_profile("my monitor", ((.64, .33), (.3, .6), (.15, .06))), 3) \
        == (None, "")
    assert colour.srgb_conversion(None, 3) == (None, "")
    assert colour.srgb_conversion(p3, 1) == (None, "")


@pytest.mark.parametrize("name, primaries, curve", [("Display P3", P3, SRGB_CURVE),
                                                    ("Adobe RGB (1998)", ADOBE, 563 / 256)])
def test_conversion_agrees_with_littlecms(name, primaries, curve):
    icc = matrix_profile(name, primaries, curve)
    conversion, _ = colour.srgb_conversion(icc, 3)
    px = every_colour8()
    ours = np.clip(conversion.to_srgb(px / 255.0), 0, 1)
    assert np.abs(levels(ours) - lcms(px, icc, None)).max() <= 1.0
    back = np.abs(levels(np.clip(conversion.from_srgb(px / 255.0), 0, 1)) - lcms(px, None, icc))
    # near black a pure gamma is so steep that littleCMS's 8-bit tables round it apart
    assert back.max() < 2 and (back > 1).mean() < 0.005


def test_srgb_to_p3_and_back_within_a_level(p3):
    conversion, _ = colour.srgb_conversion(p3, 3)
    px = every_colour8(3)
    # P3 held as a 16-bit file would in between (sRGB fits inside P3, to within the
    # profiles' 16-bit fixed point)
    in_p3 = conversion.from_srgb(px / 255.0)
    assert in_p3.min() > -1e-3 and in_p3.max() < 1 + 1e-3
    in_p3 = np.rint(levels(np.clip(in_p3, 0, 1), 16)) / 65535
    assert np.abs(levels(conversion.to_srgb(in_p3)) - px).max() <= 1.0
    # why not 8 bits in between: littleCMS's 8-bit round trip moves a pure green 8 levels
    assert np.abs(lcms(lcms(px, None, p3), p3, None).astype(float) - px).max() > 4
    # 16-bit: a 16-bit sRGB image survives the float round trip to within a 16-bit level
    px16 = np.random.default_rng(0).integers(0, 65536, (64, 64, 3)) / 65535.0
    assert np.abs(levels(conversion.to_srgb(conversion.from_srgb(px16)), 16) - levels(px16, 16)).max() < 1.0


@pytest.mark.parametrize("depth", [8, 16])
def test_an_identity_restore_of_a_p3_image_keeps_its_pixels_and_profile(tmp_path, monkeypatch, p3,
                                                                       depth):
    rng = np.random.default_rng(depth)
    pixels = rng.random((12, 10, 3)).astype(np.float32)
    pixels[0, :3] = [[1, 0, 0], [0, 1, 0], [0.1, 0.9, 0.2]]   # saturated P3: outside sRGB
    src, dst = tmp_path / "p3.png", tmp_path / "out.png"
    write_image(src, pixels, ImageInfo("PNG", depth, False, False, icc_profile=p3), bit_depth=depth)
    original = read_image(src)
    events, model = restore_file(monkeypatch, src, dst)
    assert any(isinstance(e, Log) and "Display P3" in e.text and "p3.png" in e.text for e in events)
    out = read_image(dst)
    assert out.info.icc_profile == p3 and out.info.bit_depth == depth
    assert np.abs(levels(out.pixels, depth) - levels(original.pixels, depth)).max() <= 1.0
    assert not np.allclose(model.seen[0], original.pixels, atol=2 / 255)   # the model saw sRGB


def test_a_saturated_p3_colour_reaches_the_model_as_its_srgb_value(tmp_path, monkeypatch, p3):
    colour8 = np.array([[[200, 60, 40]]], np.uint8)   # an orange red P3 holds and sRGB too
    srgb8 = lcms(colour8, p3, None)[0, 0].astype(float)
    assert np.abs(srgb8 - colour8[0, 0]).max() > 15   # a shift anyone would see
    src = tmp_path / "p3.png"
    write_image(src, np.broadcast_to(colour8, (8, 8, 3)).copy(),
                ImageInfo("PNG", 8, False, False, icc_profile=p3))
    _, model = restore_file(monkeypatch, src, tmp_path / "out.png")
    seen = levels(model.seen[0].reshape(-1, 3))
    assert np.abs(seen - srgb8).max() <= 1.0


def test_a_classical_method_keeps_colours_beyond_srgb(tmp_path, monkeypatch, p3):
    """Bicubic x2 of flat P3 patches, one far outside sRGB: every patch keeps its P3 value."""
    flat = np.zeros((16, 16, 3), np.float32)
    flat[:8] = [0.95, 0.05, 0.05]   # P3 red: sRGB cannot hold it
    flat[8:] = [0.30, 0.55, 0.70]
    src, dst = tmp_path / "flat.png", tmp_path / "big.png"
    write_image(src, flat, ImageInfo("PNG", 16, False, False, icc_profile=p3), bit_depth=16)
    list(drive(restore_job, RestoreSpec((str(src),), str(dst), model="bicubic", scale=2)))
    out = read_image(dst)
    assert out.pixels.shape == (32, 32, 3) and out.info.icc_profile == p3
    assert np.abs(levels(out.pixels[2:12, 2:-2]) - levels(flat[0, 0])).max() <= 1.0
    assert np.abs(levels(out.pixels[20:30, 2:-2]) - levels(flat[-1, 0])).max() <= 1.0


def test_an_unreadable_profile_is_named_once_and_the_image_restored_as_it_is(tmp_path, monkeypatch,
                                                                              p3):
    broken = p3[:40] + b"\xff" * (len(p3) - 40)   # a header, then nothing littleCMS can read
    pixels = np.random.default_rng(3).random((6, 7, 3)).astype(np.float32)
    src, dst = tmp_path / "odd.png", tmp_path / "out.png"
    write_image(src, pixels, ImageInfo("PNG", 8, False, False, icc_profile=broken))
    events, model = restore_file(monkeypatch, src, dst)
    notes = [e.text for e in events if isinstance(e, Log) and "odd.png" in e.text]
    assert len(notes) == 1 and "without colour conversion" in notes[0]
    assert np.abs(levels(read_image(dst).pixels) - levels(read_image(src).pixels)).max() == 0


def test_conversion_can_be_skipped(tmp_path, monkeypatch, p3):
    src = tmp_path / "p3.png"
    write_image(src, np.full((4, 4, 3), 0.5, np.float32), ImageInfo("PNG", 8, False, False, icc_profile=p3))
    _, model = restore_file(monkeypatch, src, tmp_path / "out.png", colour=False)
    assert np.allclose(model.seen[0], read_image(src).pixels)
