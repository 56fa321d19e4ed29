"""Uniform wrappers around anything that restores: a network or a classical method.

Callers hand a :class:`Restorer` an HWC float32 array in [0, 1] and get an
HWC float32 array back, ``scale`` times larger. Nets are padded to their size
multiple (or fixed input size), run under inference mode in the chosen
precision and cropped back, so callers never care which net it is.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .registry import ArchSpec

PRECISIONS = ("fp32", "bf16", "fp16")


class Restorer:
    """Base: metadata every caller may rely on."""

    id: str = ""
    title: str = ""
    scale: int = 1
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    fixed_size: int | None = None  # nets that take exactly one input size (e.g. the 100x100 DAE)
    tiles: bool = True
    precision: str = "fp32"
    receptive_radius: int = 16  # pixels of context each output pixel needs (guides tile overlap)

    def run(self, x: np.ndarray, precision: str | None = None) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, pixels: np.ndarray) -> str:
        """Look at the whole image once before it is tiled; returns a note for the log ('' none)."""
        return ""

    def finish(self, out: np.ndarray) -> np.ndarray:
        """Whole-image step after the tiles are assembled (e.g. per-image normalisation)."""
        return out

    def bytes_per_pixel(self) -> float:
        """Rough working memory per input pixel while running a tile."""
        return 64.0


class ClassicalRestorer(Restorer):
    def __init__(self, spec: ArchSpec, options: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.options = spec.kwargs(options)
        self.fn: Callable[..., np.ndarray] = spec.target()
        self.id, self.title = spec.id, spec.title
        self.scale = spec.scale_for(self.options)
        self.in_channels, self.out_channels = spec.in_channels, spec.out_channels
        self.tiles = spec.tiles
        self.receptive_radius = int(self.options.get("radius", 8)) if "radius" in self.options else 8

    def run(self, x: np.ndarray, precision: str | None = None) -> np.ndarray:
        out = self.fn(np.ascontiguousarray(x, dtype=np.float32), **self.options)
        if out.ndim == 2:
            out = out[:, :, None]
        return out.astype(np.float32, copy=False)


class NetRestorer(Restorer):
    """A network. Nets with a level map (``module.level``: "noise" or "blur") get it as an
    extra constant input channel: ``options["sigma"]`` when the user gives one, else the
    blind value (noise) or a whole-image estimate (blur). ``output_normalise = "max"``
    divides the assembled output by its maximum (nets trained on raw filter magnitudes)."""

    def __init__(self, module, spec: ArchSpec, kwargs: Mapping[str, Any] | None = None,
                 device: str = "cpu", precision: str = "fp32",
                 options: Mapping[str, Any] | None = None, output_normalise: str = "") -> None:
        import torch

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}")
        self.spec = spec
        self.kwargs = spec.kwargs(kwargs)
        self.id, self.title = spec.id, spec.title
        self.scale = spec.scale_for(self.kwargs)
        self.in_channels = int(getattr(module, "in_channels", self.kwargs.get("in_channels", spec.in_channels)))
        self.out_channels = int(getattr(module, "out_channels", self.kwargs.get("out_channels", spec.out_channels)))
        self.size_multiple = int(getattr(module, "size_multiple", spec.size_multiple))
        self.fixed_size = getattr(module, "fixed_size", None)
        self.tiles = bool(getattr(module, "tiles", spec.tiles))   # imported nets: spandrel's hint
        self.receptive_radius = int(getattr(module, "receptive_radius", 16))
        self.radius_exact = bool(getattr(module, "radius_exact", False))   # see inference.seam
        self.wide_context = bool(getattr(module, "wide_context", False))   # inference.auto_tile
        self.pads_itself = bool(getattr(module, "pads_itself", False))   # imported nets
        self.level = str(getattr(module, "level", "none"))
        if self.level != "none":
            self.in_channels -= 1          # callers hand over the image; the map is added here
        self.sigma = _level_sigma(self.level, (options or {}).get("sigma"))
        self.level_value: float | None = None
        self.output_normalise = output_normalise
        self.device = torch.device(device)
        self.precision = precision if precision in spec.precisions else "fp32"
        self.module = module.to(self.device).eval()
        if self.device.type == "cpu" and self.precision == "bf16":
            self.module = self.module.to(memory_format=torch.channels_last)
        self._width = max((m.out_channels for m in module.modules() if hasattr(m, "out_channels")
                           and isinstance(getattr(m, "out_channels"), int)), default=64)

    def prepare(self, pixels: np.ndarray) -> str:
        from . import levels

        if self.level == "noise":
            self.level_value = levels.noise_level_map_value(self.sigma)
            return f"noise sigma {self.sigma:g} (given)" if self.sigma is not None else \
                "noise level: blind (the model estimates it)"
        if self.level == "blur":
            sigma = self.sigma if self.sigma is not None else levels.estimate_blur_sigma(pixels)
            self.level_value = levels.blur_level_map_value(sigma)
            return f"blur sigma {sigma:.2f} px ({'given' if self.sigma is not None else 'estimated'})"
        return ""

    def finish(self, out: np.ndarray) -> np.ndarray:
        if self.output_normalise == "max":
            # in place: the whole output is held here (a max needs it all), so no second copy
            out = np.maximum(out, 0.0, out=out if out.flags.writeable and out.dtype == np.float32
                             else None)
            peak = float(out.max()) if out.size else 0.0
            if peak > 0:
                out /= peak
        return out

    def bytes_per_pixel(self) -> float:
        # the net's own figure (``working_bytes_per_pixel``, fp32), else a few live activations
        # of the widest layer in float32; SR nets work mostly at the input's resolution, so
        # only a quarter of them grows with the output (calibrated on the shipped RDNs:
        # measured 3.5 / 9.4 KB per input pixel at x2 / x4, fp32)
        live = getattr(self.module, "working_bytes_per_pixel", None) or \
            4.0 * (4 * self._width + self.in_channels + self.out_channels)
        return live * (1 + (self.scale ** 2 - 1) / 4)

    def forward(self, x, precision: str | None = None):
        """NCHW tensor in -> NCHW tensor out (float32), padded and cropped as needed."""
        import torch
        import torch.nn.functional as F

        precision = precision or self.precision
        n, c, h, w = x.shape
        if self.fixed_size:
            th = tw = self.fixed_size
            if h > th or w > tw:
                raise ValueError(f"{self.id} takes {th}x{tw} inputs; tile the image")
        elif self.pads_itself:   # the net pads to its multiple as its own code does
            th, tw = h, w
        else:
            m = self.size_multiple
            th, tw = -(-h // m) * m, -(-w // m) * m
        if (th, tw) != (h, w):
            mode = "reflect" if th - h < h and tw - w < w else "replicate"
            x = F.pad(x, (0, tw - w, 0, th - h), mode=mode)
        x = x.to(self.device)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        if self.device.type == "cpu" and precision == "fp16":
            dtype = torch.bfloat16  # CPU autocast has no fast fp16 path
        if dtype is not None and self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype or torch.float32,
                                                    enabled=dtype is not None):
            y = self.module(x)
        y = y.float()
        s = self.scale
        return y[:, :, : h * s, : w * s]

    def run(self, x: np.ndarray, precision: str | None = None) -> np.ndarray:
        import torch

        if self.level != "none":
            if self.level_value is None:
                self.prepare(x)            # a caller that skipped prepare: judge this tile alone
            x = np.concatenate([x, np.full(x.shape[:2] + (1,), self.level_value, np.float32)], axis=2)
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
        y = self.forward(t, precision)
        return y[0].permute(1, 2, 0).cpu().numpy()


def _level_sigma(level: str, value: Any) -> float | None:
    """The user's sigma for a level-map net (None: not given), checked against its range."""
    from .errors import ConfigError
    from .levels import BLUR_RANGE, NOISE_RANGE

    if value is None or value == "" or level == "none":
        return None
    try:
        sigma = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"sigma must be a number, got {value!r}") from None
    lo, hi = NOISE_RANGE if level == "noise" else BLUR_RANGE
    if not (lo <= sigma <= hi):
        unit = "on the 0-255 scale" if level == "noise" else "pixels"
        raise ConfigError(f"{level} sigma must be within {lo:g}..{hi:g} ({unit}), got {value!r}")
    return sigma
