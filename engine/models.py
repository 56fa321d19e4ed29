"""Turn a model reference (classical id, library model, model folder) into a Restorer."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import checkpoints, devices, registry
from .descriptor import ClassicalRestorer, NetRestorer, Restorer
from .errors import ModelError
from .precision import auto_precision

IMPORTABLE = (".pth", ".pt", ".ckpt", ".safetensors", ".bin")


def load_restorer(ref: str, *, device: str = "auto", precision: str = "fp32",
                  options: Mapping[str, Any] | None = None) -> Restorer:
    """``ref``: a classical method id, an installed model id, or a model folder path.

    ``precision="auto"``: bf16 where the card's equality check passed and the device runs
    it natively (engine.precision), fp32 otherwise. ``options`` are method options for classical methods (e.g. ``scale``); nets with a
    level map read ``sigma`` (noise on the 0-255 scale, or blur in pixels); other nets
    ignore them.
    """
    try:
        spec = registry.get(ref)
    except ModelError:
        spec = None
    if spec is not None and spec.kind == "classical":
        opts = {k: v for k, v in (options or {}).items() if k in spec.defaults}
        return ClassicalRestorer(spec, opts)
    entry = checkpoints.find_model(ref)
    if entry is None:
        if spec is not None:
            raise ModelError(f"'{ref}' is an architecture, not a trained model: train one "
                             "(`restorelab train`) or pick a model from `restorelab models list`")
        if Path(ref).suffix.lower() in IMPORTABLE and Path(ref).exists():
            raise ModelError(f"{Path(ref).name} is not in the library yet: "
                             f"`restorelab models import {ref}` first")
        raise ModelError(f"no model or method named '{ref}' (see `restorelab models list`)")
    module, spec, kwargs = checkpoints.build_model(entry.path)
    device = devices.resolve(device)
    if precision == "auto":
        precision = auto_precision(entry.card, device)
    restorer = NetRestorer(module, spec, kwargs, device=device, precision=precision,
                           options=options, output_normalise=str(entry.card.get("output_normalise", "")))
    restorer.id = entry.id
    restorer.title = entry.title
    restorer.sha256 = str(entry.card.get("sha256") or "")   # keys cached backend measurements
    return restorer
