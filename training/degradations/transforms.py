"""Downscale, JPEG compression and colour jitter."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.resize import imresize

from .base import Degradation, register

DOWNSCALE_METHODS = ("bicubic", "area", "cv_bicubic", "bilinear", "nearest")
_CV_FLAGS = {"area": cv2.INTER_AREA, "cv_bicubic": cv2.INTER_CUBIC,
             "bilinear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


@register("downscale")
@dataclass(frozen=True)
class Downscale(Degradation):
    """Shrink the input by ``scale`` (2 halves each side); output is ceil(size / scale).

    ``bicubic`` is MATLAB's antialiased imresize (``engine.resize``), the standard
    for super-resolution; ``area``/``cv_bicubic``/``bilinear``/``nearest`` use OpenCV.
    """
    scale: Any = 2.0
    method: str = "bicubic"
    ranged = ("scale",)
    bounds = {"scale": (1, 64)}

    def __post_init__(self):
        super().__post_init__()
        if self.method not in DOWNSCALE_METHODS:
            raise self.fail(f"unknown method '{self.method}' (known: {', '.join(DOWNSCALE_METHODS)})")

    def __call__(self, img, rng):
        scale = self.draw("scale", rng)
        h, w, c = img.shape
        size = (max(1, math.ceil(h / scale)), max(1, math.ceil(w / scale)))
        if self.method == "bicubic":
            out = imresize(img, size=size)
        else:
            out = cv2.resize(img, (size[1], size[0]), interpolation=_CV_FLAGS[self.method])
        return np.clip(out.reshape(size[0], size[1], c), 0, 1).astype(np.float32)


@register("jpeg")
@dataclass(frozen=True)
class Jpeg(Degradation):
    """JPEG round trip at ``quality`` (1..100) through OpenCV, 8-bit."""
    quality: Any = (30, 95)
    ranged = ("quality",)
    integers = ("quality",)
    bounds = {"quality": (1, 100)}

    def __call__(self, img, rng):
        quality = self.draw("quality", rng)
        c = img.shape[2]
        data = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
        if c == 3:
            data = data[:, :, ::-1]        # OpenCV expects BGR
        elif c != 1:
            raise ValueError(f"jpeg: expects 1 or 3 channels, got {c}")
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(data),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise RuntimeError("jpeg: OpenCV could not encode the image")
        flag = cv2.IMREAD_COLOR if c == 3 else cv2.IMREAD_GRAYSCALE
        out = cv2.imdecode(buf, flag)
        if c == 3:
            out = out[:, :, ::-1]
        return (out.reshape(img.shape).astype(np.float32) / 255.0)


@register("color_jitter")
@dataclass(frozen=True)
class ColorJitter(Degradation):
    """Brightness and contrast factors (1 = unchanged), drawn once per sample and
    applied to input and target alike (an augmentation, not a degradation).

    v -> ((b * v) - m) * c + m, with m the mean level of the (target) image times b.
    """
    brightness: Any = (0.8, 1.2)
    contrast: Any = (0.8, 1.2)
    applies_to = "both"
    ranged = ("brightness", "contrast")
    bounds = {"brightness": (0, None), "contrast": (0, None)}

    @staticmethod
    def jitter(img, brightness, contrast, mean):
        mean = np.float32(mean * brightness)
        out = img * np.float32(brightness)
        return np.clip((out - mean) * np.float32(contrast) + mean, 0, 1)

    def __call__(self, img, rng):
        b, c = self.draw("brightness", rng), self.draw("contrast", rng)
        return self.jitter(img, b, c, img.mean())

    def apply_pair(self, inp, target, rng):
        b, c = self.draw("brightness", rng), self.draw("contrast", rng)
        mean = target.mean()      # one pivot for both, so the pair stays consistent
        return self.jitter(inp, b, c, mean), self.jitter(target, b, c, mean)
