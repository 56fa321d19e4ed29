"""Blur kernels (Gaussian, box, motion, disk, 4-factor), kernel files, and convolution."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

KERNEL_SUFFIXES = (".npy", ".png", ".txt")


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True 2D convolution of each channel of an HWC image, mirrored border
    (``gfedcb|abcdefgh|gfedcba``). Returns float32 HWC."""
    kernel = np.asarray(kernel, dtype=np.float32)
    # cv2.filter2D correlates; flipping the kernel makes it a convolution
    out = cv2.filter2D(img.astype(np.float32), -1, np.ascontiguousarray(kernel[::-1, ::-1]),
                       borderType=cv2.BORDER_REFLECT_101)
    return out.reshape(img.shape)  # cv2 drops a trailing single channel


def normalize_kernel(kernel, source: str = "kernel") -> np.ndarray:
    """A 2D float32 kernel scaled to sum to 1; ValueError if it cannot be."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim == 3 and k.shape[2] in (1, 3, 4):   # a colour image of a kernel: take its mean
        k = k[:, :, :3].mean(axis=2)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{source}: a kernel must be a 2D array, got shape {k.shape}")
    total = k.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"{source}: kernel sums to {total}; it must sum to a positive number")
    return (k / total).astype(np.float32)


def load_kernel(path: str | Path) -> np.ndarray:
    """Read a kernel from .npy, .png (grey levels) or .txt (whitespace table), normalised."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        k = np.load(path, allow_pickle=False)
    elif suffix == ".png":
        k = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if k is None:
            raise ValueError(f"{path}: could not read the kernel image")
    elif suffix == ".txt":
        k = np.loadtxt(path, ndmin=2)
    else:
        raise ValueError(f"{path}: kernel files must be {', '.join(KERNEL_SUFFIXES)}")
    return normalize_kernel(k, str(path))


def kernel_files(paths) -> list[Path]:
    """Expand files and folders (their kernel files, sorted) into a list of files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for entry in paths:
        entry = Path(entry).expanduser()
        if entry.is_dir():
            files += sorted(p for p in entry.iterdir() if p.suffix.lower() in KERNEL_SUFFIXES)
        elif entry.is_file():
            files.append(entry)
        else:
            raise ValueError(f"kernel path not found: {entry}")
    return files


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 2D Gaussian; ``size`` defaults to 2*ceil(3 sigma)+1. sigma 0 -> identity."""
    if sigma <= 0:
        return np.ones((1, 1), np.float32)
    size = size or 2 * int(math.ceil(3 * sigma)) + 1
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-0.5 * (x / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def box_kernel(size: int) -> np.ndarray:
    return np.full((size, size), 1.0 / (size * size), np.float32)


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight line of ``length`` pixels through the centre, rotated by ``angle`` degrees
    (counter-clockwise from horizontal). Fractional lengths give partial end pixels."""
    size = max(1, int(math.ceil(length))) | 1          # odd and at least the length
    c = size // 2
    x = np.abs(np.arange(size) - c)
    k = np.zeros((size, size), np.float32)
    k[c] = np.clip(length / 2 + 0.5 - x, 0, 1)         # coverage of each pixel by the segment
    if k.sum() == 0:
        k[c, c] = 1
    rot = cv2.getRotationMatrix2D((float(c), float(c)), float(angle), 1.0)
    k = cv2.warpAffine(k, rot, (size, size), flags=cv2.INTER_LINEAR)
    return normalize_kernel(k, "motion kernel")


def disk_kernel(radius: float, supersample: int = 8) -> np.ndarray:
    """Uniform disk (defocus) of ``radius`` pixels; edge pixels weighted by their coverage."""
    if radius <= 0:
        return np.ones((1, 1), np.float32)
    half = int(math.ceil(radius))
    size = 2 * half + 1
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    coords = (np.arange(size)[:, None] - half + sub[None, :]).ravel()  # sub-pixel centres
    inside = coords[:, None] ** 2 + coords[None, :] ** 2 <= radius ** 2
    k = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    if k.sum() == 0:
        k[half, half] = 1
    return normalize_kernel(k, "disk kernel")


def four_factor_response(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Frequency response (H x W) of the "4-factor" blur of note 000.

    ``h`` (origin at index [0, 0]) is zero-padded to ``shape``; its copies flipped
    along H, along W and along both are each rolled by one so that index n holds
    h[-n]: their FFTs are H(-u, v), H(u, -v), H(-u, -v). The product of the four
    responses is real and non-negative: a zero-phase blur, symmetric in both axes.
    """
    kh, kw = kernel.shape
    if kh > shape[0] or kw > shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the image {shape}")
    h = np.zeros(shape, np.float64)
    h[:kh, :kw] = kernel
    flip_h = np.roll(h[::-1, :], 1, axis=0)
    flip_w = np.roll(h[:, ::-1], 1, axis=1)
    flip_hw = np.roll(np.roll(h[::-1, ::-1], 1, axis=0), 1, axis=1)
    response = np.ones(shape, np.complex128)
    for part in (h, flip_h, flip_w, flip_hw):
        response *= np.fft.fft2(part)
    return response


def four_factor_blur(img: np.ndarray, kernel: np.ndarray, pad_factor: float = 2.0) -> np.ndarray:
    """Apply the 4-factor blur of ``kernel`` to an HWC image by FFT.

    The image sits in the top-left corner of a zero canvas ``pad_factor`` times its
    size; the circular convolution there is cropped back, so content does not wrap
    around (the border sees zeros, as in the research). ``pad_factor`` 1 is a plain
    circular convolution.
    """
    h, w = img.shape[:2]
    ph, pw = int(math.ceil(h * pad_factor)), int(math.ceil(w * pad_factor))
    canvas = np.zeros((ph, pw, img.shape[2]), np.float64)
    canvas[:h, :w] = img
    response = four_factor_response(np.asarray(kernel, np.float64), (ph, pw))
    out = np.fft.ifft2(np.fft.fft2(canvas, axes=(0, 1)) * response[:, :, None], axes=(0, 1))
    return out.real[:h, :w].astype(np.float32)
