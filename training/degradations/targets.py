"""Filter targets (note 002): the input stays the clean image, the target is filtered.

These teach a network an image-to-image filter (Sobel edges, a fixed random
kernel, any user kernel) rather than a restoration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.classical import sobel_magnitude

SOBEL_UNIT = 4.0   # raw Sobel magnitudes of [0, 1] images reach 4 * sqrt(2)

from . import kernels as K
from .base import Degradation, register

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)   # ITU-R BT.601 weights, as cv2's RGB2GRAY


def grey(img: np.ndarray) -> np.ndarray:
    """HW1 grey of an HWC image (RGB weighted by BT.601; one channel kept as is)."""
    if img.shape[2] == 1:
        return img
    if img.shape[2] < 3:
        raise ValueError(f"grey: expects 1, 3 or 4 channels, got {img.shape[2]}")
    return (img[:, :, :3] @ _LUMA)[:, :, None]


@register("sobel_target")
@dataclass(frozen=True)
class SobelTarget(Degradation):
    """Target = Sobel gradient magnitude of the grey target blurred by ``sigma``
    (``engine.classical.sobel_magnitude``), divided by its per-image maximum so it
    spans [0, 1]; one channel. The same map as the classical ``sobel`` baseline.

    ``normalise = false`` keeps the raw magnitude (divided by the constant
    ``SOBEL_UNIT``): a convolutional net cannot see a crop's maximum, but it can
    learn the raw magnitude exactly; the model then normalises its whole output
    per image at restore time (card ``output_normalise = "max"``)."""
    sigma: Any = 1.3
    normalise: bool = True
    applies_to = "target"
    ranged = ("sigma",)
    bounds = {"sigma": (0.01, 50)}

    def __call__(self, img, rng):
        mag = np.asarray(sobel_magnitude(img, self.draw("sigma", rng)), dtype=np.float32)
        mag = mag.reshape(img.shape[0], img.shape[1], 1)
        if not self.normalise:
            return mag / np.float32(SOBEL_UNIT)
        peak = float(mag.max())
        return mag / np.float32(peak) if peak > 0 else mag


@register("fixed_kernel_target")
@dataclass(frozen=True)
class FixedKernelTarget(Degradation):
    """Target = grey, Gaussian blur (``blur_sigma``), then one random ``size`` x ``size``
    kernel drawn once from ``seed``: the same kernel for every sample of the dataset
    (note 002 redrew it per image, leaving nothing to learn).

    Kernel entries are uniform in [-1, 1], scaled so their absolute values sum to 1;
    the result is mapped by 0.5 + 0.5 * y, so it stays in [0, 1] with no per-image rescale.
    """
    seed: int = 0
    size: int = 3
    blur_sigma: float = 1.3
    _kernel: np.ndarray = field(default=None, init=False, repr=False, compare=False)
    applies_to = "target"
    ranged = ("size", "blur_sigma")   # checked like ranged numbers, used fixed
    integers = ("size",)
    bounds = {"size": (1, 31), "blur_sigma": (0, 50)}

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.size, tuple) or isinstance(self.blur_sigma, tuple):
            raise self.fail("'size' and 'blur_sigma' must be fixed values, not ranges")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise self.fail(f"'seed' must be an integer, got {self.seed!r}")
        k = np.random.default_rng(int(self.seed)).uniform(-1, 1, (self.size, self.size))
        object.__setattr__(self, "_kernel", (k / np.abs(k).sum()).astype(np.float32))

    @property
    def kernel(self) -> np.ndarray:
        return self._kernel.copy()

    def __call__(self, img, rng):
        g = K.convolve(grey(img), K.gaussian_kernel(self.blur_sigma))
        return np.clip(0.5 + 0.5 * K.convolve(g, self._kernel), 0, 1)


@register("kernel_target")
@dataclass(frozen=True)
class KernelTarget(Degradation):
    """Target = target convolved with a user ``kernel`` (2D list) or the kernel file
    at ``path``, used as given (a Laplacian may sum to 0); ``offset`` is added after
    and ``clip`` keeps [0, 1]. ``grey`` first converts the target to one channel."""
    kernel: Any = None
    path: Any = None
    grey: bool = False
    offset: float = 0.0
    clip: bool = True
    _k: np.ndarray = field(default=None, init=False, repr=False, compare=False)
    applies_to = "target"
    ranged = ("offset",)

    def __post_init__(self):
        super().__post_init__()
        if (self.kernel is None) == (self.path is None):
            raise self.fail("give exactly one of 'kernel' (a 2D list) or 'path' (a kernel file)")
        if self.path is not None:
            try:   # files are read raw here: a filter kernel need not sum to 1
                k = _read_raw_kernel(self.path)
            except (OSError, ValueError) as err:
                raise self.fail(str(err)) from None
        else:
            k = np.asarray(self.kernel, dtype=np.float64)
        if k.ndim != 2 or k.size == 0 or not np.all(np.isfinite(k)):
            raise self.fail(f"the kernel must be a 2D array of numbers, got shape {k.shape}")
        if self.kernel is not None:
            object.__setattr__(self, "kernel", tuple(map(tuple, k.tolist())))
        object.__setattr__(self, "_k", k.astype(np.float32))

    def __call__(self, img, rng):
        src = grey(img) if self.grey else img
        out = K.convolve(src, self._k) + np.float32(self.draw("offset", rng))
        return np.clip(out, 0, 1) if self.clip else out


def _read_raw_kernel(path) -> np.ndarray:
    path = str(path)
    if path.lower().endswith(".npy"):
        return np.load(path, allow_pickle=False).astype(np.float64)
    if path.lower().endswith(".txt"):
        return np.loadtxt(path, ndmin=2)
    raise ValueError(f"{path}: a target kernel file must be .npy or .txt")
