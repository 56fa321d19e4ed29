"""Degradation base class, parameter handling, registry and the Recipe.

A degradation is a frozen dataclass built from a dict such as
``{"type": "gaussian_blur", "sigma": [0.5, 3.0]}``. Numeric parameters named
in ``ranged`` may be a fixed value or a ``[lo, hi]`` range drawn uniformly per
sample (as an int for names in ``integers``, both ends included). All
randomness comes from the ``numpy.random.Generator`` passed to ``__call__``,
so a seeded generator reproduces the same pairs.

Images are numpy HWC float32 in [0, 1] (HW is accepted and becomes HW1).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.errors import ConfigError

REGISTRY: dict[str, type["Degradation"]] = {}


def register(name: str):
    """Class decorator: make a degradation buildable as ``{"type": name}``."""
    def deco(cls):
        cls.type_name = name
        REGISTRY[name] = cls
        return cls
    return deco


def as_hwc(img: np.ndarray) -> np.ndarray:
    """Float32 HWC view of an HW or HWC image."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise ValueError(f"expected an HW or HWC image, got shape {img.shape}")
    return img


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Degradation:
    """Base of every degradation. Subclasses add fields (all with defaults)."""

    type_name: ClassVar[str] = ""
    applies_to: ClassVar[str] = "input"          # "input" | "target" | "both"
    ranged: ClassVar[tuple[str, ...]] = ()        # numeric fields that accept [lo, hi]
    integers: ClassVar[tuple[str, ...]] = ()      # subset of ``ranged`` drawn as ints
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {}

    def __post_init__(self) -> None:
        for name in self.ranged:
            object.__setattr__(self, name, self._check_param(name, getattr(self, name)))

    # -- parameters -------------------------------------------------------
    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"degradation '{self.type_name}': {message}")

    def _check_param(self, name: str, value: Any):
        """Validate a fixed value or a [lo, hi] range; return a number or a (lo, hi) tuple."""
        if isinstance(value, (list, tuple)):
            if len(value) != 2 or not all(_is_number(v) for v in value):
                raise self.fail(f"'{name}' must be a number or a [lo, hi] pair, got {value!r}")
            ends = [self._check_number(name, v) for v in value]
            if ends[0] > ends[1]:
                raise self.fail(f"'{name}' range [{ends[0]}, {ends[1]}] has lo > hi")
            return tuple(ends)
        if not _is_number(value):
            raise self.fail(f"'{name}' must be a number or a [lo, hi] pair, got {value!r}")
        return self._check_number(name, value)

    def _check_number(self, name: str, value):
        if not math.isfinite(float(value)):
            raise self.fail(f"'{name}' must be finite, got {value}")
        if name in self.integers:
            if float(value) != int(value):
                raise self.fail(f"'{name}' must be an integer, got {value}")
            value = int(value)
        else:
            value = float(value)
        lo, hi = self.bounds.get(name, (None, None))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
            raise self.fail(f"'{name}' = {value} is outside {span}")
        return value

    def draw(self, name: str, rng: np.random.Generator):
        """The value of parameter ``name`` for this sample."""
        value = getattr(self, name)
        if not isinstance(value, tuple):
            return value
        lo, hi = value
        if name in self.integers:
            return int(rng.integers(lo, hi, endpoint=True))
        return float(rng.uniform(lo, hi))

    # -- application ------------------------------------------------------
    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def apply_pair(self, inp: np.ndarray, target: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Apply to the input or the target, as ``applies_to`` says."""
        if self.applies_to == "target":
            return inp, self(target, rng)
        return self(inp, rng), target

    # -- serialisation ----------------------------------------------------
    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> "Degradation":
        options = {k: v for k, v in spec.items() if k != "type"}
        allowed = cls.option_names()
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ConfigError(f"degradation '{cls.type_name}': unknown option(s) "
                              f"{', '.join(unknown)} (known: {', '.join(allowed) or 'none'})")
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type_name}
        for name in self.option_names():
            out[name] = _plain(getattr(self, name))
        return out


def _plain(value: Any) -> Any:
    """Tuples and arrays -> nested lists, so the dict is TOML/JSON friendly."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def build(spec: dict[str, Any]) -> Degradation:
    """Build one degradation from its dict; unknown types are a ConfigError."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"a degradation must be a table with a 'type', got {spec!r}")
    cls = REGISTRY.get(spec["type"])
    if cls is None:
        raise ConfigError(f"unknown degradation type '{spec['type']}' "
                          f"(known: {', '.join(sorted(REGISTRY))})")
    return cls.from_dict(spec)


@dataclass(frozen=True)
class Recipe:
    """An ordered list of degradations that turns a clean image into a training pair."""

    steps: tuple[Degradation, ...] = ()
    probs: tuple[float, ...] = ()  # per step: applied with this probability (default 1)

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> "Recipe":
        """Each item is a degradation table; an optional ``p`` (0..1) applies it only sometimes."""
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"a degradation recipe must be a list of tables, got {items!r}")
        steps, probs = [], []
        for item in items:
            item = dict(item) if isinstance(item, dict) else item
            p = item.pop("p", 1.0) if isinstance(item, dict) else 1.0
            if not _is_number(p) or not 0.0 <= float(p) <= 1.0:
                raise ConfigError(f"degradation '{item.get('type')}': 'p' must be in [0, 1], got {p!r}")
            steps.append(build(item))
            probs.append(float(p))
        return cls(tuple(steps), tuple(probs))

    def to_list(self) -> list[dict[str, Any]]:
        out = []
        for i, step in enumerate(self.steps):
            d = step.to_dict()
            if i < len(self.probs) and self.probs[i] < 1.0:
                d["p"] = self.probs[i]
            out.append(d)
        return out

    def make_pair(self, clean: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(input, target): the target starts as ``clean``; filter targets change it,
        the other steps degrade the input (which may shrink with ``downscale``)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError("make_pair needs a numpy.random.Generator (np.random.default_rng(seed))")
        target = as_hwc(clean).copy()
        inp = target.copy()
        for i, step in enumerate(self.steps):
            p = self.probs[i] if i < len(self.probs) else 1.0
            if p < 1.0 and rng.random() >= p:  # only drawn for optional steps: seeds stay stable
                continue
            inp, target = step.apply_pair(inp, target, rng)
        return as_hwc(inp), as_hwc(target)

    @property
    def scale(self) -> float | None:
        """Total fixed downscale factor (1.0 without one); None if a factor is a range."""
        total = 1.0
        for step in self.steps:
            factor = getattr(step, "scale", None) if step.type_name == "downscale" else None
            if isinstance(factor, tuple):
                return None
            if factor is not None:
                total *= factor
        return total
