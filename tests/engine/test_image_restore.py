"""Float TIFFs through a restore: kept in float, values beyond [0, 1] kept, grey and
colour, with or without alpha (issue 12, Images)."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from desktop.cli import main
from engine.checkpoints import find_model
from engine.imageio import read_image

RNG = np.random.default_rng(11)


def test_float_tiff_restored_by_the_cli_stays_float(tmp_path):
    src = RNG.random((12, 10, 3), dtype=np.float32) * 0.8 + 0.1
    tifffile.imwrite(tmp_path / "scan.tif", src, photometric="rgb")
    assert main(["restore", str(tmp_path / "scan.tif"), "-o", str(tmp_path / "big.tif"),
                 "--model", "bicubic", "--scale", "2", "-q"]) == 0
    out = tifffile.imread(tmp_path / "big.tif")
    assert out.dtype == np.float32 and out.shape == (24, 20, 3)
    steps = out * 65535
    assert not np.allclose(steps, np.rint(steps), atol=1e-3)   # not cut to 16 (or 8) bits
    assert read_image(tmp_path / "big.tif").info.sample == "float"


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_float_values_beyond_one_survive_a_restore(tmp_path, channels):
    """Highlights above 1.0 (and values below 0) of a float TIFF, grey or colour, go around
    the model and come back in the output instead of being clipped; alpha stays alpha."""
    colour = 1 if channels < 3 else 3
    src = np.full((16, 16, channels), 0.5, np.float32)
    src[4:12, 4:12, :colour] = 3.0          # a bright highlight
    src[0, 0, :colour] = -0.25
    if channels in (2, 4):
        src[..., -1] = 0.75
    tifffile.imwrite(tmp_path / "hdr.tif", src[..., 0] if channels == 1 else src,
                     photometric="rgb" if colour == 3 else "minisblack",
                     extrasamples=("unassalpha",) if channels in (2, 4) else None)
    assert main(["restore", str(tmp_path / "hdr.tif"), "-o", str(tmp_path / "out.tif"),
                 "--model", "bicubic", "--scale", "2", "-q"]) == 0
    out = tifffile.imread(tmp_path / "out.tif").reshape(32, 32, channels)
    assert out.dtype == np.float32
    assert abs(float(out[12:20, 12:20, :colour].mean()) - 3.0) < 0.05   # the highlight is kept
    assert abs(float(out[28:, 28:, :colour].mean()) - 0.5) < 0.01
    assert float(out[..., :colour].min()) < 0
    if channels in (2, 4):
        assert np.allclose(out[..., -1], 0.75, atol=1e-3)


@pytest.mark.skipif(find_model("denoise-color") is None, reason="shipped denoise-color not installed")
def test_a_shipped_model_keeps_a_grey_float_tiff_float(tmp_path):
    src = np.full((24, 20), 0.4, np.float32)
    src[8:16, 6:14] = 2.5                           # a highlight no 8/16-bit file holds
    tifffile.imwrite(tmp_path / "scan.tif", src)
    assert main(["restore", str(tmp_path / "scan.tif"), "-o", str(tmp_path / "out.tif"),
                 "--model", "denoise-color", "--device", "cpu", "-q"]) == 0
    out = tifffile.imread(tmp_path / "out.tif")
    assert out.dtype == np.float32 and out.shape == (24, 20)
    assert abs(float(out[10:14, 8:12].mean()) - 2.5) < 0.05
    assert abs(float(out[:4, :4].mean()) - 0.4) < 0.02
