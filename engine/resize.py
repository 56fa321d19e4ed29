"""MATLAB-compatible ``imresize`` and ``rgb2ycbcr`` luma, in numpy.

Super-resolution results are conventionally reported with MATLAB's bicubic
downscale and PSNR on the BT.601 luma channel; small differences in the
resampler move PSNR by tenths of a dB, so this module follows MATLAB's
index and weight arithmetic exactly:

* output size is ``ceil(in * scale)`` when a scale is given;
* output pixel ``u`` (1-based) maps to input ``x = u / s + 0.5 * (1 - 1/s)``;
* when shrinking (``s < 1``) with antialiasing, the kernel is stretched by
  ``1/s`` (and scaled by ``s``), so it also acts as a low-pass filter;
* ``ceil(width) + 2`` taps start at ``floor(x - width / 2)``; weights are
  normalised to sum to one and indices outside the image are mirrored
  (symmetric padding, edge pixel repeated);
* the axis with the smaller scale is resized first.

Everything is float64 internally; the result is float32 and neither clipped
nor rounded, so callers that need MATLAB's uint8 behaviour quantise it.
"""
from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (support [-2, 2])."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def _linear(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return (1.0 - ax) * (ax <= 1)


def _box(x: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _lanczos(a: int):
    def kernel(x: np.ndarray) -> np.ndarray:
        # np.sinc(t) = sin(pi t) / (pi t), with sinc(0) = 1
        return np.sinc(x) * np.sinc(x / a) * (np.abs(x) < a)
    return kernel


# name -> (kernel function, support width), as in MATLAB's imresize
KERNELS = {
    "cubic": (_cubic, 4.0),
    "linear": (_linear, 2.0),
    "box": (_box, 1.0),
    "lanczos2": (_lanczos(2), 4.0),
    "lanczos3": (_lanczos(3), 6.0),
}


def contributions(in_len: int, out_len: int, scale: float, kernel: str = "cubic",
                  antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-pixel input indices (0-based) and weights, both (out_len, taps)."""
    try:
        func, width = KERNELS[kernel]
    except KeyError:
        raise ValueError(f"unknown kernel {kernel!r} (known: {', '.join(KERNELS)})") from None
    if scale < 1 and antialias:
        # widen the kernel by 1/scale; the factor `scale` keeps its integral at 1
        base = func
        func = lambda t: scale * base(scale * t)  # noqa: E731
        width = width / scale

    u = np.arange(1, out_len + 1, dtype=np.float64)           # 1-based output coords
    x = u / scale + 0.5 * (1.0 - 1.0 / scale)                 # matching input coords
    left = np.floor(x - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]            # 1-based input indices
    weights = func(x[:, None] - idx)
    weights = weights / weights.sum(axis=1, keepdims=True)

    # mirror out-of-range indices: the sequence 1..n, n..1 repeated
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]

    # drop tap columns that carry no weight at all (as MATLAB does)
    keep = np.any(weights != 0, axis=0)
    return idx[:, keep], weights[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float,
                 kernel: str, antialias: bool) -> np.ndarray:
    idx, weights = contributions(img.shape[axis], out_len, scale, kernel, antialias)
    # work on a 2-D (length, everything else) view so each tap is a row gather
    moved = np.moveaxis(img, axis, 0)
    rest = moved.shape[1:]
    rows = np.ascontiguousarray(moved).reshape(moved.shape[0], -1)
    out = rows[idx[:, 0]] * weights[:, 0, None]
    for t in range(1, idx.shape[1]):
        out += rows[idx[:, t]] * weights[:, t, None]
    return np.moveaxis(out.reshape((out_len,) + rest), 0, axis)


def output_size(in_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """MATLAB's output size for a scale factor: ceil(in * scale) per axis."""
    return tuple(int(math.ceil(n * scale)) for n in in_hw)


def imresize(img: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None,
             kernel: str = "cubic", antialias: bool = True) -> np.ndarray:
    """Resize an HW or HWC image like MATLAB's ``imresize``.

    Give either ``scale`` (one factor for both axes) or ``size`` ``(h, w)``.
    Returns float32, not clipped or rounded.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects an HW or HWC image, got shape {img.shape}")
    if (scale is None) == (size is None):
        raise ValueError("imresize: give exactly one of scale or size")
    in_hw = img.shape[:2]
    if scale is not None:
        if scale <= 0:
            raise ValueError(f"imresize: scale must be positive, got {scale}")
        out_hw = output_size(in_hw, scale)
        scales = (float(scale), float(scale))
    else:
        out_hw = (int(size[0]), int(size[1]))
        if min(out_hw) <= 0:
            raise ValueError(f"imresize: size must be positive, got {size}")
        scales = (out_hw[0] / in_hw[0], out_hw[1] / in_hw[1])

    out = img.astype(np.float64, copy=False)
    # smaller scale first (stable sort: height first on a tie), like MATLAB
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        if out_hw[axis] == out.shape[axis] and scales[axis] == 1.0:
            continue
        out = _resize_axis(out, axis, out_hw[axis], scales[axis], kernel, antialias)
    return out.astype(np.float32)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image in [0, 1], as MATLAB's ``rgb2ycbcr`` (float input).

    The result lies in [16/255, 235/255]; multiply by 255 for the usual scale.
    float64 input gives float64, anything else float32.
    """
    img = np.asarray(img)
    dtype = np.float64 if img.dtype == np.float64 else np.float32
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects an HxWx3 RGB image, got shape {img.shape}")
    img = img.astype(np.float64, copy=False)
    y = 16.0 + 65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]
    return (y / 255.0).astype(dtype)
