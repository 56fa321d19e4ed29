"""Bicubic Set5 PSNR against the published MATLAB numbers (validates imresize).

Protocol: HR cropped to a multiple of the scale, MATLAB bicubic downscale,
bicubic upscale, each result rounded to 8 bits; PSNR on the BT.601 Y channel
(0..255) with ``scale`` pixels cropped from each border.
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.resize import imresize, rgb_to_y

SET5 = Path(__file__).resolve().parents[3] / "shared" / "data" / "bench" / "Set5"
# widely reported bicubic averages on Set5 (e.g. SRCNN, VDSR tables)
PUBLISHED = {2: 33.66, 3: 30.39, 4: 28.42}

pytestmark = pytest.mark.skipif(not SET5.is_dir(), reason=f"{SET5} not found")


def to_u8(img):
    return np.clip(np.round(img.astype(np.float64) * 255), 0, 255) / 255


def y_psnr(a, b, border):
    ya = rgb_to_y(a)[border:-border, border:-border] * 255
    yb = rgb_to_y(b)[border:-border, border:-border] * 255
    return 10 * np.log10(255.0**2 / np.mean((ya - yb) ** 2))


@pytest.mark.parametrize("scale", sorted(PUBLISHED))
def test_set5_bicubic_psnr(scale):
    scores = []
    for path in sorted(SET5.glob("*.png")):
        hr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
        h, w = hr.shape[:2]
        hr = hr[: h - h % scale, : w - w % scale]
        lr = to_u8(imresize(hr, scale=1 / scale))
        sr = to_u8(imresize(lr, scale=scale))
        scores.append(y_psnr(hr, sr, scale))
    assert len(scores) == 5
    assert np.mean(scores) == pytest.approx(PUBLISHED[scale], abs=0.05)
