"""Every shipped model loads from resources/models and beats its baseline on a synthetic case."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine import checkpoints
from engine.classical import gaussian_psf, sobel
from engine.inference import InferenceOptions, restore_pixels
from engine.models import load_restorer
from engine.resize import imresize
from training.metrics import psnr

SHIPPED = ("denoise-color", "deblur", "sr-x2", "sr-x4", "realsr-x2", "sobel-edges")


def scene(size: int = 96) -> np.ndarray:
    """Gradients, hard-edged shapes and fine stripes: something of everything models restore."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.3 * np.sin(6 * x + 3 * y)], axis=2)
    img[size // 5: size // 2, size // 5: size // 2] = (0.9, 0.8, 0.2)
    cv2.circle(img, (int(size * 0.7), int(size * 0.65)), size // 6, (0.1, 0.2, 0.7), -1)
    img[int(size * 0.75):, : size // 2] *= (0.75 + 0.25 * np.sin(np.arange(size // 2) * 1.4))[None, :, None]
    return np.clip(img, 0, 1).astype(np.float32)


def run(model: str, img: np.ndarray) -> np.ndarray:
    gen = restore_pixels(load_restorer(model, device="cpu"), img, InferenceOptions())
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value


def test_all_shipped_models_are_listed_on_a_fresh_install():
    shipped = {m.id for m in checkpoints.list_models() if m.shipped}
    assert set(SHIPPED) <= shipped


@pytest.mark.parametrize("model", SHIPPED)
def test_shipped_model_beats_its_baseline(model):
    entry = checkpoints.find_model(model)
    assert entry is not None and entry.shipped
    card = entry.card
    assert card["metrics"] and card["restore_12mp_cpu_s"] > 0 and card["retrain"].startswith("restorelab")
    clean = scene()
    rng = np.random.default_rng(0)
    if card["task"] == "denoise":
        noisy = (clean + rng.normal(0, 25 / 255, clean.shape)).astype(np.float32)
        baseline, out = np.clip(noisy, 0, 1), run(model, noisy)
    elif card["task"] == "deblur":
        blurred = cv2.filter2D(clean, -1, gaussian_psf(1.6).astype(np.float32),
                               borderType=cv2.BORDER_REFLECT)
        blurred = (blurred + rng.normal(0, 0.01, clean.shape)).astype(np.float32)
        baseline, out = np.clip(blurred, 0, 1), run(model, blurred)
    elif card["task"] == "super-resolution":
        s = card["scale"]
        lr = imresize(clean, 1 / s)
        if model.startswith("realsr"):  # the real-world model: a blurred, noisy LR like its training
            lr = imresize(cv2.GaussianBlur(clean, (0, 0), 1.0), 1 / s)
            lr = lr + rng.normal(0, 6 / 255, lr.shape).astype(np.float32)
        lr = np.clip(lr, 0, 1).astype(np.float32)
        baseline, out = np.clip(imresize(lr, s), 0, 1), run(model, lr)
    else:  # the learned Sobel filter against the exact note-002 target
        target = sobel(clean)
        out = run(model, clean)
        assert out.shape == target.shape
        assert psnr(out, target) > 25.0
        return
    assert out.shape == clean.shape
    margin = 3.0 if card["task"] == "denoise" else 0.1  # dB over the noisy input / bicubic / blurred
    assert psnr(out, clean) > psnr(baseline, clean) + margin
