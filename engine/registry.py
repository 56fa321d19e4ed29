"""The one registry of architectures and classical methods.

Entries are frozen descriptions; building one imports its module (and torch)
only then. Registration is an explicit list (``engine.catalog``), never a
folder scan, so a PyInstaller bundle finds every entry.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .errors import ModelError

TASKS = ("denoise", "deblur", "super-resolution", "filter", "autoencode", "dense",
         "classify", "discriminate")


@dataclass(frozen=True)
class ArchSpec:
    id: str
    family: str            # "classical", "deconv", "autoencoder", "unet", "sr", ...
    title: str
    tasks: tuple[str, ...]
    builder: str           # "module.path:callable"; a class/factory for nets, a function for classical
    defaults: Mapping[str, Any] = field(default_factory=dict)
    scale: int = 1         # default; a ``scale`` kwarg overrides
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1  # nets may report a kwargs-dependent one via a ``size_multiple`` attribute
    tiles: bool = True
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")
    description: str = ""
    kind: str = "net"      # "net" | "classical" | "discriminator" | "imported"

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def kwargs(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Default kwargs with ``overrides`` applied; unknown keys are an error."""
        merged = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in merged:
                known = ", ".join(sorted(merged)) or "none"
                raise ModelError(f"{self.id}: unknown option '{key}' (known: {known})")
            merged[key] = value
        return merged

    def scale_for(self, kwargs: Mapping[str, Any] | None = None) -> int:
        return int((kwargs or {}).get("scale", self.defaults.get("scale", self.scale)))

    def target(self):
        module_name, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def build(self, **overrides):
        """Instantiate a net (nn.Module) with defaults + overrides."""
        if self.kind not in ("net", "discriminator"):
            raise ModelError(f"{self.id} cannot be built from kwargs alone ({self.kind})")
        return self.target()(**self.kwargs(overrides))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "family": self.family, "title": self.title, "tasks": list(self.tasks),
            "defaults": dict(self.defaults), "scale": self.scale, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "size_multiple": self.size_multiple,
            "tiles": self.tiles, "precisions": list(self.precisions),
            "description": self.description, "kind": self.kind,
        }


_REGISTRY: dict[str, ArchSpec] = {}


def register(spec: ArchSpec) -> ArchSpec:
    if spec.id in _REGISTRY:
        raise ValueError(f"duplicate registry id {spec.id!r}")
    for task in spec.tasks:
        if task not in TASKS:
            raise ValueError(f"{spec.id}: unknown task {task!r}")
    _REGISTRY[spec.id] = spec
    return spec


def _ensure_loaded() -> None:
    from . import catalog  # noqa: F401  (registers everything on first import)


def get(arch_id: str) -> ArchSpec:
    _ensure_loaded()
    try:
        return _REGISTRY[arch_id]
    except KeyError:
        raise ModelError(f"unknown architecture or method '{arch_id}' "
                         f"(see `restorelab models archs`)") from None


def all_specs(kind: str | None = None, family: str | None = None) -> list[ArchSpec]:
    _ensure_loaded()
    return [s for s in _REGISTRY.values()
            if (kind is None or s.kind == kind) and (family is None or s.family == family)]
