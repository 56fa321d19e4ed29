"""CLI inputs a user can get wrong: model ids given to `models describe`, folders named like
images (issue 12); library warnings while decoding: test_image_batch.py."""
from __future__ import annotations

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
               "--scale", "2"])
    err = capsys.readouterr().err
    assert rc == 0
    assert (out / "a.png").exists()
    assert "shots.png is a folder: restoring the 1 image in it" in err.splitlines()
    assert "skipped x.png: a folder with no images" in err
