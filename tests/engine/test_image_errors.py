"""engine.imageio on bad input: one clear line naming the file for every file it cannot
read, library warnings turned into such lines, and writes that fail leaving the old file."""
from __future__ import annotations

import errno
import io
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

from engine import imageio, imageread, imagewrite
from engine.errors import ImageError
from engine.imageio import read_image, write_image

RNG = np.random.default_rng(4321)


def rand8(h=6, w=9, c=3):
    return RNG.integers(0, 256, (h, w, c), dtype=np.uint8)


def save_pil(path, arr, **options):
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path, **options)


def leftover_files(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def bad_exif_jpeg(path):
    """A JPEG whose APP1 Exif block has its first IFD cut short: Pillow warns
    "Corrupt EXIF data" and reads the pixels."""
    buf = io.BytesIO()
    Image.fromarray(rand8()).save(buf, "JPEG")
    jpeg = buf.getvalue()
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + b"\x00" * 6  # 5 entries, 6 bytes
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    return path


# ----------------------------------------------------------------- bad input

def expect_error(path, **kwargs):
    with pytest.raises(ImageError) as caught:
        read_image(path, **kwargs)
    assert path.name in str(caught.value)
    return str(caught.value)


def test_missing_empty_directory_and_text_files(tmp_path):
    assert "not found" in expect_error(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in expect_error(tmp_path / "empty.png")
    (tmp_path / "folder.png").mkdir()
    assert "folder" in expect_error(tmp_path / "folder.png")
    (tmp_path / "notes.png").write_text("just some text, not pixels\n")
    assert "not an image" in expect_error(tmp_path / "notes.png")


@pytest.mark.parametrize("suffix,depth", [(".png", 8), (".png", 16), (".jpg", 8)])
def test_truncated_file(tmp_path, suffix, depth):
    pixels = RNG.random((64, 64, 3), dtype=np.float32)
    write_image(tmp_path / f"full{suffix}", pixels, bit_depth=depth)
    data = (tmp_path / f"full{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    assert "damaged" in expect_error(tmp_path / f"cut{suffix}")


def test_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    save_pil(path, rand8())

    def deny(self):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(type(path), "read_bytes", deny)
    assert "Permission denied" in expect_error(path)


def test_unsupported_mode(tmp_path):
    Image.fromarray(RNG.integers(0, 2**31, (4, 4), dtype=np.int32)).save(tmp_path / "int.tif")
    message = expect_error(tmp_path / "int.tif")
    assert "32-bit signed integer greyscale TIFF" in message and "mode I" not in message


def test_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    save_pil(tmp_path / "big.png", rand8(10, 10))
    monkeypatch.setattr(imageread, "_decode_pillow", lambda *a: pytest.fail("decoded"))
    assert "too large" in expect_error(tmp_path / "big.png", max_pixels=99)
    monkeypatch.undo()
    assert read_image(tmp_path / "big.png", max_pixels=100).pixels.shape == (10, 10, 3)
    assert read_image(tmp_path / "big.png", max_pixels=None).pixels.shape == (10, 10, 3)


# -------------------------------------------------------------------- writing

def test_unknown_suffix_is_rejected(tmp_path):
    with pytest.raises(ImageError, match="out.gif"):
        write_image(tmp_path / "out.gif", np.zeros((2, 2, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_failed_encoding_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    save_pil(target, rand8())
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise ValueError("encoder exploded")
    monkeypatch.setattr(imagewrite, "_encode_pillow", broken)
    with pytest.raises(ImageError, match="keep.png"):
        write_image(target, np.zeros((2, 2, 3), np.float32))
    assert target.read_bytes() == before
    assert leftover_files(tmp_path, {"keep.png"}) == []


def test_disk_full_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.tif"
    write_image(target, np.ones((3, 3, 3), np.float32))
    before = target.read_bytes()

    def disk_full(tmp, data):
        tmp.write_bytes(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(imagewrite, "_write_bytes", disk_full)
    with pytest.raises(ImageError, match="No space left") as caught:
        write_image(target, np.zeros((3, 3, 3), np.float32))
    assert "keep.tif" in str(caught.value)
    assert target.read_bytes() == before
    assert leftover_files(tmp_path, {"keep.tif"}) == []


def test_write_leaves_no_temp_files(tmp_path):
    for suffix in sorted(imageio.WRITABLE_SUFFIXES):
        write_image(tmp_path / f"a{suffix}", np.full((2, 2, 3), 0.5, np.float32))
    assert len(list(tmp_path.iterdir())) == len(imageio.WRITABLE_SUFFIXES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------ warnings

def test_corrupt_exif_warning_is_one_line_naming_the_file(tmp_path, caplog, recwarn):
    bad = bad_exif_jpeg(tmp_path / "bad exif.jpg")
    with caplog.at_level("WARNING", logger="restorelab.imageio"):
        loaded = read_image(bad)
        again = read_image(bad, log=False)          # a job that yields it as a Log event
    assert loaded.pixels.shape == (6, 9, 3)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("warning: bad exif.jpg: Corrupt EXIF data")
    # the same line each time (Python's once-per-place filter would drop the second)
    assert loaded.warnings == again.warnings == (lines[0].removeprefix("warning: "),)
    assert "  " not in loaded.warnings[0] and not loaded.warnings[0].endswith(" ")
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    save_pil(tmp_path / "fine.png", rand8())
    assert read_image(tmp_path / "fine.png").warnings == ()


def test_reads_on_two_threads_each_keep_their_own_warning(tmp_path, monkeypatch):
    """Python's warning capture is process-wide. Two reads overlapping on two threads
    (the window opening one image while a batch reads another) must each get their own
    line, and must not leave a capture installed that swallows every later warning."""
    for name in ("one.jpg", "two.jpg"):
        bad_exif_jpeg(tmp_path / name)
    first_in, first_out, second_out = threading.Event(), threading.Event(), threading.Event()
    real = imageread._read_image

    def gated(path, *args):
        if path.name == "one.jpg":
            first_in.set()
            first_out.wait(5)
        else:
            second_out.wait(5)
        return real(path, *args)

    monkeypatch.setattr(imageread, "_read_image", gated)
    filters = list(warnings.filters)
    got = {}

    def read(name):
        got[name] = read_image(tmp_path / name, log=False).warnings

    one = threading.Thread(target=read, args=("one.jpg",))
    two = threading.Thread(target=read, args=("two.jpg",))
    one.start()
    assert first_in.wait(5)
    two.start()
    two.join(0.2)                 # the second read starts while the first is inside
    first_out.set()
    one.join(5)
    second_out.set()
    two.join(5)
    assert [line.split(":")[0] for line in got["one.jpg"]] == ["one.jpg"]
    assert [line.split(":")[0] for line in got["two.jpg"]] == ["two.jpg"]
    assert warnings.filters == filters
