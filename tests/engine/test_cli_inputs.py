"""CLI inputs a user can get wrong: model ids given to `models describe`, folders named like
images, and library warnings while decoding (issue 12)."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from engine.checkpoints import find_model


@pytest.mark.skipif(find_model("sr-x2") is None, reason="shipped sr-x2 not installed")
def test_describe_accepts_an_installed_model_id(capsys):
    assert main(["models", "describe", "sr-x2"]) == 0
    out = capsys.readouterr().out
    assert "unknown architecture" not in out
    for words in ("title: Super-resolution x2", "arch: rdn", "scale: 2", "in_channels: 3",
                  "params:", "source: shipped", "psnr"):
        assert words in out


def test_describe_still_accepts_an_architecture(capsys):
    assert main(["models", "describe", "bicubic"]) == 0
    assert "no fixed architecture" in capsys.readouterr().out


def test_describe_unknown_id_says_so_in_one_line(capsys):
    rc = main(["models", "describe", "no-such-thing"])
    err = capsys.readouterr().err
    assert rc != 0 and "no-such-thing" in err and "Traceback" not in err


def _png(path, h=8, w=8):
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(path)


def test_folder_named_like_an_image_is_expanded_and_empty_ones_reported(tmp_path, capsys):
    full = tmp_path / "shots.png"
    full.mkdir()
    _png(full / "a.png")
    empty = tmp_path / "x.png"
    empty.mkdir()
    out = tmp_path / "out"
    rc = main(["restore", str(full), str(empty), "-o", str(out), "--model", "bicubic",
               "--scale", "2", "-q"])
    err = capsys.readouterr().err
    assert rc == 0
    assert (out / "a.png").exists() or any(out.rglob("a*.png"))
    assert "skipped x.png: a folder with no images" in err


def test_corrupt_exif_warning_names_the_file(tmp_path, capsys, caplog):
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + b"\x00" * 6  # IFD cut short
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    (tmp_path / "bad.jpg").write_bytes(jpeg[:2] + app1 + jpeg[2:])
    caplog.set_level("WARNING", logger="restorelab.imageio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = main(["restore", str(tmp_path / "bad.jpg"), "-o", str(tmp_path / "big.png"),
                   "--model", "bicubic", "--scale", "2", "-q"])
    err = capsys.readouterr().err
    assert rc == 0 and (tmp_path / "big.png").exists()
    # one logged line naming the file (stderr outside pytest, which captures logging)
    assert any(r.getMessage().startswith("warning: bad.jpg: Corrupt EXIF data")
               for r in caplog.records)
    assert "UserWarning" not in err and not [w for w in caught if w.category is UserWarning]
