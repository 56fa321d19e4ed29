"""engine.imageio round trips: depth, channels, alpha, ICC, EXIF and orientation kept, on
tiny synthetic images made in tmp_path (bad input and failed writes: test_image_errors.py)."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from engine.imageio import (ImageInfo, is_image_path, join_alpha, read_image, split_alpha,
                            to_uint8, write_image)

RNG = np.random.default_rng(1234)


def rand8(h=6, w=9, c=3):
    return RNG.integers(0, 256, (h, w, c), dtype=np.uint8)


def rand16(h=6, w=9, c=3):
    return RNG.integers(0, 65536, (h, w, c), dtype=np.uint16)


def save_pil(path, arr, **options):
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path, **options)


def pil_open(path):
    """Open with Pillow without leaving a file handle behind."""
    return Image.open(io.BytesIO(path.read_bytes()))


def as_int(pixels, depth):
    return np.rint(pixels * (255 if depth == 8 else 65535)).astype(np.int64)


def read_cv2_rgb(path):
    """Raw file pixels via OpenCV, converted to RGB(A) order."""
    arr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]
    return arr


def srgb_icc():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---------------------------------------------------------------- round trips

def test_png_8bit_rgb_round_trip_exact(tmp_path):
    src = rand8()
    save_pil(tmp_path / "a.png", src)
    img = read_image(tmp_path / "a.png")
    assert img.pixels.dtype == np.float32 and img.pixels.shape == (6, 9, 3)
    assert np.array_equal(as_int(img.pixels, 8), src)
    info = img.info
    assert (info.format, info.bit_depth, info.has_alpha, info.is_grey) == ("PNG", 8, False, False)
    assert info.source == str(tmp_path / "a.png")

    write_image(tmp_path / "b.png", img.pixels, img.info)
    assert np.array_equal(np.asarray(pil_open(tmp_path / "b.png")), src)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_from_opencv_round_trip(tmp_path, suffix):
    src = rand16()
    ok, buf = cv2.imencode(suffix, src[..., ::-1])
    assert ok
    (tmp_path / f"a{suffix}").write_bytes(buf.tobytes())

    img = read_image(tmp_path / f"a{suffix}")
    assert img.info.bit_depth == 16 and img.pixels.shape == (6, 9, 3)
    assert np.array_equal(as_int(img.pixels, 16), src)

    write_image(tmp_path / f"b{suffix}", img.pixels, img.info)
    back = read_cv2_rgb(tmp_path / f"b{suffix}")
    assert back.dtype == np.uint16
    assert np.array_equal(back, src)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_write_read_keeps_depth_and_channels(tmp_path, suffix, depth, channels):
    src = rand16(5, 7, channels) if depth == 16 else rand8(5, 7, channels)
    pixels = src.astype(np.float32) / (65535 if depth == 16 else 255)
    write_image(tmp_path / f"x{suffix}", pixels, bit_depth=depth)

    img = read_image(tmp_path / f"x{suffix}")
    if (suffix, depth, channels) == (".png", 16, 2):  # documented: stored as RGBA
        src = np.concatenate([src[..., :1]] * 3 + [src[..., 1:]], axis=2)
        channels = 4
    assert img.pixels.shape == (5, 7, channels)
    assert img.info.bit_depth == depth
    assert img.info.is_grey == (channels in (1, 2))
    assert img.info.has_alpha == (channels in (2, 4))
    assert np.array_equal(as_int(img.pixels, depth), src)
    # raw check; skip grey + alpha (OpenCV expands it) and 8-bit RGBA TIFF
    # (OpenCV premultiplies its alpha)
    if channels != 2 and (suffix, depth, channels) != (".tif", 8, 4):
        raw = read_cv2_rgb(tmp_path / f"x{suffix}")
        assert raw.dtype == (np.uint16 if depth == 16 else np.uint8)
        assert np.array_equal(raw.reshape(src.shape), src)


def test_rgba_alpha_is_kept(tmp_path):
    src = rand8(4, 4, 4)
    src[0, 0, 3] = 0
    save_pil(tmp_path / "a.png", src)
    img = read_image(tmp_path / "a.png")
    assert img.info.has_alpha and img.pixels.shape[2] == 4
    assert img.pixels[0, 0, 3] == 0.0
    write_image(tmp_path / "b.webp", img.pixels, img.info, quality=100)  # lossless
    assert np.array_equal(np.asarray(pil_open(tmp_path / "b.webp").convert("RGBA")), src)


def test_grey_and_grey_alpha_stay_grey(tmp_path):
    save_pil(tmp_path / "g.png", rand8(3, 4, 1))
    save_pil(tmp_path / "ga.png", rand8(3, 4, 2))
    g, ga = read_image(tmp_path / "g.png"), read_image(tmp_path / "ga.png")
    assert g.pixels.shape == (3, 4, 1) and g.info.is_grey and not g.info.has_alpha
    assert ga.pixels.shape == (3, 4, 2) and ga.info.is_grey and ga.info.has_alpha


@pytest.mark.parametrize("suffix,depth", [(".png", 8), (".png", 16), (".tif", 8),
                                          (".tif", 16), (".jpg", 8), (".webp", 8)])
def test_icc_profile_preserved(tmp_path, suffix, depth):
    icc = srgb_icc()
    info = ImageInfo("PNG", depth, False, False, icc_profile=icc, exif=None, source=None)
    write_image(tmp_path / f"a{suffix}", rand8().astype(np.float32) / 255, info)
    img = read_image(tmp_path / f"a{suffix}")
    assert img.info.icc_profile == icc
    assert img.info.bit_depth == depth


def test_rgb_profile_is_not_put_on_grey_pixels(tmp_path):
    info = ImageInfo("PNG", 8, False, False, icc_profile=srgb_icc(), exif=None, source=None)
    write_image(tmp_path / "g.png", rand8(3, 3, 1).astype(np.float32) / 255, info)
    assert read_image(tmp_path / "g.png").info.icc_profile is None


# ------------------------------------------------------------------ orientation

def exif_with(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make
    exif.get_ifd(0x8769)[0x9003] = "2024:01:02 03:04:05"  # DateTimeOriginal, in the Exif IFD
    return exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    src = rand8(3, 5)
    save_pil(tmp_path / "o.png", src, exif=exif_with(orientation))
    img = read_image(tmp_path / "o.png")
    expected = np.asarray(ImageOps.exif_transpose(pil_open(tmp_path / "o.png")))
    assert np.array_equal(as_int(img.pixels, 8), expected)

    stored = Image.Exif()
    stored.load(img.info.exif)
    assert stored[0x0112] == 1 and stored[0x010F] == "TestCam"


def test_orientation_6_and_3_layout(tmp_path):
    src = np.zeros((2, 3, 3), np.uint8)
    src[0, 0] = 255  # top-left pixel marked
    save_pil(tmp_path / "six.png", src, exif=exif_with(6))
    save_pil(tmp_path / "three.png", src, exif=exif_with(3))
    six = read_image(tmp_path / "six.png").pixels
    three = read_image(tmp_path / "three.png").pixels
    assert six.shape == (3, 2, 3) and six[0, 1, 0] == 1.0   # rotated 90 deg clockwise
    assert three.shape == (2, 3, 3) and three[1, 2, 0] == 1.0  # rotated 180 deg


def test_orientation_applied_to_16bit_png(tmp_path):
    src = rand16(2, 3)
    exif = exif_with(6).tobytes()[6:]  # PNG eXIf holds the TIFF data without the header
    ok, buf = cv2.imencodeWithMetadata(".png", src[..., ::-1], [cv2.IMAGE_METADATA_EXIF],
                                       [np.frombuffer(exif, np.uint8)])
    assert ok
    (tmp_path / "o16.png").write_bytes(buf.tobytes())
    img = read_image(tmp_path / "o16.png")
    assert img.info.bit_depth == 16
    assert np.array_equal(as_int(img.pixels, 16), np.rot90(src, -1))


def test_jpeg_orientation_and_written_exif_is_upright(tmp_path):
    src = np.zeros((16, 32, 3), np.uint8)
    src[:, :8] = 255  # white band on the left
    save_pil(tmp_path / "o.jpg", src, exif=exif_with(3), quality=95)
    img = read_image(tmp_path / "o.jpg")
    assert img.pixels.shape == (16, 32, 3)
    assert img.pixels[:, -4:].mean() > 0.9 and img.pixels[:, :4].mean() < 0.1

    write_image(tmp_path / "b.jpg", img.pixels, img.info)
    again = read_image(tmp_path / "b.jpg")
    assert again.pixels[:, -4:].mean() > 0.9
    assert pil_open(tmp_path / "b.jpg").getexif()[0x010F] == "TestCam"


# ------------------------------------------------------------- other formats

def test_jpeg_webp_bmp_and_pillow_tiff_read(tmp_path):
    src = rand8(8, 8)
    smooth = np.full((8, 8, 3), (200, 100, 50), np.uint8)
    save_pil(tmp_path / "a.jpg", smooth, quality=100)
    save_pil(tmp_path / "a.webp", src, lossless=True)
    save_pil(tmp_path / "a.bmp", src)
    save_pil(tmp_path / "a.tif", src, compression="tiff_lzw")

    jpg = read_image(tmp_path / "a.jpg")
    assert jpg.info.format == "JPEG" and np.abs(as_int(jpg.pixels, 8) - smooth).max() <= 3
    webp = read_image(tmp_path / "a.webp")
    assert webp.info.format == "WEBP" and np.array_equal(as_int(webp.pixels, 8), src)
    bmp = read_image(tmp_path / "a.bmp")
    assert bmp.info.format == "BMP" and np.array_equal(as_int(bmp.pixels, 8), src)
    tif = read_image(tmp_path / "a.tif")
    assert tif.info.format == "TIFF" and np.array_equal(as_int(tif.pixels, 8), src)


def test_jpeg_and_bmp_drop_alpha_over_white(tmp_path):
    pixels = np.zeros((4, 4, 4), np.float32)  # black, fully transparent
    for suffix in (".jpg", ".bmp"):
        write_image(tmp_path / f"a{suffix}", pixels, bit_depth=16)
        img = read_image(tmp_path / f"a{suffix}")
        assert img.pixels.shape == (4, 4, 3) and img.info.bit_depth == 8
        assert img.pixels.min() > 0.95


def test_palette_bilevel_and_cmyk_are_converted(tmp_path):
    pal = Image.fromarray(rand8(4, 4)).convert("P")
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    assert read_image(tmp_path / "p.png").pixels.shape == (4, 4, 4)

    Image.fromarray(rand8(4, 4, 1)[..., 0]).convert("1").save(tmp_path / "b.png")
    bilevel = read_image(tmp_path / "b.png").pixels
    assert bilevel.shape == (4, 4, 1) and set(np.unique(bilevel)) <= {0.0, 1.0}

    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    cmyk = read_image(tmp_path / "c.jpg")
    assert cmyk.pixels.shape == (4, 4, 3) and not cmyk.info.is_grey
    assert cmyk.pixels[..., 0].mean() > 0.9 and cmyk.pixels[..., 1].mean() < 0.1  # red


def test_unicode_path(tmp_path):
    path = tmp_path / "fotó_测试.png"
    src = rand8()
    write_image(path, src.astype(np.float32) / 255)
    assert np.array_equal(as_int(read_image(path).pixels, 8), src)


def test_bit_depth_argument_overrides_info(tmp_path):
    info = ImageInfo("PNG", 8, False, False, None, None, None)
    write_image(tmp_path / "a.png", rand8().astype(np.float32) / 255, info, bit_depth=16)
    assert read_cv2_rgb(tmp_path / "a.png").dtype == np.uint16
    info16 = ImageInfo("PNG", 16, False, False, None, None, None)
    write_image(tmp_path / "b.png", rand8().astype(np.float32) / 255, info16, bit_depth=8)
    assert read_cv2_rgb(tmp_path / "b.png").dtype == np.uint8


# ------------------------------------------------------------------ helpers

def test_split_and_join_alpha():
    rgba = RNG.random((3, 4, 4), dtype=np.float32)
    colour, alpha = split_alpha(rgba)
    assert colour.shape == (3, 4, 3) and alpha.shape == (3, 4, 1)
    assert np.array_equal(join_alpha(colour, alpha), rgba)
    assert np.array_equal(join_alpha(colour, alpha[..., 0]), rgba)

    grey, none = split_alpha(np.zeros((3, 4), np.float32))
    assert grey.shape == (3, 4, 1) and none is None
    assert join_alpha(grey, None) is grey
    ga_colour, ga_alpha = split_alpha(np.zeros((3, 4, 2), np.float32))
    assert ga_colour.shape == (3, 4, 1) and ga_alpha.shape == (3, 4, 1)
    with pytest.raises(ValueError):
        split_alpha(np.zeros((3, 4, 5), np.float32))


def test_to_uint8_clips_and_rounds():
    pixels = np.array([[-0.5, 0.0, 0.5, 1.0, 7.0, np.nan]], np.float32)
    out = to_uint8(pixels)
    assert out.dtype == np.uint8 and out.shape == (1, 6, 1)
    assert out[0, :, 0].tolist() == [0, 0, 128, 255, 255, 0]


def test_is_image_path():
    assert is_image_path("a/b/Photo.JPG") and is_image_path("x.tiff")
    assert not is_image_path("notes.txt") and not is_image_path("noext")


def test_exif_survives_every_writer(tmp_path):
    save_pil(tmp_path / "src.jpg", rand8(), exif=exif_with(1))
    img = read_image(tmp_path / "src.jpg")
    for suffix, depth in ((".png", 8), (".png", 16), (".tif", 8), (".tif", 16), (".webp", 8)):
        out = tmp_path / f"out{depth}{suffix}"
        write_image(out, img.pixels, img.info, bit_depth=depth)
        again = read_image(out)
        assert again.info.bit_depth == depth
        # and on to a JPEG, which must not pick up TIFF layout tags on the way
        write_image(tmp_path / "chain.jpg", again.pixels, again.info)
        exif = pil_open(tmp_path / "chain.jpg").getexif()
        assert exif[0x010F] == "TestCam", out.name
        assert exif.get_ifd(0x8769)[0x9003] == "2024:01:02 03:04:05", out.name
        assert 273 not in exif and 256 not in exif, out.name
