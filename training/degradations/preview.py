"""A contact sheet of training pairs, for ``restorelab datasets preview``."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .base import Recipe

GAP = 4  # pixels between tiles


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return img[:, :, :3]


def preview_grid(recipe: Recipe, images: Sequence[np.ndarray], n: int,
                 rng: np.random.Generator) -> np.ndarray:
    """n rows of (input | target) pairs made from ``images`` (cycled), as uint8 RGB.

    The input is enlarged to the target's size with nearest neighbour so pixels
    stay visible; rows of different widths are padded with black.
    """
    if not images or n < 1:
        raise ValueError("preview_grid needs at least one image and n >= 1")
    rows = []
    for i in range(n):
        inp, target = recipe.make_pair(images[i % len(images)], rng)
        th, tw = target.shape[:2]
        if inp.shape[:2] != (th, tw):
            inp = cv2.resize(inp, (tw, th), interpolation=cv2.INTER_NEAREST).reshape(th, tw, -1)
        gap = np.zeros((th, GAP, 3), np.float32)
        rows.append(np.concatenate([_rgb(inp), gap, _rgb(target)], axis=1))
    width = max(r.shape[1] for r in rows)
    padded = []
    for r in rows:
        r = np.pad(r, ((0, GAP), (0, width - r.shape[1]), (0, 0)))
        padded.append(r)
    grid = np.concatenate(padded, axis=0)[:-GAP]
    return np.clip(np.rint(grid * 255), 0, 255).astype(np.uint8)
