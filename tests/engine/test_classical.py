"""Classical restoration methods and their registry entries."""
import cv2
import numpy as np
import pytest

from engine import classical
from engine.classical import CLASSICAL_SPECS, gaussian_psf
from engine.errors import ConfigError
from engine.registry import TASKS


def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2))


def scene(h=64, w=80):
    """Smooth shading plus a few hard-edged shapes, RGB in [0.1, 0.9]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.3 + 0.2 * x / w + 0.1 * y / h
    img = np.stack([base, base * 0.9, base * 1.1], axis=-1)
    img[10:30, 12:40] = (0.85, 0.2, 0.3)
    img[((y - 44) ** 2 + (x - 56) ** 2) < 12 ** 2] = (0.1, 0.7, 0.9)
    img[40:60, 8:12] = 0.9
    return np.clip(img, 0.1, 0.9).astype(np.float32)


def gaussian_blur(img, sigma=1.6):
    """Reference blur: sampled Gaussian, radius ceil(3 sigma), symmetric boundary."""
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    return cv2.sepFilter2D(img, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT)


# ---------------------------------------------------------------- resize

@pytest.mark.parametrize("fn", [classical.bicubic, classical.lanczos])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_shapes(fn, scale):
    img = scene(17, 23)
    out = fn(img, scale=scale)
    assert out.shape == (17 * scale, 23 * scale, 3)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("fn", [classical.bicubic, classical.lanczos])
@pytest.mark.parametrize("bad", [1, 5, 2.5, "2", True, None])
def test_bad_scale(fn, bad):
    with pytest.raises(ConfigError, match="scale must be one of 2, 3, 4"):
        fn(scene(8, 8), scale=bad)


# ---------------------------------------------------------------- denoise

def test_nlmeans_raises_psnr():
    clean = gaussian_blur(scene(), 2.0)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.05, clean.shape), 0, 1)
    out = classical.nlmeans(noisy.astype(np.float32))
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(out, clean) > psnr(noisy, clean) + 3


# ---------------------------------------------------------------- deblur

def test_gaussian_psf():
    psf = gaussian_psf(1.6)
    assert psf.shape == (11, 11)               # 2 * ceil(4.8) + 1
    assert psf.sum() == pytest.approx(1.0)
    assert psf[5, 5] == psf.max()
    np.testing.assert_allclose(psf, psf.T)
    np.testing.assert_allclose(psf, psf[::-1, ::-1])
    assert gaussian_psf(1.0, size=5).shape == (5, 5)
    with pytest.raises(ConfigError):
        gaussian_psf(0)


@pytest.mark.parametrize("fn", [classical.wiener, classical.richardson_lucy])
def test_deconvolution_raises_psnr(fn):
    clean = scene()
    blurred = gaussian_blur(clean, 1.6)
    blurred = blurred + np.random.default_rng(1).normal(0, 0.002, blurred.shape)
    blurred = np.clip(blurred, 0, 1).astype(np.float32)
    out = fn(blurred)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(out, clean) > psnr(blurred, clean) + 2
    # the border is no worse than the interior (no boundary ringing)
    border = np.ones(clean.shape[:2], bool)
    border[8:-8, 8:-8] = False
    assert psnr(out[border], clean[border]) > psnr(blurred[border], clean[border])


def test_deconvolution_keeps_flat_image():
    flat = np.full((20, 30, 3), 0.4, np.float32)
    np.testing.assert_allclose(classical.wiener(flat), 0.4, atol=1e-4)
    np.testing.assert_allclose(classical.richardson_lucy(flat), 0.4, atol=1e-4)


# ---------------------------------------------------------------- filters

def test_sobel_vertical_step():
    img = np.zeros((32, 32, 3), np.float32)
    img[:, 16:] = 1.0
    out = classical.sobel(img)
    assert out.shape == (32, 32, 1) and out.dtype == np.float32
    assert out.max() == pytest.approx(1.0)
    profile = out[16, :, 0]
    assert np.argmax(profile) in (15, 16)
    np.testing.assert_allclose(out[:, :9], 0, atol=1e-6)
    np.testing.assert_allclose(out[:, 23:], 0, atol=1e-6)


def test_sobel_grey_weights_and_flat():
    red = np.zeros((16, 16, 3), np.float32)
    red[:, 8:, 0] = 1.0
    white = np.zeros((16, 16, 3), np.float32)
    white[:, 8:] = 1.0
    ratio = classical.sobel_magnitude(red).max() / classical.sobel_magnitude(white).max()
    assert ratio == pytest.approx(0.299, rel=1e-4)
    assert classical.sobel(np.full((8, 8, 3), 0.5, np.float32)).max() == 0


def test_unsharp_increases_edge_contrast():
    img = np.full((16, 32, 3), 0.3, np.float32)
    img[:, 16:] = 0.7
    out = classical.unsharp(img)
    edge = out[8, 12:20, 0]
    assert edge.min() < 0.3 - 0.01 and edge.max() > 0.7 + 0.01
    np.testing.assert_allclose(out[:, :8], 0.3, atol=1e-6)    # flat areas untouched
    same = classical.unsharp(img, threshold=0.5)               # detail below threshold
    np.testing.assert_allclose(same, img, atol=1e-6)


# ---------------------------------------------------------------- registry entries

def test_spec_ids():
    ids = [s.id for s in CLASSICAL_SPECS]
    assert ids == ["bicubic", "lanczos", "nlmeans", "wiener", "richardson-lucy", "sobel",
                   "unsharp"]


@pytest.mark.parametrize("spec", CLASSICAL_SPECS, ids=lambda s: s.id)
def test_spec_runs(spec):
    assert spec.kind == "classical" and spec.family == "classical"
    assert spec.builder.startswith("engine.classical:")
    assert set(spec.tasks) <= set(TASKS)
    assert spec.precisions == ("fp32",) and spec.in_channels == 3
    img = scene(24, 20)
    out = spec.target()(img, **spec.defaults)
    s = spec.scale_for(spec.defaults)
    assert out.shape == (24 * s, 20 * s, spec.out_channels)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    if spec.id in ("bicubic", "lanczos"):
        assert spec.scale == spec.defaults["scale"] == 2
    if spec.id in ("wiener", "richardson-lucy", "sobel"):
        assert not spec.tiles
