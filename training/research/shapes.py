"""Drawing for the generated research sets: antialiased shapes, colours, backgrounds.

Everything is numpy/OpenCV and takes a ``numpy.random.Generator``, so a seed
fixes every image. Masks are float32 HW in [0, 1]; images float32 HWC RGB.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

SHAPES = ("circle", "square", "triangle", "ring", "cross", "diamond", "stripes", "checker",
          "dots", "star")
SUPER = 4   # supersampling of the drawn masks (antialiasing)


def _polygon(points: np.ndarray, side: int) -> np.ndarray:
    canvas = np.zeros((side, side), np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 255)
    return canvas


def _rotate(points: np.ndarray, angle: float, centre: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return (points - centre) @ np.array([[c, s], [-s, c]]) + centre


def _regular(n: int, radius: float, centre: np.ndarray, angle: float, inner: float = 0.0) -> np.ndarray:
    """A regular n-gon (or a star with ``inner`` > 0: alternating radii)."""
    k = 2 * n if inner else n
    t = angle + 2 * math.pi * np.arange(k) / k
    r = np.where(np.arange(k) % 2, inner * radius, radius) if inner else np.full(k, radius)
    return np.stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)], axis=1)


def shape_mask(kind: str, size: int, rng: np.random.Generator, extent=(0.45, 0.8)) -> np.ndarray:
    """One shape of ``kind`` at a random position, size and rotation, as an HW mask."""
    side = size * SUPER
    r = float(rng.uniform(*extent)) * side / 2
    margin = min(r, side / 2)
    centre = rng.uniform(margin, side - margin, 2)
    angle = float(rng.uniform(0, 2 * math.pi))
    canvas = np.zeros((side, side), np.uint8)
    thick = max(1, int(r * 0.35))
    if kind == "circle":
        cv2.circle(canvas, tuple(np.round(centre).astype(int)), int(r), 255, -1)
    elif kind == "ring":
        cv2.circle(canvas, tuple(np.round(centre).astype(int)), int(r * 0.8), 255, thick)
    elif kind in ("square", "triangle", "diamond", "star"):
        n, inner, turn = {"square": (4, 0, 0), "triangle": (3, 0, 0), "diamond": (4, 0, 0),
                          "star": (5, 0.45, 0)}[kind]
        points = _regular(n, r, centre, angle + turn, inner)
        if kind == "diamond":   # a rhombus: one diagonal squeezed
            points = _rotate((points - centre) * [1.0, 0.55] + centre, angle, centre)
        canvas = _polygon(points, side)
    elif kind == "cross":
        bars = [np.array([[-r, -thick / 2], [r, -thick / 2], [r, thick / 2], [-r, thick / 2]]),
                np.array([[-thick / 2, -r], [thick / 2, -r], [thick / 2, r], [-thick / 2, r]])]
        for bar in bars:
            canvas |= _polygon(_rotate(bar + centre, angle, centre), side)
    elif kind in ("stripes", "checker", "dots"):
        period = side / float(rng.uniform(3, 6))
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        u = (xx - centre[0]) * math.cos(angle) + (yy - centre[1]) * math.sin(angle)
        v = -(xx - centre[0]) * math.sin(angle) + (yy - centre[1]) * math.cos(angle)
        a, b = np.floor(u / period) % 2, np.floor(v / period) % 2
        if kind == "stripes":
            pattern = a
        elif kind == "checker":
            pattern = (a + b) % 2
        else:
            du, dv = (u / period) % 1 - 0.5, (v / period) % 1 - 0.5
            pattern = (du * du + dv * dv) < 0.09
        canvas = (pattern * 255).astype(np.uint8)
    else:
        raise ValueError(f"unknown shape '{kind}' (known: {', '.join(SHAPES)})")
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def blob_mask(size: int, rng: np.random.Generator, extent=(0.3, 0.6)) -> np.ndarray:
    """A random smooth star-shaped blob (a cut-out outline), HW mask."""
    side = size * SUPER
    r = float(rng.uniform(*extent)) * side / 2
    centre = rng.uniform(r, side - r, 2)
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    wobble = sum(rng.uniform(0, 0.18) * np.cos(k * t + rng.uniform(0, 2 * math.pi)) for k in (2, 3, 5))
    radius = r * (1 + wobble)
    points = np.stack([centre[0] + radius * np.cos(t), centre[1] + radius * np.sin(t)], axis=1)
    return cv2.resize(_polygon(points, side), (size, size),
                      interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def colour(rng: np.random.Generator, far_from: np.ndarray | None = None) -> np.ndarray:
    """A saturated random RGB colour (redrawn a few times to differ from ``far_from``)."""
    for _ in range(8):
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(120, 255), rng.uniform(110, 255)]]], np.uint8)
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255
        if far_from is None or np.abs(rgb - far_from).sum() > 0.5:
            break
    return rgb


def crop_of(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of an HWC image (uint8 or float), resized to ``size``, float32."""
    h, w = image.shape[:2]
    side = int(rng.integers(max(1, min(h, w) // 3), min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = cv2.resize(np.ascontiguousarray(image[y:y + side, x:x + side]), (size, size),
                     interpolation=cv2.INTER_AREA)
    out = out.astype(np.float32) / (255 if image.dtype == np.uint8 else 1)
    return out.reshape(size, size, -1)[:, :, :3] if out.ndim == 3 else np.repeat(out[:, :, None], 3, 2)


def gradient(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth two-colour gradient with a little noise (background without source images)."""
    t = np.linspace(0, 1, size, dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(angle) * t[None, :] + math.sin(angle) * t[:, None])
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    a, b = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    img = a * (1 - ramp[..., None]) + b * ramp[..., None]
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)


def background(size: int, rng: np.random.Generator, sources: list[np.ndarray]) -> np.ndarray:
    return crop_of(sources[int(rng.integers(len(sources)))], size, rng) if sources else gradient(size, rng)
