"""Level maps: the extra input channel of nets that take a noise or blur level.

A net with ``level = "noise"`` reads sigma / 255 in its last input channel, or
``UNKNOWN`` when the user gives no sigma (it was trained blind too). A net with
``level = "blur"`` reads the Gaussian blur sigma / ``BLUR_UNIT``; when the user
gives none, :func:`estimate_blur_sigma` measures it on the whole image once,
before tiling, so every tile gets the same map and tiles stay exact.
Training (``training.degradations.levels``) and restore share these values.
Torch-free.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .imagebase import to_float

UNKNOWN = -0.1        # noise map value: "not given", the net estimates the level itself
BLUR_UNIT = 4.0       # blur map value = sigma / BLUR_UNIT
NOISE_RANGE = (0.0, 75.0)
BLUR_RANGE = (0.3, 3.5)


def noise_level_map_value(sigma: float | None) -> float:
    """Map value for a noise sigma on the 0-255 scale (None: unknown)."""
    return UNKNOWN if sigma is None else float(sigma) / 255.0


def blur_level_map_value(sigma: float) -> float:
    return float(sigma) / BLUR_UNIT


def _gradient(grey: np.ndarray, smooth: float) -> np.ndarray:
    s = cv2.GaussianBlur(grey, (0, 0), smooth, borderType=cv2.BORDER_REFLECT)
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3) / 8
    return np.hypot(gx, gy)


def estimate_blur_sigma(img: np.ndarray, reblur: float = 2.0, smooth: float = 0.7,
                        top: float = 0.1) -> float:
    """Gaussian blur sigma of an image, from the gradient ratio at its strongest edges.

    Re-blurring an edge blurred by sigma with ``reblur`` lowers its gradient by
    R = sqrt((s^2 + r^2 + d^2) / (s^2 + d^2)) (d: the derivative's smoothing), so
    s = sqrt(r^2 / (R^2 - 1) - d^2) (Zhuo & Sim 2011). The median over the strongest
    ``top`` share of the gradient's local maxima is corrected for the softness of natural edges
    (fitted on blurred CBSD68 photos: true ~ 1.22 x measured). About +-0.25 px there.
    """
    img = to_float(np.asarray(img))   # uint8/uint16 input: [0, 1] as well
    grey = img.mean(axis=2) if img.ndim == 3 else img
    grey = np.ascontiguousarray(grey, np.float32)
    if min(grey.shape) < 16:
        return 1.0
    g1 = _gradient(grey, smooth)
    g2 = _gradient(cv2.GaussianBlur(grey, (0, 0), reblur, borderType=cv2.BORDER_REFLECT), smooth)
    peaks = (g1 >= cv2.dilate(g1, np.ones((3, 3), np.uint8))) & (g1 > 1e-3)
    strong = g1[peaks] >= np.quantile(g1[peaks], 1 - top) if peaks.any() else peaks[peaks]
    ratio = g1[peaks][strong] / np.maximum(g2[peaks][strong], 1e-6)
    ratio = ratio[ratio > 1.01]
    if ratio.size < 20:
        return 1.0
    s2 = float(np.median(reblur ** 2 / (ratio ** 2 - 1.0) - smooth ** 2))
    sigma = 1.22 * math.sqrt(max(s2, 0.01)) + 0.05
    return float(np.clip(sigma, *BLUR_RANGE))
