"""Level-map nets: the blur estimate, the Wiener prior, sigma options, exact tiling, Sobel scaling."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine import levels, registry
from engine.archs.resunet import wiener_apply
from engine.classical import gaussian_psf, wiener
from engine.descriptor import NetRestorer
from engine.errors import ConfigError
from engine.inference import InferenceOptions, restore_pixels
from training.metrics import psnr


def shapes(size: int = 160, seed: int = 0) -> np.ndarray:
    """Random hard-edged rectangles and discs on a gradient: plenty of step edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([0.3 + 0.3 * x, 0.4 + 0.2 * y, 0.5 - 0.2 * x], axis=2)
    for _ in range(14):
        x0, y0 = rng.integers(0, size - 20, 2)
        w, h = rng.integers(10, 50, 2)
        img[y0:y0 + h, x0:x0 + w] = rng.random(3)
        cv2.circle(img, tuple(int(v) for v in rng.integers(0, size, 2)), int(rng.integers(4, 20)),
                   tuple(float(v) for v in rng.random(3)), -1)
    return img.astype(np.float32)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.filter2D(img, -1, gaussian_psf(sigma).astype(np.float32), borderType=cv2.BORDER_REFLECT)


def restore(restorer, img, **opts):
    gen = restore_pixels(restorer, img, InferenceOptions(**opts))
    logs = []
    while True:
        try:
            ev = next(gen)
            if hasattr(ev, "text"):
                logs.append(ev.text)
        except StopIteration as end:
            return end.value, logs


PHOTO = Path(__file__).resolve().parents[3] / "shared" / "data" / "bench" / "CBSD68" / "101087.png"


@pytest.mark.parametrize("sigma", [0.8, 1.6, 2.4])
def test_blur_sigma_is_estimated_from_edges(sigma):
    """Calibrated on natural photos: a bench photo (hard synthetic steps read a little high)."""
    from engine.imageio import read_image

    clean = read_image(PHOTO).pixels[:, :, :3] if PHOTO.exists() else shapes(320)
    img = blur(clean, sigma) + np.random.default_rng(1).normal(0, 0.01, clean.shape).astype(np.float32)
    estimate = levels.estimate_blur_sigma(img)
    assert abs(estimate - sigma) < 0.45 + (0.25 * sigma if not PHOTO.exists() else 0)
    assert levels.estimate_blur_sigma(blur(clean, sigma + 0.8)) > estimate   # more blur reads higher


def test_estimate_of_a_flat_image_is_a_sane_default():
    assert levels.estimate_blur_sigma(np.full((64, 64, 3), 0.5, np.float32)) == 1.0


@pytest.mark.parametrize("sigma", [1.0, 2.4])
def test_spatial_wiener_matches_the_classical_filter(sigma):
    clean = shapes()
    blurred = blur(clean, sigma) + np.random.default_rng(0).normal(0, 0.01, clean.shape).astype(np.float32)
    ours = wiener_apply(torch.from_numpy(blurred.transpose(2, 0, 1))[None], torch.tensor([sigma]), 0.01)
    ours = ours[0].numpy().transpose(1, 2, 0)
    classical = wiener(blurred, sigma=sigma)
    assert psnr(np.clip(ours, 0, 1), clean) > psnr(blurred, clean) + 1.0
    assert abs(psnr(np.clip(ours, 0, 1), clean) - psnr(np.clip(classical, 0, 1), clean)) < 0.3


def _net(level: str, seed: int = 0, **extra):
    spec = registry.get("resunet")
    kwargs = spec.kwargs(dict(widths=(8, 16, 16), blocks=1, level=level, in_channels=4, **extra))
    torch.manual_seed(seed)
    module = spec.build(**kwargs)
    for p in module.parameters():       # random, non-zero weights everywhere (the tail starts at 0)
        torch.nn.init.normal_(p, 0, 0.05)
    return module, spec, kwargs


def test_untrained_blur_net_starts_as_the_wiener_filter():
    spec = registry.get("resunet")
    kwargs = spec.kwargs(dict(widths=(8, 16), blocks=1, level="blur", in_channels=4))
    restorer = NetRestorer(spec.build(**kwargs), spec, kwargs, options={"sigma": 1.6})
    blurred = blur(shapes(96), 1.6)
    out, logs = restore(restorer, blurred, tile=0)
    ref = wiener_apply(torch.from_numpy(blurred.transpose(2, 0, 1))[None], torch.tensor([1.6]), 0.01)
    np.testing.assert_allclose(out, np.clip(ref[0].numpy().transpose(1, 2, 0), 0, 1), atol=1e-5)
    assert any("blur sigma 1.60 px (given)" in line for line in logs)


@pytest.mark.parametrize("level,options", [("noise", {}), ("noise", {"sigma": 20}),
                                           ("blur", {}), ("blur", {"sigma": 2.0})])
def test_level_nets_tile_exactly(level, options):
    module, spec, kwargs = _net(level)
    restorer = NetRestorer(module, spec, kwargs, options=options)
    img = blur(shapes(360), 1.5)[:350, :343]
    whole, _ = restore(restorer, img, tile=0)
    tiled, _ = restore(restorer, img, tile=256, overlap=4 * restorer.receptive_radius)
    assert np.abs(whole - tiled).max() < 1e-4


def test_noise_map_says_what_the_user_gave():
    module, spec, kwargs = _net("noise")
    img = shapes(64)
    blind = NetRestorer(module, spec, kwargs)
    given = NetRestorer(module, spec, kwargs, options={"sigma": 30})
    out_blind, logs = restore(blind, img)
    out_given, logs_given = restore(given, img)
    assert blind.level_value == levels.UNKNOWN and "blind" in logs[0]
    assert given.level_value == pytest.approx(30 / 255) and "30 (given)" in logs_given[0]
    assert np.abs(out_blind - out_given).max() > 1e-4     # the map reaches the net


@pytest.mark.parametrize("level,value", [("noise", 300), ("noise", "loud"), ("blur", 0.0),
                                         ("blur", 9)])
def test_sigma_out_of_range_is_a_clear_error(level, value):
    module, spec, kwargs = _net(level)
    with pytest.raises(ConfigError, match="sigma"):
        NetRestorer(module, spec, kwargs, options={"sigma": value})


def test_grey_image_through_a_level_net_stays_grey():
    module, spec, kwargs = _net("noise")
    out, _ = restore(NetRestorer(module, spec, kwargs), shapes(64)[:, :, :1])
    assert out.shape == (64, 64, 1)


def test_raw_filter_output_is_normalised_per_image():
    spec = registry.get("resunet")
    kwargs = spec.kwargs(dict(widths=(4, 8), blocks=1, out_channels=1))
    torch.manual_seed(0)
    restorer = NetRestorer(spec.build(**kwargs), spec, kwargs, output_normalise="max")
    out, _ = restore(restorer, shapes(64))
    assert out.shape == (64, 64, 1) and out.min() >= 0
    assert out.max() == pytest.approx(1.0)
