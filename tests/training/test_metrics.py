"""PSNR / SSIM: known values and the properties of the standard definitions."""
import math

import numpy as np
import pytest
import torch

from engine.resize import rgb_to_y
from training.metrics import psnr, psnr_torch, ssim, ssim_torch


def image(h=48, w=48, c=3, seed=0):
    g = np.random.default_rng(seed)
    # smooth content plus texture, so SSIM has structure to compare
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.5 + 0.3 * np.sin(6 * xx + 4 * yy)
    img = base[:, :, None] + 0.1 * g.random((h, w, c))
    return np.clip(img, 0, 1).astype(np.float32)


def noisy(img, sigma, seed=1):
    g = np.random.default_rng(seed)
    return np.clip(img + g.normal(0, sigma, img.shape), 0, 1).astype(np.float32)


def test_psnr_of_constant_offset_is_20db():
    a = np.full((16, 16, 3), 0.3)
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-9)
    assert psnr(a[:, :, 0], a[:, :, 0] + 0.1) == pytest.approx(20.0, abs=1e-9)
    assert psnr(a, a + 0.01) == pytest.approx(40.0, abs=1e-6)
    assert psnr(a * 255, a * 255 + 25.5, data_range=255) == pytest.approx(20.0, abs=1e-9)
    assert psnr(a, a) == math.inf


def test_psnr_border_crop():
    a = np.zeros((20, 20, 1))
    b = a.copy()
    b[:2] = 1            # errors only in the top two rows
    assert psnr(a, b, border=2) == math.inf
    assert psnr(a, b) < 20
    with pytest.raises(ValueError):
        psnr(a, b, border=10)


def test_psnr_y_channel_uses_bt601():
    a = image()
    b = noisy(a, 0.05)
    ya, yb = rgb_to_y(a).astype(np.float64), rgb_to_y(b).astype(np.float64)
    mse = np.mean((ya * 255 - yb * 255) ** 2)
    assert psnr(a, b, y_channel=True) == pytest.approx(10 * math.log10(255 ** 2 / mse), abs=1e-4)
    # a pure-green offset moves Y by 128.553/255 of it: 0.1 * 128.553 / 255 ~ 0.0504
    c = np.full((16, 16, 3), 0.3)
    d = c.copy()
    d[:, :, 1] += 0.1
    expected = 10 * math.log10(255 ** 2 / (0.1 * 128.553) ** 2)
    assert psnr(c, d, y_channel=True) == pytest.approx(expected, abs=1e-3)


def test_ssim_identical_is_one():
    a = image()
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-9)
    assert ssim(a[:, :, 0], a[:, :, 0]) == pytest.approx(1.0, abs=1e-9)
    assert ssim(a, a, y_channel=True) == pytest.approx(1.0, abs=1e-9)


def test_ssim_properties():
    a = image()
    b = noisy(a, 0.05)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)
    values = [ssim(a, noisy(a, s)) for s in (0.01, 0.03, 0.1, 0.3)]
    assert all(0 < v < 1 for v in values)
    assert values == sorted(values, reverse=True)


def test_ssim_constant_images_follow_the_luminance_term():
    # flat images: variances are 0, so SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    a, b = np.full((16, 16), 0.5), np.full((16, 16), 0.6)
    c1 = 0.01 ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-9)


def test_ssim_per_channel_average():
    a = image()
    b = a.copy()
    b[:, :, 0] = noisy(a[:, :, :1], 0.1)[:, :, 0]
    per_channel = [ssim(a[:, :, c], b[:, :, c]) for c in range(3)]
    assert ssim(a, b) == pytest.approx(np.mean(per_channel), abs=1e-12)
    assert per_channel[1] == pytest.approx(1.0)


def test_ssim_border_and_small_images():
    a = image(40, 40)
    b = a.copy()
    b[:4] = 0
    assert ssim(a, b, border=4) == pytest.approx(1.0, abs=1e-9)
    assert ssim(a, b) < 0.99
    with pytest.raises(ValueError, match="at least"):
        ssim(a[:10, :10], b[:10, :10])


def test_torch_versions_match_numpy():
    imgs = [image(seed=s) for s in range(2)]
    outs = [noisy(im, 0.05, seed=s + 5) for s, im in enumerate(imgs)]
    to_t = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2)  # noqa: E731
    pred, target = to_t(outs), to_t(imgs)
    for kwargs in ({}, {"border": 2}, {"y_channel": True, "border": 2}):
        p = psnr_torch(pred, target, **kwargs)
        s = ssim_torch(pred, target, **kwargs)
        assert p.shape == (2,) and s.shape == (2,)
        for i in range(2):
            assert float(p[i]) == pytest.approx(psnr(outs[i], imgs[i], **kwargs), abs=1e-3)
            assert float(s[i]) == pytest.approx(ssim(outs[i], imgs[i], **kwargs), abs=1e-4)
    assert math.isinf(float(psnr_torch(target, target)[0]))


def test_ssim_matches_a_direct_windowed_computation():
    # independent reference: explicit Gaussian-weighted statistics at every valid position
    a = image(14, 13, 1, seed=3)[:, :, 0].astype(np.float64)
    b = noisy(a, 0.1, seed=4).astype(np.float64)
    x = np.arange(11) - 5
    w = np.outer(np.exp(-x ** 2 / 4.5), np.exp(-x ** 2 / 4.5))
    w /= w.sum()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            values.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    assert ssim(a, b) == pytest.approx(np.mean(values), abs=1e-6)
