"""Degradations that also hand the net their level, as an extra input channel.

Nets with a level map (``resunet`` with ``level = "noise"`` or ``"blur"``) take
the image plus one constant channel saying how strong the degradation is; the
same map is built at restore time from what the user gives (``--set sigma=``)
or, when they give nothing, the blind value the net was also trained on.
These steps draw the degradation, apply it as users meet it (clipped to
[0, 1], quantised to 8 bits, sometimes JPEG-compressed) and append that map.
They end a recipe: nothing after them may change the channel count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.levels import BLUR_UNIT, UNKNOWN, blur_level_map_value, noise_level_map_value

from . import kernels as K
from .base import Degradation, register
from .transforms import Jpeg

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
CAMERA_JPEG = Jpeg(quality=(75, 95))


def _realistic(img: np.ndarray, rng, p_clip: float, p_jpeg: float) -> np.ndarray:
    """Clip + quantise to 8 bits (most of the time) and sometimes JPEG, as camera files are."""
    if rng.random() < p_clip:
        img = np.rint(np.clip(img, 0.0, 1.0) * 255.0) / 255.0
        if rng.random() < p_jpeg:
            img = CAMERA_JPEG(img, rng)
    return img.astype(np.float32)


def _with_map(img: np.ndarray, value: float) -> np.ndarray:
    level = np.full(img.shape[:2] + (1,), value, np.float32)
    return np.concatenate([img, level], axis=2)


@register("noise_with_level")
@dataclass(frozen=True)
class NoiseWithLevel(Degradation):
    """AWGN of ``sigma`` (0..255 units) plus its level map; ``p_blind`` of the samples get the
    UNKNOWN map instead, so one net denoises blind and non-blind. ``p_grey`` turns input and
    target grey first (three equal channels with one noise plane: what a grey photo becomes)."""
    sigma: Any = (0.0, 50.0)
    p_blind: float = 0.5
    p_grey: float = 0.15
    p_clip: float = 0.7
    p_jpeg: float = 0.1
    applies_to = "both"
    ranged = ("sigma",)
    bounds = {"sigma": (0, 255)}

    def apply_pair(self, inp, target, rng):
        planes = inp.shape[2]
        if planes == 3 and rng.random() < self.p_grey:
            target = np.repeat((target @ LUMA)[:, :, None], 3, axis=2)
            inp, planes = target.copy(), 1
        sigma = self.draw("sigma", rng)
        noise = rng.standard_normal(inp.shape[:2] + (planes,), dtype=np.float32)
        noisy = _realistic(inp + noise * np.float32(sigma / 255.0), rng, self.p_clip, self.p_jpeg)
        value = UNKNOWN if rng.random() < self.p_blind else noise_level_map_value(sigma)
        return _with_map(noisy, value), target


@register("blur_with_level")
@dataclass(frozen=True)
class BlurWithLevel(Degradation):
    """Gaussian blur of ``sigma`` plus AWGN of ``noise`` (0..255), and the blur's level map.

    The map carries the true sigma times a factor drawn from N(1, ``jitter``) (clipped to
    +-3 jitter): at restore time a blind input gets an estimated sigma, so the net learns
    to correct a Wiener prior computed for a slightly wrong blur."""
    sigma: Any = (0.4, 3.2)
    noise: Any = (0.0, 4.0)
    jitter: float = 0.1
    p_clip: float = 0.6
    p_jpeg: float = 0.05
    ranged = ("sigma", "noise")
    bounds = {"sigma": (0.05, BLUR_UNIT * 0.9), "noise": (0, 255)}

    def __call__(self, img, rng):
        sigma = self.draw("sigma", rng)
        blurred = K.convolve(img, K.gaussian_kernel(sigma))
        noisy = blurred + rng.standard_normal(img.shape, dtype=np.float32) * \
            np.float32(self.draw("noise", rng) / 255.0)
        noisy = _realistic(noisy, rng, self.p_clip, self.p_jpeg)
        factor = 1.0 + float(np.clip(rng.standard_normal(), -3, 3)) * self.jitter
        return _with_map(noisy, blur_level_map_value(sigma * factor))
