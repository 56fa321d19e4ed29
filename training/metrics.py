"""Image quality metrics: PSNR and SSIM, the standard way.

The numpy functions take HW or HWC float images in [0, 1]. ``border`` crops that
many pixels from every side first (super-resolution crops ``scale``);
``y_channel`` scores BT.601 luma as MATLAB's ``rgb2ycbcr`` gives it, on the
0..255 scale (RGB images only; a one-channel image is scored as it is). The
torch versions score a NCHW batch per image, for validation inside training.

For numbers comparable with papers, quantise outputs to 8 bits first
(``np.round(x * 255) / 255``), as the standard evaluation does.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from engine.resize import rgb_to_y

SSIM_WINDOW, SSIM_SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03   # Wang et al. 2004


def _prepare(a, b, border: int, y_channel: bool, data_range: float):
    """float64 HWC copies, cropped and (optionally) converted to Y*255; and the data range."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"expected HW or HWC images, got shape {a.shape}")
    if y_channel:
        scale = 255.0 / data_range
        if a.shape[2] == 3:
            a = rgb_to_y(a / data_range).astype(np.float64)[:, :, None] * 255.0
            b = rgb_to_y(b / data_range).astype(np.float64)[:, :, None] * 255.0
        else:
            a, b = a * scale, b * scale
        data_range = 255.0
    if border:
        if 2 * border >= min(a.shape[:2]):
            raise ValueError(f"border {border} leaves nothing of a {a.shape[0]}x{a.shape[1]} image")
        a = a[border:-border, border:-border]
        b = b[border:-border, border:-border]
    return a, b, data_range


def psnr(a, b, data_range: float = 1.0, border: int = 0, y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    a, b, data_range = _prepare(a, b, border, y_channel, data_range)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range ** 2 / mse)


def _gaussian_window() -> np.ndarray:
    x = np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2
    g = np.exp(-(x ** 2) / (2 * SSIM_SIGMA ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def _ssim_channel(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    w = _gaussian_window()
    r = SSIM_WINDOW // 2

    def filt(img):   # Gaussian-weighted local mean, valid region only
        return cv2.filter2D(img, -1, w, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x ** 2
    var_y = filt(y * y) - mu_y ** 2
    cov = filt(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / \
               ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def ssim(a, b, border: int = 0, y_channel: bool = False, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5,
    K1 0.01, K2 0.03, mean over the valid region, averaged over channels."""
    a, b, data_range = _prepare(a, b, border, y_channel, data_range)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} "
                         f"(after the border), got {a.shape[0]}x{a.shape[1]}")
    return float(np.mean([_ssim_channel(np.ascontiguousarray(a[:, :, c]),
                                        np.ascontiguousarray(b[:, :, c]), data_range)
                          for c in range(a.shape[2])]))


# -- torch, per image of a batch -------------------------------------------
def _prepare_torch(pred, target, border: int, y_channel: bool, data_range: float):
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f"expected two NCHW tensors of one shape, got {pred.shape}, {target.shape}")
    pred, target = pred.double(), target.double()
    if y_channel:
        if pred.shape[1] == 3:
            w = pred.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
            pred = 16.0 + (pred / data_range * w).sum(1, keepdim=True)
            target = 16.0 + (target / data_range * w).sum(1, keepdim=True)
        else:
            pred, target = pred * (255.0 / data_range), target * (255.0 / data_range)
        data_range = 255.0
    if border:
        pred = pred[..., border:-border, border:-border]
        target = target[..., border:-border, border:-border]
    return pred, target, data_range


def psnr_torch(pred, target, data_range: float = 1.0, border: int = 0,
               y_channel: bool = False):
    """PSNR in dB of each image of a NCHW batch: a tensor of shape (N,)."""
    import torch

    with torch.no_grad():
        pred, target, data_range = _prepare_torch(pred, target, border, y_channel, data_range)
        mse = ((pred - target) ** 2).mean(dim=(1, 2, 3))
        return (10 * torch.log10(data_range ** 2 / mse)).float()   # inf where identical


def ssim_torch(pred, target, border: int = 0, y_channel: bool = False,
               data_range: float = 1.0):
    """SSIM of each image of a NCHW batch, shape (N,); the same definition as ``ssim``."""
    import torch

    from .losses import ssim_parts

    with torch.no_grad():
        pred, target, data_range = _prepare_torch(pred, target, border, y_channel, data_range)
        return ssim_parts(pred, target, SSIM_WINDOW, SSIM_SIGMA, data_range)[0].float()
