"""TIFF through tifffile (integer and float), HEIF/AVIF, camera RAW and what is said
when a format's library is missing; tiny files made in tmp_path."""
from __future__ import annotations

import io
import struct
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, features

from desktop.cli import main
from engine import imageread
from engine.errors import ImageError
from engine.imageio import ImageInfo, read_image, write_image

RNG = np.random.default_rng(7)


def srgb_icc():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation=1):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"                                   # Make
    exif[0x011A], exif[0x011B], exif[0x0128] = 300.0, 300.0, 2  # 300 dpi
    exif.get_ifd(0x8769)[0x9003] = "2024:01:02 03:04:05"       # DateTimeOriginal
    exif.get_ifd(0x8825)[0x0001] = "N"                         # GPSLatitudeRef
    return exif


def parsed(exif_bytes):
    exif = Image.Exif()
    exif.load(exif_bytes)
    return exif


def error_of(path, **kwargs):
    with pytest.raises(ImageError) as caught:
        read_image(path, **kwargs)
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    return message


def hdr(h, w, c, dtype=np.float32):
    """Float pixels from -0.5 to 4: values above 1 (and below 0) must survive."""
    return (RNG.random((h, w, c)) * 4.5 - 0.5).astype(dtype)


# ------------------------------------------------------------------- float TIFF

@pytest.mark.parametrize("channels", [1, 3, 4])
def test_float32_tiff_round_trip_is_exact(tmp_path, channels):
    src = hdr(5, 7, channels)
    tifffile.imwrite(tmp_path / "in.tif", src[..., 0] if channels == 1 else src,
                     photometric="minisblack" if channels == 1 else "rgb",
                     extrasamples=("unassalpha",) if channels == 4 else None)
    img = read_image(tmp_path / "in.tif")
    assert (img.info.sample, img.info.bit_depth) == ("float", 32)
    assert img.info.has_alpha == (channels == 4) and img.info.is_grey == (channels == 1)
    assert img.pixels.dtype == np.float32 and img.pixels.max() > 3.5
    assert np.array_equal(img.pixels, src)

    write_image(tmp_path / "öut.tif", img.pixels, img.info)
    back = tifffile.imread(tmp_path / "öut.tif")
    assert back.dtype == np.float32
    assert np.array_equal(back.reshape(src.shape), src)
    assert np.array_equal(read_image(tmp_path / "öut.tif").pixels, src)


def test_float16_tiff_stays_float16(tmp_path):
    src = hdr(4, 6, 3, np.float16)
    tifffile.imwrite(tmp_path / "half.tif", src, photometric="rgb")
    img = read_image(tmp_path / "half.tif")
    assert (img.info.sample, img.info.bit_depth) == ("float", 16)
    assert np.array_equal(img.pixels, src.astype(np.float32))
    write_image(tmp_path / "out.tif", img.pixels, img.info)
    back = tifffile.imread(tmp_path / "out.tif")
    assert back.dtype == np.float16 and np.array_equal(back, src)


def test_float_written_elsewhere_is_clipped_to_16_bits(tmp_path):
    img_info = ImageInfo("TIFF", 32, False, False, sample="float")
    write_image(tmp_path / "f.png", np.array([[[2.0, 0.5, -1.0]]], np.float32), img_info)
    png = read_image(tmp_path / "f.png")
    assert png.info.bit_depth == 16 and png.info.sample == "uint"
    assert np.rint(png.pixels[0, 0] * 65535).tolist() == [65535, 32768, 0]
    write_image(tmp_path / "forced.tif", np.full((2, 2, 1), 0.25, np.float32), bit_depth=32)
    assert tifffile.imread(tmp_path / "forced.tif").dtype == np.float32


# ----------------------------------------------------------------- integer TIFF

def test_16bit_rgba_tiff_keeps_alpha_icc_and_exif(tmp_path):
    src = RNG.integers(0, 65536, (6, 5, 4), dtype=np.uint16)
    icc = srgb_icc()
    info = ImageInfo("PNG", 16, True, False, icc_profile=icc, exif=camera_exif().tobytes())
    write_image(tmp_path / "rgba.tif", src, info)

    img = read_image(tmp_path / "rgba.tif")
    assert (img.info.bit_depth, img.info.has_alpha, img.info.sample) == (16, True, "uint")
    assert np.array_equal(np.rint(img.pixels * 65535).astype(np.uint16), src)
    assert img.info.icc_profile == icc
    exif = parsed(img.info.exif)
    assert exif[0x010F] == "TestCam" and exif[0x011A] == 300.0
    assert exif.get_ifd(0x8769)[0x9003] == "2024:01:02 03:04:05"
    assert exif.get_ifd(0x8825)[0x0001] == "N"
    with tifffile.TiffFile(tmp_path / "rgba.tif") as tif:   # what other programs see
        page = tif.pages.first
        assert page.dtype == np.uint16 and page.extrasamples == (2,)   # unassociated alpha
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE


def test_tiff_orientation_is_applied_and_reset(tmp_path):
    src = np.zeros((2, 3, 3), np.uint16)
    src[0, 0] = 65535                                  # top-left marked
    tifffile.imwrite(tmp_path / "o.tif", src, photometric="rgb",
                     extratags=[(274, 3, 1, 6, True)])  # needs 90 degrees clockwise
    img = read_image(tmp_path / "o.tif")
    assert img.pixels.shape == (3, 2, 3) and img.pixels[0, 1, 0] == 1.0
    assert parsed(img.info.exif).get(0x0112, 1) == 1


def test_compressed_tiff_is_smaller_and_exact(tmp_path):
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))[..., None]
    write_image(tmp_path / "ramp.tif", ramp, bit_depth=16)
    write_image(tmp_path / "ramp32.tif", ramp, bit_depth=32)
    assert (tmp_path / "ramp.tif").stat().st_size < ramp.size * 2 / 4
    assert (tmp_path / "ramp32.tif").stat().st_size < ramp.size * 4
    assert np.array_equal(read_image(tmp_path / "ramp32.tif").pixels, ramp)
    tifffile.imwrite(tmp_path / "zlib.tif", hdr(4, 4, 3), photometric="rgb", compression="zlib")
    assert read_image(tmp_path / "zlib.tif").info.sample == "float"


def test_a_tiff_of_several_pages_says_only_the_first_is_read(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((3, 4, 4), np.uint16),
                     photometric="minisblack")
    stack = read_image(tmp_path / "stack.tif", log=False)
    assert stack.pixels.shape == (4, 4, 1)
    assert stack.warnings == ("stack.tif: it holds 3 images (TIFF pages); only the first is read",)
    with tifffile.TiffWriter(tmp_path / "pyramid.tif") as tif:   # a reduced copy is no image
        tif.write(np.zeros((8, 8), np.uint8))
        tif.write(np.zeros((4, 4), np.uint8), subfiletype=1)
    assert read_image(tmp_path / "pyramid.tif").warnings == ()


def test_16bit_grey_alpha_tiff_stays_grey(tmp_path):
    src = RNG.integers(0, 65536, (3, 4, 2), dtype=np.uint16)
    write_image(tmp_path / "ga.tif", src, bit_depth=16)
    img = read_image(tmp_path / "ga.tif")
    assert img.pixels.shape == (3, 4, 2) and img.info.is_grey and img.info.has_alpha
    assert np.array_equal(np.rint(img.pixels * 65535).astype(np.uint16), src)


def test_min_is_white_and_premultiplied_alpha_are_undone(tmp_path):
    grey = np.array([[0, 65535, 1000]], np.uint16)
    tifffile.imwrite(tmp_path / "miw.tif", grey, photometric="miniswhite")
    assert np.rint(read_image(tmp_path / "miw.tif").pixels[0, :, 0] * 65535).tolist() == \
        [65535, 0, 64535]
    rgba = np.array([[[100, 50, 0, 200]]], np.uint16)  # colour already multiplied by alpha
    tifffile.imwrite(tmp_path / "assoc.tif", rgba, photometric="rgb",
                     extrasamples=("assocalpha",))
    px = read_image(tmp_path / "assoc.tif").pixels[0, 0]
    assert np.rint(px * 65535).tolist() == [32768, 16384, 0, 200]


@pytest.mark.parametrize("array,kwargs,words", [
    (np.zeros((3, 3), np.uint32), {}, "a 32-bit integer greyscale TIFF"),
    (np.zeros((3, 3), np.int16), {}, "a 16-bit signed integer greyscale TIFF"),
    (np.zeros((3, 3, 5), np.uint16), {"photometric": "rgb", "planarconfig": "contig",
                                   "extrasamples": (0, 0)},
     "a 16-bit integer RGB TIFF with 2 extra channels"),
    (np.zeros((3, 3), np.complex64), {}, "a 64-bit complex float greyscale TIFF"),
    (np.zeros((3, 3), np.float32), {"photometric": "miniswhite"},
     "a 32-bit float min-is-white greyscale TIFF"),
])
def test_unsupported_tiff_layouts_are_described_in_words(tmp_path, array, kwargs, words):
    tifffile.imwrite(tmp_path / "odd.tif", array, **kwargs)
    message = error_of(tmp_path / "odd.tif")
    assert f"is {words}, which is not supported" in message
    assert "mode" not in message and ";" not in message


def patched_tiff(tag: int, value: int, array=None, photometric="rgb") -> bytes:
    """A deflate TIFF (float RGB unless ``array``) whose tag ``tag`` says ``value``: tifffile
    writes neither the floating-point predictor nor LZW without imagecodecs, as Photoshop
    stores 32-bit files."""
    buffer = io.BytesIO()
    extra = [] if tag == 259 else [(65000, 3, 1, value, True)]   # a stand-in, renamed below
    tifffile.imwrite(buffer, hdr(4, 4, 3) if array is None else array, photometric=photometric,
                     compression="zlib", byteorder="<", extratags=extra)
    data = bytearray(buffer.getvalue())
    if tag == 259:
        at = data.find(struct.pack("<HHIH", 259, 3, 1, 8))
        data[at + 8:at + 10] = struct.pack("<H", value)
    else:
        at = data.find(struct.pack("<HHI", 65000, 3, 1))
        data[at:at + 2] = struct.pack("<H", tag)
    return bytes(data)


@pytest.mark.parametrize("tag,value,packing", [
    (317, 3, "compressed with deflate and the floating-point predictor"),
    (259, 5, "compressed with LZW")])
def test_float_tiff_needing_imagecodecs_says_so_in_one_sentence(tmp_path, monkeypatch, tag,
                                                                value, packing):
    (tmp_path / "ps.tif").write_bytes(patched_tiff(tag, value))
    without(monkeypatch, "imagecodecs")           # a bundle built without it
    assert error_of(tmp_path / "ps.tif") == (
        f"'ps.tif' is a 32-bit float RGB TIFF {packing}; reading it needs the imagecodecs "
        f"package, which this installation lacks.")


def photoshop_tiffs(folder):
    """What Photoshop and Lightroom save: LZW with the floating-point predictor (32-bit
    float RGB) and LZW with the horizontal one (16-bit RGB)."""
    pytest.importorskip("imagecodecs")
    floats, ints = hdr(6, 9, 3), (RNG.random((6, 9, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(folder / "float.tif", floats, photometric="rgb", compression="lzw",
                     predictor=True)
    tifffile.imwrite(folder / "sixteen.tif", ints, photometric="rgb", compression="lzw",
                     predictor=True)
    return floats, ints


def test_lzw_and_predictor_tiffs_read_exactly(tmp_path):
    floats, ints = photoshop_tiffs(tmp_path)
    with tifffile.TiffFile(tmp_path / "float.tif") as tif:   # what the test stands for
        page = tif.pages.first
        assert (page.compression, page.predictor) == (5, 3)
    img = read_image(tmp_path / "float.tif")
    assert img.info.sample == "float" and img.info.bit_depth == 32
    assert np.array_equal(img.pixels, floats)
    sixteen = read_image(tmp_path / "sixteen.tif", as_float=False)
    assert sixteen.info.bit_depth == 16 and np.array_equal(sixteen.pixels, ints)


def test_without_imagecodecs_an_lzw_16bit_tiff_still_reads(tmp_path, monkeypatch):
    floats, ints = photoshop_tiffs(tmp_path)
    without(monkeypatch, "imagecodecs")           # Pillow / OpenCV have their own LZW
    assert np.array_equal(read_image(tmp_path / "sixteen.tif", as_float=False).pixels, ints)
    assert error_of(tmp_path / "float.tif") == (
        "'float.tif' is a 32-bit float RGB TIFF compressed with LZW and the floating-point "
        "predictor; reading it needs the imagecodecs package, which this installation lacks.")


def test_layouts_refused_before_decoding_are_said_in_words(tmp_path):
    # a 16-bit CMYK TIFF compressed with LZW (which needs imagecodecs): still said in words
    (tmp_path / "print.tif").write_bytes(patched_tiff(
        259, 5, np.zeros((4, 4, 4), np.uint16), photometric="separated"))
    message = error_of(tmp_path / "print.tif")
    assert message == "'print.tif' is a 16-bit integer CMYK TIFF, which is not supported."
    # a Pillow mode with no words of ours is not shown as its letters
    assert "with an unusual pixel layout" in imageread._describe_mode("BGR;16", "BMP")
    assert "BGR" not in imageread._describe_mode("BGR;16", "BMP")


def test_pixel_limit_checked_before_tiff_pixels_are_decoded(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "big.tif", hdr(10, 10, 3), photometric="rgb")
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda *a, **k: pytest.fail("decoded"))
    assert "too large (10 x 10 pixels" in error_of(tmp_path / "big.tif", max_pixels=99)


# ------------------------------------------------------------------ HEIF / AVIF

def heif_can_encode():
    try:
        import pillow_heif
        return bool(pillow_heif.libheif_info().get("HEIF"))
    except Exception:
        return False


def avif_can_encode():
    if features.check("avif"):
        return True
    try:
        import pillow_heif
        return bool(pillow_heif.libheif_info().get("AVIF"))
    except Exception:
        return False


def smooth(h=16, w=24, alpha=False):
    y, x = np.mgrid[0:h, 0:w]
    planes = [x / (w - 1), y / (h - 1), np.full((h, w), 0.5)] + ([x / (w - 1)] if alpha else [])
    return np.stack(planes, -1).astype(np.float32)


@pytest.mark.skipif(not heif_can_encode(), reason="pillow-heif has no HEIF encoder here")
def test_heif_round_trip(tmp_path):
    icc = srgb_icc()
    src = np.rint(smooth(alpha=True) * 255) / 255
    info = ImageInfo("PNG", 8, True, False, icc_profile=icc, exif=camera_exif(6).tobytes())
    write_image(tmp_path / "fotó.heic", src, info, quality=100)      # lossless
    img = read_image(tmp_path / "fotó.heic")
    assert img.info.format == "HEIF" and img.pixels.shape == (16, 24, 4)
    assert np.array_equal(np.rint(img.pixels * 255), np.rint(src * 255))
    assert img.info.icc_profile == icc
    exif = parsed(img.info.exif)
    assert exif[0x010F] == "TestCam" and exif.get(0x0112, 1) == 1

    write_image(tmp_path / "lossy.heif", src[..., :3], info)          # default quality
    lossy = read_image(tmp_path / "lossy.heif").pixels
    assert lossy.shape == (16, 24, 3) and np.abs(lossy - src[..., :3]).mean() < 0.02


@pytest.mark.skipif(not avif_can_encode(), reason="no AVIF encoder here")
def test_avif_round_trip(tmp_path):
    src = smooth(alpha=True)
    write_image(tmp_path / "a.avif", src, ImageInfo("PNG", 8, True, False,
                                                    exif=camera_exif().tobytes()))
    img = read_image(tmp_path / "a.avif")
    assert img.info.format == "AVIF" and img.pixels.shape == (16, 24, 4)
    assert np.abs(img.pixels - src).mean() < 0.02
    assert parsed(img.info.exif)[0x010F] == "TestCam"


def without(monkeypatch, module):
    """Make ``import module`` fail, as in a bundle built without it."""
    monkeypatch.setitem(sys.modules, module, None)


def test_missing_pillow_heif_is_one_clear_line(tmp_path, monkeypatch):
    (tmp_path / "x.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    without(monkeypatch, "pillow_heif")
    message = error_of(tmp_path / "x.heic")
    assert message == ("'x.heic' is a HEIF image; reading it needs the pillow-heif package, "
                       "which this installation lacks.")
    with pytest.raises(ImageError, match="writing it needs the pillow-heif package"):
        write_image(tmp_path / "y.heic", smooth())
    assert not (tmp_path / "y.heic").exists()


def test_avif_with_no_decoder_says_so(tmp_path, monkeypatch):
    (tmp_path / "x.avif").write_bytes(b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif")
    without(monkeypatch, "pillow_heif")
    monkeypatch.setattr(imageread.features, "check", lambda name: False)
    assert "is an AVIF image; reading it needs" in error_of(tmp_path / "x.avif")


# ------------------------------------------------------------------- camera RAW

def make_dng(h=32, w=48, ramp=False) -> bytes:
    """A minimal uncompressed Bayer (RGGB) DNG: 14-bit, identity colour matrix; flat
    colour, or with ``ramp`` every level from deep shadow to near white across it."""
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2], cfa[1::2, 1::2] = 3000, 2000          # red, blue
    cfa[0::2, 1::2] = cfa[1::2, 0::2] = 4000                # green
    if ramp:
        cfa = (cfa * np.geomspace(0.005, 3.0, w)).astype(np.uint16)
    one = (10000, 10000)
    tags = [(50706, 1, 4, (1, 4, 0, 0), True),              # DNGVersion
            (50708, 2, None, "RestoreLab Test", True),      # UniqueCameraModel
            (271, 2, None, "TestCam", True),                # Make
            (33421, 3, 2, (2, 2), True),                    # CFARepeatPatternDim
            (33422, 1, 4, (0, 1, 1, 2), True),              # CFAPattern: RGGB
            (50717, 4, 1, (16383,), True),                  # WhiteLevel
            (50721, 10, 9, (one + (0, 1) * 3) * 2 + one, True),  # ColorMatrix1
            (50778, 3, 1, (21,), True),                     # CalibrationIlluminant1: D65
            (50728, 5, 3, one * 3, True)]                   # AsShotNeutral
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, cfa, photometric=32803, extratags=tags, metadata=None,
                     software=False)
    return buffer.getvalue()


def test_dng_is_developed_to_16bit_rgb(tmp_path):
    (tmp_path / "shot.dng").write_bytes(make_dng())
    img = read_image(tmp_path / "shot.dng")
    assert img.info.format == "RAW" and img.info.bit_depth == 16
    assert img.pixels.shape == (32, 48, 3) and not img.info.has_alpha
    r, g, b = img.pixels.reshape(-1, 3).mean(0)
    assert g > r > b > 0.05                     # the sensor's green > red > blue survives
    exif = parsed(img.info.exif)                # camera tags kept, sensor layout dropped
    assert exif[0x010F] == "TestCam" and 33422 not in exif and 50706 not in exif
    with pytest.raises(ImageError, match="can only be read; save as .tif or .png"):
        write_image(tmp_path / "back.dng", img.pixels, img.info)
    write_image(tmp_path / "developed.tif", img.pixels, img.info)
    assert tifffile.imread(tmp_path / "developed.tif").dtype == np.uint16


def srgb_decoded(x):
    """sRGB-encoded values -> linear light (IEC 61966-2-1)."""
    x = np.asarray(x, np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def test_a_raw_developed_linear_is_the_srgb_one_in_linear_light(tmp_path):
    from engine import colour

    (tmp_path / "ramp.dng").write_bytes(make_dng(32, 64, ramp=True))
    srgb = read_image(tmp_path / "ramp.dng")
    linear = read_image(tmp_path / "ramp.dng", raw="linear")
    assert srgb.info.icc_profile is None                 # untagged: sRGB, as every photo
    assert linear.info.icc_profile == colour.linear_srgb_icc()
    assert linear.info.bit_depth == 16 and linear.pixels.shape == srgb.pixels.shape
    gap = np.abs(srgb_decoded(srgb.pixels) - linear.pixels) * 65535
    assert gap.max() < 2.0, gap.max()                    # the same development, two curves
    assert srgb.pixels.mean() > linear.pixels.mean() + 0.1   # and not the same pixels
    with pytest.raises(ValueError, match="raw must be one of"):
        read_image(tmp_path / "ramp.dng", raw="log")


def test_the_linear_profile_is_one_littlecms_reads_as_linear_srgb():
    from engine import colour

    icc = colour.linear_srgb_icc()
    assert colour.description(icc) == "Linear sRGB (gamma 1.0)"
    v = np.arange(256, dtype=np.uint8)
    ramp = np.stack([v, v[::-1], v // 2], axis=-1)[None]
    transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                        ImageCms.createProfile("sRGB"), "RGB", "RGB")
    encoded = np.asarray(ImageCms.applyTransform(Image.fromarray(ramp), transform), float)
    x = ramp / 255.0
    want = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055) * 255
    assert np.abs(encoded - want).max() <= 1.0           # other programs see linear light


def test_a_linear_raw_is_restored_in_srgb_and_saved_linear(tmp_path, monkeypatch, capsys):
    from engine import colour, restore
    from engine.descriptor import Restorer
    from engine.jobs import drive

    (tmp_path / "ramp.dng").write_bytes(make_dng(32, 64, ramp=True))
    linear = read_image(tmp_path / "ramp.dng", raw="linear", as_float=False).pixels
    # a classical method that changes nothing (unsharp mask of amount 0), through the CLI
    rc = main(["restore", str(tmp_path / "ramp.dng"), "-o", str(tmp_path / "out.tif"),
               "--raw", "linear", "--model", "unsharp", "--set", "amount=0", "-q"])
    assert rc == 0, capsys.readouterr().err
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        out = tif.pages.first.asarray()
        assert bytes(tif.pages.first.tags[34675].value) == colour.linear_srgb_icc()
    assert out.dtype == np.uint16
    assert np.abs(out.astype(int) - linear).max() <= 1   # the linear values back, to a level

    class Seeing(Restorer):                 # an identity net that keeps what it is given
        id = title = "identity"
        seen: list = []

        def run(self, x, precision=None):
            self.seen.append(np.array(x, np.float32))
            return np.array(x, np.float32)

    monkeypatch.setattr(restore, "load_restorer", lambda *a, **k: Seeing())
    events = list(drive(restore.restore_job, restore.RestoreSpec(
        (str(tmp_path / "ramp.dng"),), str(tmp_path / "net.tif"), raw="linear")))
    assert any("converted from 'Linear sRGB (gamma 1.0)' to sRGB" in getattr(e, "text", "")
               for e in events)
    seen = np.concatenate([x.reshape(-1, 3) for x in Seeing.seen])
    srgb = read_image(tmp_path / "ramp.dng").pixels.reshape(-1, 3)   # what nets know
    assert np.abs(seen - srgb).max() * 65535 < 3


def test_the_cli_raw_choices_are_the_engines():
    from desktop.commands.restore import RAW_CHOICES
    from engine.imagebase import RAW_DEVELOP

    assert RAW_CHOICES == RAW_DEVELOP


def test_damaged_raw_and_missing_rawpy(tmp_path, monkeypatch):
    (tmp_path / "cut.dng").write_bytes(make_dng()[:300])
    (tmp_path / "notes.nef").write_text("not a raw file")
    for name in ("cut.dng", "notes.nef"):
        message = error_of(tmp_path / name)
        assert "is not a camera RAW file rawpy can read, or it is damaged" in message
    without(monkeypatch, "rawpy")
    assert error_of(tmp_path / "notes.nef") == (
        "'notes.nef' is a camera RAW image; reading it needs the rawpy package, "
        "which this installation lacks.")


def test_raw_files_in_a_batch_are_saved_as_16bit_tiff(tmp_path, capsys):
    """A RAW cannot be written back: restored with others into a folder (CLI) or saved
    from the window, it becomes a .tif beside the others instead of failing at the end."""
    from desktop.restore.files import output_name

    (tmp_path / "shot.dng").write_bytes(make_dng())
    Image.fromarray(np.full((4, 4, 3), 9, np.uint8)).save(tmp_path / "also.png")
    rc = main(["restore", str(tmp_path / "shot.dng"), str(tmp_path / "also.png"),
               "-o", str(tmp_path / "out"), "--model", "bicubic", "-q"])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["also.png", "shot.tif"]
    assert tifffile.imread(tmp_path / "out" / "shot.tif").dtype == np.uint16
    assert output_name("/cards/IMG_1.CR2") == "IMG_1_restored.tif"
    assert output_name("a.heic") == "a_restored.heic"
