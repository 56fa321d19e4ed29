"""Post-processing after a restore (seed note 004): gentle NL-means, auto-contrast, dithering.

The note ran three steps on its super-resolved frames:

1. ``nlmeans``: a *gentle* denoise. Plain NL-means smears thin lines, so it is
   done in two stages: residual = image - NL-means(image), and only the
   high-frequency part of the residual (residual - box blur of it) is removed;
   the low-frequency part, which is content, is given back.
2. ``autocontrast``: stretch the luma histogram between two percentiles, the
   same gain and offset for every channel (no colour shift). The note's own
   version flickered on low-dynamic-range images; here the gain is capped and a
   nearly flat image is left alone, so the result changes smoothly.
3. ``dither``: quantise to 8 bits with triangular (TPDF) dither of one step, so
   smooth gradients do not band. Seeded: the same input gives the same output.

Steps always run in that order (denoise, contrast, dither), whatever order they
are named in. Images are float32 HWC (or HW) in [0, 1], without alpha.
"""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from .errors import ConfigError

STEPS = ("nlmeans", "autocontrast", "dither")
TITLES = {"nlmeans": "Gentle denoise (two-stage NL-means)", "autocontrast": "Auto-contrast",
          "dither": "Dither to 8 bits"}


def parse_steps(steps: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"nlmeans,dither"`` or a list -> the known steps in run order; unknown names fail."""
    if not steps:
        return ()
    names = [s.strip().lower().replace("-", "") for s in
             (steps.split(",") if isinstance(steps, str) else steps)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ConfigError(f"unknown post-processing step(s) {', '.join(unknown)} "
                          f"(known: {', '.join(STEPS)})")
    return tuple(s for s in STEPS if s in names)


def _hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, dtype=np.float32)
    return img[:, :, None] if img.ndim == 2 else img


def gentle_nlmeans(img: np.ndarray, h: float = 0.03, box: int = 7) -> np.ndarray:
    """Two-stage NL-means: remove only the high-frequency part of the NL-means residual.

    ``h`` is the NL-means strength on the [0, 1] scale, ``box`` the box blur that
    separates content (kept) from noise (removed) in the residual.
    """
    from .classical import nlmeans

    img = _hwc(img)
    residual = img - _hwc(nlmeans(img, h=h))
    content = cv2.blur(residual, (box, box), borderType=cv2.BORDER_REFLECT_101).reshape(img.shape)
    return np.clip(img - (residual - content), 0, 1).astype(np.float32)


def autocontrast(img: np.ndarray, low: float = 0.005, high: float = 0.995, max_gain: float = 2.0,
                 min_range: float = 0.05) -> np.ndarray:
    """Map the ``low``..``high`` luma percentiles to 0..1 (gain capped at ``max_gain``,
    about the middle of that range); images whose range is below ``min_range`` are kept."""
    img = _hwc(img)
    luma = img[:, :, :3] @ np.array([0.299, 0.587, 0.114], np.float32) if img.shape[2] >= 3 \
        else img.mean(axis=2)
    lo, hi = np.quantile(luma, [low, high])
    span = float(hi - lo)
    if span < min_range:
        return img.copy()
    gain = min(1.0 / span, max_gain)
    centre = (lo + hi) / 2
    target = 0.5 if gain * span >= 1.0 - 1e-6 else np.clip(centre, gain * span / 2, 1 - gain * span / 2)
    return np.clip((img - centre) * gain + target, 0, 1).astype(np.float32)


def dither(img: np.ndarray, bits: int = 8, seed: int = 0) -> np.ndarray:
    """Quantise to ``bits`` with triangular dither of one step (values stay floats on that grid)."""
    img = _hwc(img)
    levels = float(2 ** bits - 1)
    rng = np.random.default_rng(seed)
    noise = rng.random(img.shape, dtype=np.float32) - rng.random(img.shape, dtype=np.float32)
    return (np.clip(np.rint(img * levels + noise), 0, levels) / levels).astype(np.float32)


def postprocess(img: np.ndarray, steps: str | Iterable[str] | None) -> np.ndarray:
    """Run the named steps (see :data:`STEPS`) in their fixed order."""
    out = _hwc(img)
    for step in parse_steps(steps):
        out = {"nlmeans": gentle_nlmeans, "autocontrast": autocontrast, "dither": dither}[step](out)
    return out
