"""Blur degradations: gaussian, box, motion, defocus, kernel files and the 4-factor blur."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import kernels as K
from .base import Degradation, register


@register("gaussian_blur")
@dataclass(frozen=True)
class GaussianBlur(Degradation):
    """Isotropic Gaussian blur; ``sigma`` in pixels (0 leaves the image as is)."""
    sigma: Any = 1.0
    ranged = ("sigma",)
    bounds = {"sigma": (0, 50)}

    def __call__(self, img, rng):
        return K.convolve(img, K.gaussian_kernel(self.draw("sigma", rng)))


@register("box_blur")
@dataclass(frozen=True)
class BoxBlur(Degradation):
    """Mean over a ``size`` x ``size`` square."""
    size: Any = 3
    ranged = ("size",)
    integers = ("size",)
    bounds = {"size": (1, 101)}

    def __call__(self, img, rng):
        return K.convolve(img, K.box_kernel(self.draw("size", rng)))


@register("motion_blur")
@dataclass(frozen=True)
class MotionBlur(Degradation):
    """Linear motion of ``length`` pixels at ``angle`` degrees."""
    length: Any = 9.0
    angle: Any = (0.0, 180.0)
    ranged = ("length", "angle")
    bounds = {"length": (0, 201)}

    def __call__(self, img, rng):
        length, angle = self.draw("length", rng), self.draw("angle", rng)
        return K.convolve(img, K.motion_kernel(length, angle))


@register("defocus_blur")
@dataclass(frozen=True)
class DefocusBlur(Degradation):
    """Out-of-focus blur: a uniform disk of ``radius`` pixels."""
    radius: Any = 2.0
    ranged = ("radius",)
    bounds = {"radius": (0, 100)}

    def __call__(self, img, rng):
        return K.convolve(img, K.disk_kernel(self.draw("radius", rng)))


@register("kernel_blur")
@dataclass(frozen=True)
class KernelBlur(Degradation):
    """Blur by a kernel picked per sample from a pool.

    ``folder``: a folder of kernel files (.npy, .png, .txt); ``paths``: more files
    or folders; ``kernels``: inline kernels as nested lists. Every kernel is
    normalised to sum 1.
    """
    folder: Any = None
    paths: Any = ()
    kernels: Any = ()
    _pool: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        super().__post_init__()
        paths = [self.paths] if isinstance(self.paths, str) else list(self.paths)
        object.__setattr__(self, "paths", tuple(str(p) for p in paths))
        pool = []
        try:
            sources = ([self.folder] if self.folder else []) + list(self.paths)
            pool += [K.load_kernel(p) for p in K.kernel_files(sources)]
            pool += [K.normalize_kernel(k, "inline kernel") for k in self.kernels]
        except (ValueError, OSError) as err:
            raise self.fail(str(err)) from None
        if not pool:
            raise self.fail("give a 'folder' or 'paths' of kernel files, or inline 'kernels' (none found)")
        # inline kernels are kept as nested tuples so the dataclass stays comparable
        object.__setattr__(self, "kernels",
                           tuple(tuple(map(tuple, np.asarray(k, float).tolist())) for k in self.kernels))
        object.__setattr__(self, "_pool", tuple(pool))

    def __call__(self, img, rng):
        kernel = self._pool[int(rng.integers(len(self._pool)))]
        return K.convolve(img, kernel)


@register("four_factor_blur")
@dataclass(frozen=True)
class FourFactorBlur(Degradation):
    """The "4-factor" blur of note 000: the product of the FFT responses of ``kernel``
    and its three flips, a zero-phase blur that a deconvolution layer can invert.

    ``kernel`` has its origin at [0][0] (e.g. ``[[1, .2, 0, 0], [.2, 0, 0, 0]]``).
    ``pad_factor`` 2 zero-pads the image to twice its size and crops back (no
    wrap-around, dark borders as in the research); 1 is circular. With
    ``normalize`` the kernel is scaled to sum 1 (unit gain, output clipped to
    [0, 1]); without it the response is the raw product (gain sum(h)^4, not
    clipped), which rebuilds note 000's experiments exactly.
    """
    kernel: Any = ((1.0, 0.2, 0.0, 0.0), (0.2, 0.0, 0.0, 0.0))
    pad_factor: float = 2.0
    normalize: bool = True

    def __post_init__(self):
        super().__post_init__()
        k = np.asarray(self.kernel, dtype=np.float64)
        if k.ndim != 2 or k.size == 0 or not np.all(np.isfinite(k)):
            raise self.fail(f"'kernel' must be a 2D list of numbers, got {self.kernel!r}")
        if self.normalize and k.sum() <= 0:
            raise self.fail("'kernel' must sum to a positive number when 'normalize' is on")
        if not (isinstance(self.pad_factor, (int, float)) and self.pad_factor >= 1):
            raise self.fail(f"'pad_factor' must be a number >= 1, got {self.pad_factor!r}")
        object.__setattr__(self, "kernel", tuple(map(tuple, k.tolist())))

    def __call__(self, img, rng):
        k = np.asarray(self.kernel, dtype=np.float64)
        if self.normalize:
            k = k / k.sum()
        out = K.four_factor_blur(img, k, self.pad_factor)
        return np.clip(out, 0, 1) if self.normalize else out
