"""Which precision a model restores in by default: bf16 where it measurably equals fp32.

``check_bf16`` restores one fixed synthetic photo-like image in fp32 and in bf16 and keeps the
agreement (PSNR of the bf16 output against the fp32 one, largest difference in 8-bit levels)
and the speed ratio in the model card as ``precision_check``. ``precision="auto"`` then picks
bf16 when that check passed and the device runs bf16 natively, fp32 otherwise.
"""
from __future__ import annotations

import time

import numpy as np

from . import devices

EQUAL_DB = 50.0      # bf16 vs fp32 output: at 50 dB the RMS difference is 0.8 of a level
SAMPLE_SIDE = 160
CARD_KEY = "precision_check"


def sample_image(side: int = SAMPLE_SIDE) -> np.ndarray:
    """A deterministic photo-like RGB image in [0, 1]: smooth shading, hard edges, texture, noise."""
    import cv2

    rng = np.random.default_rng(2026)
    img = cv2.resize(rng.random((8, 8, 3), dtype=np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        y, x = rng.integers(0, side - 24, 2)
        img[y:y + rng.integers(12, 48), x:x + rng.integers(12, 48)] = rng.random(3)
    yy, xx = np.mgrid[0:side, 0:side] / side
    img += 0.15 * np.sin(40 * xx * yy)[..., None]
    img += rng.normal(0, 10 / 255, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def _timed_restore(restorer, pixels: np.ndarray) -> tuple[np.ndarray, float]:
    from .inference import restore_whole

    start = time.perf_counter()
    return restore_whole(restorer, pixels), time.perf_counter() - start


def check_bf16(ref: str, device: str = "cpu") -> dict:
    """Restore the sample in fp32 and bf16 (warm, best of two) and compare."""
    from .models import load_restorer

    pixels = sample_image()
    outs, secs = {}, {}
    for precision in ("fp32", "bf16"):
        restorer = load_restorer(ref, device=device, precision=precision)
        if restorer.in_channels == 1:
            pixels = pixels.mean(axis=2, keepdims=True)
        runs = [_timed_restore(restorer, pixels) for _ in range(2)]
        outs[precision], secs[precision] = runs[-1][0], min(t for _, t in runs)
    diff = outs["fp32"].astype(np.float64) - outs["bf16"]
    mse = float(np.mean(diff ** 2))
    psnr = 99.0 if mse == 0 else min(99.0, float(10 * np.log10(1.0 / mse)))
    return {"device": device.split(":")[0], "psnr_vs_fp32": round(psnr, 2),
            "max_levels": round(float(np.abs(diff).max() * 255), 2),
            "bf16_speedup": round(secs["fp32"] / max(secs["bf16"], 1e-9), 2),
            "equal": bool(psnr >= EQUAL_DB)}


def auto_precision(card: dict, device: str) -> str:
    """bf16 when the card's check passed and the device runs bf16 natively, else fp32."""
    check = card.get(CARD_KEY) or {}
    if check.get("equal") and devices.fast_bf16(device):
        return "bf16"
    return "fp32"
