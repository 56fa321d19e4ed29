"""Geometry steps of the research reproductions (note 000): zero padding and a resize round trip."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.resize import imresize

from .base import Degradation, register


@register("zero_pad")
@dataclass(frozen=True)
class ZeroPad(Degradation):
    """Put input *and* target in the top-left corner of a zero canvas ``factor`` times
    their size (note 000 padded 48 px images to 96 px before its circular blur, so
    the blur and its learned inverse never wrap content around)."""
    factor: Any = 2.0
    bounds = {"factor": (1, 16)}
    ranged = ("factor",)

    def __call__(self, img, rng):
        factor = self.draw("factor", rng)
        h, w, c = img.shape
        out = np.zeros((int(math.ceil(h * factor)), int(math.ceil(w * factor)), c), np.float32)
        out[:h, :w] = img
        return out

    def apply_pair(self, inp, target, rng):
        state = rng.bit_generator.state           # the same draw for both
        padded = self(inp, rng)
        rng.bit_generator.state = state
        return padded, self(target, rng)


@register("down_up")
@dataclass(frozen=True)
class DownUp(Degradation):
    """Shrink by ``scale`` (MATLAB bicubic) and enlarge back to the same size (OpenCV
    bicubic): the pre-upsampled low-resolution input of SRCNN-style one-layer SR
    (note 000's super-resolution pairs)."""
    scale: Any = 2.0
    ranged = ("scale",)
    bounds = {"scale": (1, 16)}

    def __call__(self, img, rng):
        scale = self.draw("scale", rng)
        h, w, c = img.shape
        small = imresize(img, size=(max(1, math.ceil(h / scale)), max(1, math.ceil(w / scale))))
        out = cv2.resize(np.ascontiguousarray(small, dtype=np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
        return np.clip(out.reshape(h, w, c), 0, 1).astype(np.float32)
