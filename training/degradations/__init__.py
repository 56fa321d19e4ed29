"""Degradations: turn clean images into (input, target) training pairs.

Build a recipe from config dicts and draw pairs with a seeded generator::

    recipe = Recipe.from_list([{"type": "gaussian_blur", "sigma": [0.5, 3.0]},
                               {"type": "gaussian_noise", "sigma": 25}])
    inp, target = recipe.make_pair(clean, np.random.default_rng(0))

Importing this package registers every type in ``REGISTRY``.
"""
from .base import REGISTRY, Degradation, Recipe, as_hwc, build, register
from .blur import BoxBlur, DefocusBlur, FourFactorBlur, GaussianBlur, KernelBlur, MotionBlur
from .geometry import DownUp, ZeroPad
from .levels import BlurWithLevel, NoiseWithLevel
from .noise import GaussianNoise, MaskingNoise, NoisePatches, PoissonNoise
from .preview import preview_grid
from .targets import FixedKernelTarget, KernelTarget, SobelTarget
from .transforms import ColorJitter, Downscale, Jpeg

__all__ = [
    "REGISTRY", "Degradation", "Recipe", "as_hwc", "build", "register", "preview_grid",
    "BoxBlur", "DefocusBlur", "FourFactorBlur", "GaussianBlur", "KernelBlur", "MotionBlur",
    "BlurWithLevel", "NoiseWithLevel",
    "GaussianNoise", "MaskingNoise", "NoisePatches", "PoissonNoise",
    "FixedKernelTarget", "KernelTarget", "SobelTarget",
    "ColorJitter", "Downscale", "Jpeg", "DownUp", "ZeroPad",
]
