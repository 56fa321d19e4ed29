"""Noise degradations: gaussian (AWGN), poisson, masking and real noise patches."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import Degradation, register


@register("gaussian_noise")
@dataclass(frozen=True)
class GaussianNoise(Degradation):
    """Additive white Gaussian noise, independent per value.

    ``sigma`` is in 0..255 units as usual for AWGN (sigma 25 -> std 25/255).
    ``clip`` keeps the result in [0, 1].
    """
    sigma: Any = 25.0
    clip: bool = True
    ranged = ("sigma",)
    bounds = {"sigma": (0, 255)}

    def __call__(self, img, rng):
        sigma = self.draw("sigma", rng) / 255.0
        out = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma)
        return np.clip(out, 0, 1) if self.clip else out


@register("poisson_noise")
@dataclass(frozen=True)
class PoissonNoise(Degradation):
    """Shot noise: a value v becomes Poisson(v * peak) / peak; lower ``peak`` is noisier."""
    peak: Any = 100.0
    clip: bool = True
    ranged = ("peak",)
    bounds = {"peak": (1e-3, None)}

    def __call__(self, img, rng):
        peak = self.draw("peak", rng)
        out = (rng.poisson(np.clip(img, 0, None) * peak) / peak).astype(np.float32)
        return np.clip(out, 0, 1) if self.clip else out


@register("masking_noise")
@dataclass(frozen=True)
class MaskingNoise(Degradation):
    """Denoising-autoencoder masking (note 001): with probability ``p_sample`` per
    sample, zero every value where a standard normal draw is below ``threshold``
    (0.5 -> about 69% of values). Only the input is masked; the target stays clean.
    """
    p_sample: Any = 0.5
    threshold: Any = 0.5
    ranged = ("p_sample", "threshold")
    bounds = {"p_sample": (0, 1)}

    def __call__(self, img, rng):
        p, threshold = self.draw("p_sample", rng), self.draw("threshold", rng)
        if rng.random() >= p:
            return img
        keep = rng.standard_normal(img.shape) >= threshold
        return img * keep.astype(np.float32)


@register("noise_patches")
@dataclass(frozen=True)
class NoisePatches(Degradation):
    """Add a real noise patch (note 004) at a random offset, scaled by ``strength``.

    Patches come from ``folder`` (.npy files, see ``realsr.extract_noise_patches``)
    or, from code, ``patches`` (a list of HW or HWC arrays). A patch smaller than
    the image is tiled from a random offset; a larger one is cropped at random.
    """
    folder: Any = None
    patches: Any = field(default=(), compare=False)
    strength: Any = 1.0
    clip: bool = True
    _pool: tuple = field(default=(), init=False, repr=False, compare=False)
    ranged = ("strength",)
    bounds = {"strength": (0, None)}

    def __post_init__(self):
        super().__post_init__()
        from .realsr import load_patches   # realsr imports cv2 helpers only

        pool = [np.asarray(p, dtype=np.float32) for p in self.patches]
        if self.folder is not None:
            try:
                pool += load_patches(self.folder)
            except (OSError, ValueError) as err:
                raise self.fail(str(err)) from None
        pool = [p[:, :, None] if p.ndim == 2 else p for p in pool]
        if not pool:
            raise self.fail("give a 'folder' of .npy noise patches (or 'patches' from code)")
        if any(p.ndim != 3 or p.size == 0 for p in pool):
            raise self.fail("noise patches must be HW or HWC arrays")
        object.__setattr__(self, "patches", tuple(np.asarray(p, np.float32) for p in self.patches))
        object.__setattr__(self, "_pool", tuple(pool))

    def to_dict(self):
        out = super().to_dict()
        if self.folder is not None:      # the folder is enough; don't inline its arrays
            out.pop("patches")
        return out

    def __call__(self, img, rng):
        patch = self._pool[int(rng.integers(len(self._pool)))]
        h, w, c = img.shape
        ph, pw = patch.shape[:2]
        # tile enough copies to cover the image from any offset, then crop
        reps = (-(-h // ph) + 1, -(-w // pw) + 1, 1)
        tiled = np.tile(patch, reps)
        # a patch at least as large as the image is cropped without crossing a seam
        y = int(rng.integers(ph - h + 1 if ph >= h else ph))
        x = int(rng.integers(pw - w + 1 if pw >= w else pw))
        noise = tiled[y:y + h, x:x + w]
        if noise.shape[2] != c:    # grey patch on colour image, or the other way round
            noise = np.repeat(noise.mean(axis=2, keepdims=True), c, axis=2)
        out = img + np.float32(self.draw("strength", rng)) * noise
        return np.clip(out, 0, 1) if self.clip else out
