"""A decoder's warning about a file (damaged EXIF) is said again in the status bar when its
restore ends, where the 'Restored ...' line would otherwise replace it at once."""
from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image


def jpeg(path, exif_cut_short: bool):
    """A small JPEG; with ``exif_cut_short`` its Exif block promises five entries and holds
    none, so Pillow warns "Corrupt EXIF data" and still reads the pixels."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 24, 3), np.uint8)).save(
        buf, "JPEG")
    data = buf.getvalue()
    if exif_cut_short:
        exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + bytes(6)
        data = data[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + data[2:]
    path.write_bytes(data)
    return path


def restored_line(window, images, qtbot, path) -> str:
    page = window.restore_page
    item = page.add_paths([path])[0]
    assert page.picker.select("bicubic")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    qtbot.waitUntil(lambda: "Restored" in window.statusBar().currentMessage(), timeout=5000)
    return window.statusBar().currentMessage()


def test_the_restored_line_repeats_the_read_warning(window, tmp_path, images, qtbot):
    line = restored_line(window, images, qtbot, jpeg(tmp_path / "bad exif.jpg", True))
    assert re.fullmatch(r"Restored bad exif\.jpg in \d+\.\d s\. "
                        r"Warning: bad exif\.jpg: Corrupt EXIF data\b.*", line), line
    assert "\n" not in line
    window.statusBar().grab().save(str(tmp_path / "status.png"))


def test_a_clean_file_gets_no_warning(window, tmp_path, images, qtbot):
    line = restored_line(window, images, qtbot, jpeg(tmp_path / "clean.jpg", False))
    assert re.fullmatch(r"Restored clean\.jpg in \d+\.\d s\.", line), line
