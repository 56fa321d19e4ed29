"""Measures of the research reports, on numpy HWC float images in [0, 1].

- :func:`nyquist_energy`: the checkerboard measure of notes 003/004: the share of
  an image's AC spectral energy on the Nyquist row and column (period-2
  patterns such as the checkerboard of a stride-2 transposed conv land there).
- :func:`auroc`: area under the ROC curve of anomaly scores (Mann-Whitney U).
- :func:`paste_defect`: a synthetic defect (a saturated blob and a scratch) for
  the anomaly measure of note 001.
- :func:`mask_iou`: intersection over union of thresholded masks (note 003).
"""
from __future__ import annotations

import cv2
import numpy as np


def nyquist_energy(img: np.ndarray) -> float:
    """Mean over channels of (energy at the Nyquist row + column) / (all AC energy).

    For odd sizes the frequency nearest to Nyquist is used. A flat image gives 0.
    """
    img = np.asarray(img, np.float64)
    img = img[:, :, None] if img.ndim == 2 else img
    h, w = img.shape[:2]
    shares = []
    for c in range(img.shape[2]):
        x = img[:, :, c] - img[:, :, c].mean()
        power = np.abs(np.fft.fft2(x)) ** 2
        total = power.sum()
        if total <= 1e-20:
            shares.append(0.0)
            continue
        ny, nx = h // 2, w // 2
        on_line = power[ny, :].sum() + power[:, nx].sum() - power[ny, nx]
        shares.append(float(on_line / total))
    return float(np.mean(shares))


def auroc(negatives, positives) -> float:
    """P(score of a positive > score of a negative), ties counting one half."""
    neg, pos = np.asarray(negatives, float), np.asarray(positives, float)
    if not len(neg) or not len(pos):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def paste_defect(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``img`` with a saturated blob (about 3-8 % of the area) and a thin scratch."""
    out = np.array(img, np.float32, copy=True)
    h, w, c = out.shape
    canvas = np.zeros((h, w), np.uint8)
    axes = (int(w * rng.uniform(0.1, 0.2)), int(h * rng.uniform(0.1, 0.2)))
    centre = (int(rng.integers(axes[0], max(axes[0] + 1, w - axes[0]))),
              int(rng.integers(axes[1], max(axes[1] + 1, h - axes[1]))))
    cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    p1 = (int(rng.integers(w)), int(rng.integers(h)))
    p2 = (int(rng.integers(w)), int(rng.integers(h)))
    cv2.line(canvas, p1, p2, 255, max(1, min(h, w) // 40))
    mask = (canvas > 0)[:, :, None]
    tone = rng.choice([0.0, 1.0], size=c).astype(np.float32)
    if c >= 3 and tone.min() == tone.max():
        tone[int(rng.integers(c))] = 1 - tone[0]      # a colour the photo rarely has
    return np.where(mask, tone, out).astype(np.float32)


def mask_iou(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    p, t = pred > threshold, target > threshold
    union = np.logical_or(p, t).sum()
    return float(np.logical_and(p, t).sum() / union) if union else 1.0
