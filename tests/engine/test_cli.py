"""The headless command line: restore, batches with bad files, models, self-test."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from desktop.cli import main
from engine import imageio

ROOT = Path(__file__).resolve().parents[2]


def make_png(path: Path, h=24, w=32, channels=3, depth=8):
    rng = np.random.default_rng(0)
    pixels = rng.random((h, w, channels), dtype=np.float32)
    info = imageio.ImageInfo("PNG", depth, channels in (2, 4), channels in (1, 2), None, None, None)
    imageio.write_image(path, pixels, info)
    return pixels


def test_restore_example_from_the_issue(tmp_path):
    make_png(tmp_path / "photo.png")
    assert main(["restore", str(tmp_path / "photo.png"), "-o", str(tmp_path / "big.png"),
                 "--model", "bicubic", "--scale", "2", "-q"]) == 0
    out = imageio.read_image(tmp_path / "big.png")
    assert out.pixels.shape == (48, 64, 3)


def test_batch_keeps_going_past_bad_files_and_reports_them(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    make_png(folder / "a.png")
    make_png(folder / "c.png", channels=4, depth=16)
    (folder / "b.png").write_bytes(b"not an image at all")
    rc = main(["restore", str(folder), str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"),
               "--model", "unsharp", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "b.png" in err and "missing.png" in err and "Traceback" not in err
    assert (tmp_path / "out" / "a.png").exists()
    c = imageio.read_image(tmp_path / "out" / "c.png")
    assert c.info.bit_depth == 16 and c.pixels.shape[2] == 4


def test_unknown_model_is_one_line_and_nonzero(tmp_path):
    make_png(tmp_path / "x.png")
    out = subprocess.run([sys.executable, "-m", "desktop.cli", "restore", str(tmp_path / "x.png"),
                          "-o", str(tmp_path / "y.png"), "--model", "nope"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "nope" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "y.png").exists()


def test_models_list_and_archs_json(capsys):
    assert main(["models", "list", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    assert main(["models", "archs", "--json", "--kind", "classical"]) == 0
    ids = {a["id"] for a in json.loads(capsys.readouterr().out)}
    assert {"bicubic", "lanczos", "nlmeans", "wiener", "richardson-lucy", "sobel", "unsharp"} <= ids


def test_self_test_passes(capsys):
    assert main(["self-test"]) == 0
    assert "self-test: passed" in capsys.readouterr().out
