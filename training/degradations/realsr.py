"""RealSR-style degradation material (note 004): real noise patches and kernel pools.

Noise patches are cut from real photographs by "two-stage" extraction:

1. residual = image - NL-means(image)   (the noise, plus some fine content);
2. residual -= box_blur(residual)      (removes what is left of the content).

Patches are taken preferably from flat regions (low variance of the denoised
image), where the residual is mostly noise, and made zero-mean per channel.
The ``noise_patches`` degradation adds them to training inputs; ``kernel_blur``
(or ``load_kernel_pool``) supplies the estimated real blur kernels.

Plain functions, so a job can wrap them and report progress.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from .base import as_hwc
from .kernels import box_kernel, convolve, kernel_files, load_kernel


def nlmeans_residual(img: np.ndarray, h: float = 10.0, box: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(residual, denoised) of an HWC image in [0, 1] by the two-stage method."""
    img = as_hwc(img)[:, :, :3]
    u8 = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    if img.shape[2] == 3:
        bgr = np.ascontiguousarray(u8[:, :, ::-1])
        den = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)[:, :, ::-1]
    elif img.shape[2] == 1:
        den = cv2.fastNlMeansDenoising(np.ascontiguousarray(u8[:, :, 0]), None, h, 7, 21)
    else:
        raise ValueError(f"expected 1 or 3 channels, got {img.shape[2]}")
    denoised = den.reshape(img.shape).astype(np.float32) / 255.0
    residual = img - denoised
    residual = residual - convolve(residual, box_kernel(box))
    return residual, denoised


def extract_noise_patches(images: Iterable[np.ndarray], patch: int = 64, per_image: int = 8,
                          rng: np.random.Generator | None = None, h: float = 10.0,
                          box: int = 7, candidates: int = 4) -> list[np.ndarray]:
    """Cut ``per_image`` zero-mean noise patches (patch x patch x C, float32) from each image.

    ``h`` is the NL-means strength (8-bit units), ``box`` the size of the box blur
    that removes content from the residual. Of ``candidates * per_image`` random
    positions, the flattest ones (lowest variance of the denoised image) are kept.
    Images smaller than ``patch`` are skipped.
    """
    if patch < 2 or per_image < 1 or candidates < 1:
        raise ValueError("patch must be >= 2, per_image and candidates >= 1")
    rng = rng if rng is not None else np.random.default_rng(0)
    out: list[np.ndarray] = []
    for img in images:
        img = as_hwc(img)
        height, width = img.shape[:2]
        if height < patch or width < patch:
            continue
        residual, denoised = nlmeans_residual(img, h, box)
        n = candidates * per_image
        ys = rng.integers(0, height - patch + 1, n)
        xs = rng.integers(0, width - patch + 1, n)
        flatness = [denoised[y:y + patch, x:x + patch].var() for y, x in zip(ys, xs)]
        for i in np.argsort(flatness, kind="stable")[:per_image]:
            p = residual[ys[i]:ys[i] + patch, xs[i]:xs[i] + patch].copy()
            p -= p.mean(axis=(0, 1), keepdims=True)
            out.append(p.astype(np.float32))
    return out


def save_patches(patches: Iterable[np.ndarray], folder: str | Path) -> list[Path]:
    """Write patches as ``patch_NNNNN.npy`` into ``folder`` (created), numbered after
    any already there. Returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = len(list(folder.glob("patch_*.npy")))
    paths = []
    for i, p in enumerate(patches, start):
        path = folder / f"patch_{i:05d}.npy"
        np.save(path, np.asarray(p, dtype=np.float32), allow_pickle=False)
        paths.append(path)
    return paths


def load_patches(folder: str | Path) -> list[np.ndarray]:
    """All .npy noise patches in ``folder`` (sorted by name), float32 HW or HWC."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"noise patch folder not found: {folder}")
    patches = [np.load(p, allow_pickle=False).astype(np.float32)
               for p in sorted(folder.glob("*.npy"))]
    if not patches:
        raise ValueError(f"no .npy noise patches in {folder}")
    return patches


def load_kernel_pool(folder: str | Path) -> list[np.ndarray]:
    """All kernel files (.npy, .png, .txt) in ``folder``, each normalised to sum 1."""
    kernels = [load_kernel(p) for p in kernel_files(folder)]
    if not kernels:
        raise ValueError(f"no kernel files in {folder}")
    return kernels
