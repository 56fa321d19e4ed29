"""Post-processing after a restore (note 004): gentle NL-means, auto-contrast, dithering."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.cli import main
from engine import imageio
from engine.classical import nlmeans
from engine.errors import ConfigError
from engine.inference import InferenceOptions, restore_pixels
from engine.models import load_restorer
from engine.postprocess import autocontrast, dither, gentle_nlmeans, parse_steps, postprocess


def scene(h=64, w=64, noise=0.05, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): a thin dark line on a smooth ramp, plus Gaussian noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    clean = np.repeat((0.3 + 0.4 * x / w)[:, :, None], 3, axis=2)
    clean[:, w // 2] = 0.05
    noisy = clean + np.random.default_rng(seed).normal(0, noise, clean.shape).astype(np.float32)
    return clean, np.clip(noisy, 0, 1)


def test_steps_parse_in_their_fixed_order():
    assert parse_steps("dither, nlmeans") == ("nlmeans", "dither")
    assert parse_steps(["auto-contrast"]) == ("autocontrast",)
    assert parse_steps("") == () and parse_steps(None) == ()
    with pytest.raises(ConfigError, match="sharpen"):
        parse_steps("nlmeans,sharpen")


def test_gentle_nlmeans_removes_noise_but_keeps_thin_lines_better_than_plain():
    clean, noisy = scene()
    gentle, plain = gentle_nlmeans(noisy), nlmeans(noisy, h=0.1)
    err = lambda a: float(np.sqrt(np.mean((a - clean) ** 2)))  # noqa: E731
    assert err(gentle) < 0.8 * err(noisy)
    line = lambda a: float(a[:, 30:34].mean() - a[:, 32].mean())  # noqa: E731  (line depth)
    assert line(gentle) > line(plain)        # the two-stage version gives the content back
    assert gentle.dtype == np.float32 and gentle.shape == noisy.shape


def test_autocontrast_stretches_with_one_gain_and_leaves_flat_images_alone():
    rng = np.random.default_rng(0)
    grey = 0.35 + 0.3 * rng.random((32, 32, 1))
    img = np.clip(grey + [0.05, 0.0, -0.05], 0, 1).astype(np.float32)   # luma span ~0.3
    out = autocontrast(img)
    slopes = [np.polyfit(img[..., c].ravel(), out[..., c].ravel(), 1)[0] for c in range(3)]
    assert slopes == pytest.approx([slopes[0]] * 3, rel=1e-3)   # one gain: no colour shift
    assert 1.9 < slopes[0] <= 2.0                                # capped at max_gain
    assert autocontrast(img, max_gain=10).max() > 0.99 and autocontrast(img, max_gain=10).min() < 0.06
    flat = np.full((8, 8, 3), 0.3, np.float32)
    assert np.array_equal(autocontrast(flat), flat)


def test_dither_lands_on_the_8bit_grid_keeps_local_means_and_is_seeded():
    ramp = np.tile(np.linspace(0.2, 0.21, 256, dtype=np.float32), (64, 1))[:, :, None]
    out = dither(ramp)
    assert np.allclose(out * 255, np.rint(out * 255), atol=1e-4)
    assert np.array_equal(out, dither(ramp))
    banded = np.rint(ramp * 255) / 255
    err_dither = np.abs(cv2.blur(out, (16, 16)) - ramp[:, :, 0]).mean()
    err_round = np.abs(cv2.blur(banded.astype(np.float32), (16, 16)) - ramp[:, :, 0]).mean()
    assert err_dither < 0.5 * err_round


def test_restore_pixels_runs_the_chain():
    _, noisy = scene()
    restorer = load_restorer("unsharp")
    base = list_result(restore_pixels(restorer, noisy))
    post = list_result(restore_pixels(restorer, noisy, InferenceOptions(postprocess=("nlmeans", "dither"))))
    assert not np.allclose(base, post)
    assert np.allclose(post * 255, np.rint(post * 255), atol=1e-4)
    assert np.allclose(post, postprocess(base, "nlmeans,dither"), atol=1e-6)


def list_result(gen):
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value


def test_cli_post_flag(tmp_path, capsys):
    _, noisy = scene()
    imageio.write_image(tmp_path / "in.png", noisy)
    assert main(["restore", str(tmp_path / "in.png"), "-o", str(tmp_path / "plain.png"),
                 "--model", "unsharp", "-q"]) == 0
    assert main(["restore", str(tmp_path / "in.png"), "-o", str(tmp_path / "post.png"),
                 "--model", "unsharp", "--post", "nlmeans,autocontrast", "-q"]) == 0
    plain = imageio.read_image(tmp_path / "plain.png").pixels
    post = imageio.read_image(tmp_path / "post.png").pixels
    assert np.abs(post - plain).mean() > 0.01
    assert main(["restore", str(tmp_path / "in.png"), "-o", str(tmp_path / "x.png"),
                 "--post", "sharpen", "-q"]) == 2
    assert "sharpen" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
