"""MATLAB-compatible imresize and rgb2ycbcr luma."""
import time

import numpy as np
import pytest

from engine.resize import imresize, rgb_to_y


def keys(t: float) -> float:
    """Keys cubic kernel, a = -0.5, written out for the expected values below."""
    t = abs(t)
    if t <= 1:
        return 1.5 * t**3 - 2.5 * t**2 + 1
    if t <= 2:
        return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
    return 0.0


def rows(signal, n=3):
    """A 2-D image whose rows all equal the 1-D signal."""
    return np.tile(np.asarray(signal, dtype=np.float64), (n, 1))


# Shrinking by 2 with antialiasing: kernel 0.5 * keys(0.5 * d), eight taps at
# distances d = +-0.5, +-1.5, +-2.5, +-3.5 from the output centre.
# keys(0.25) = 0.8671875, keys(0.75) = 0.2265625, keys(1.25) = -0.0703125,
# keys(1.75) = -0.0234375; the eight sum to 2, so the normalised weights are
# these values halved. Output o (0-based) sits between inputs 2o and 2o+1.
DOWN2 = [0.5 * keys(0.5 * d) for d in (3.5, 2.5, 1.5, 0.5, 0.5, 1.5, 2.5, 3.5)]


def test_down2_weights_by_hand():
    assert DOWN2 == pytest.approx([-0.01171875, -0.03515625, 0.11328125, 0.43359375,
                                   0.43359375, 0.11328125, -0.03515625, -0.01171875])
    assert sum(DOWN2) == pytest.approx(1.0)


def test_down2_impulse():
    signal = np.zeros(24)
    signal[11] = 1.0
    out = imresize(rows(signal), scale=0.5)
    assert out.shape == (2, 12) and out.dtype == np.float32
    expected = np.zeros(12)
    # input 11 is tap j = 11 - (2o - 3) of output o
    expected[4] = DOWN2[6]
    expected[5] = DOWN2[4]
    expected[6] = DOWN2[2]
    expected[7] = DOWN2[0]
    np.testing.assert_allclose(out[0], expected, atol=1e-7)
    np.testing.assert_allclose(out[1], expected, atol=1e-7)


def test_down2_ramp_with_mirrored_border():
    signal = np.arange(16, dtype=np.float64)
    out = imresize(rows(signal), scale=0.5)[0]
    # output 0 reads inputs -3..4; symmetric padding maps -1, -2, -3 to 0, 1, 2
    seen = [2, 1, 0, 0, 1, 2, 3, 4]
    assert out[0] == pytest.approx(sum(w * v for w, v in zip(DOWN2, seen)), abs=1e-6)
    assert out[0] == pytest.approx(0.44921875, abs=1e-6)
    # inside, a linear ramp is reproduced at the output centres 2o + 0.5
    np.testing.assert_allclose(out[2:6], [2 * o + 0.5 for o in range(2, 6)], atol=1e-5)


def test_up2_impulse():
    signal = np.zeros(12)
    signal[5] = 1.0
    out = imresize(rows(signal), scale=2)[0]
    # output o maps to input o/2 - 0.25 (0-based), plain keys weights
    expected = [keys(o / 2 - 0.25 - 5) for o in range(24)]
    np.testing.assert_allclose(out, expected, atol=1e-7)
    assert out[10] == pytest.approx(0.8671875)
    assert out[8] == pytest.approx(-0.0703125)


@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4])
def test_constant_stays_constant(scale):
    img = np.full((17, 23, 3), 0.37, dtype=np.float32)
    out = imresize(img, scale=scale)
    np.testing.assert_allclose(out, 0.37, atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_sizes_match_matlab(scale):
    img = np.random.default_rng(0).random((17, 23, 3)).astype(np.float32)
    assert imresize(img, scale=scale).shape == (17 * scale, 23 * scale, 3)
    small = imresize(img, scale=1 / scale)
    assert small.shape == (int(np.ceil(17 / scale)), int(np.ceil(23 / scale)), 3)
    assert imresize(img[..., 0], scale=scale).shape == (17 * scale, 23 * scale)


def test_size_argument():
    img = np.random.default_rng(1).random((20, 30)).astype(np.float32)
    assert imresize(img, size=(7, 45)).shape == (7, 45)
    with pytest.raises(ValueError):
        imresize(img)
    with pytest.raises(ValueError):
        imresize(img, scale=2, size=(40, 60))


def test_up_then_down_is_near_identity():
    y, x = np.mgrid[0:40, 0:48] / 40.0
    img = (0.5 + 0.3 * np.sin(2 * np.pi * x) * np.cos(np.pi * y))[..., None] * [1, 0.8, 0.6]
    back = imresize(imresize(img, scale=2), scale=0.5)
    assert back.shape == img.shape
    assert np.abs(back - img).max() < 0.01


def test_not_clipped():
    step = rows(np.r_[np.zeros(8), np.ones(8)])
    up = imresize(step, scale=2)
    assert up.min() < 0 and up.max() > 1   # cubic overshoot is kept


def test_fast_enough():
    img = np.random.default_rng(2).random((512, 512, 3)).astype(np.float32)
    best = min(_timed(imresize, img, 2) for _ in range(2))
    assert best < 1.0


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_rgb_to_y_range():
    white = np.ones((2, 2, 3), dtype=np.float32)
    black = np.zeros((2, 2, 3), dtype=np.float32)
    np.testing.assert_allclose(rgb_to_y(white), 235 / 255, atol=1e-6)
    np.testing.assert_allclose(rgb_to_y(black), 16 / 255, atol=1e-7)
    red = np.zeros((1, 1, 3))
    red[..., 0] = 1
    assert rgb_to_y(red)[0, 0] == pytest.approx((16 + 65.481) / 255)
    assert rgb_to_y(red).dtype == np.float64
    with pytest.raises(ValueError):
        rgb_to_y(np.zeros((4, 4)))
