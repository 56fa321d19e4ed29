"""Import community models (.pth, .ckpt, .safetensors) through spandrel, safely.

Pickled files are opened with PyTorch's restricted loader (``weights_only``):
it rebuilds tensors and plain containers only, so a file that would run code
on load is refused before anything of it executes. spandrel then detects the
architecture from the state dict. The imported model is stored like any
other: a folder with ``model.safetensors`` and a card, its architecture id
being ``imported`` and spandrel's detected architecture kept in the kwargs.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Iterator

from . import checkpoints
from .errors import ModelError
from .events import Event, Log, Progress, Saved

IMPORTED_ARCH = "imported"
SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")


def _spandrel():
    try:
        import spandrel
    except ImportError as err:  # the lean CPU bundle ships without torchvision
        raise ModelError("importing community models needs spandrel and torchvision, which this "
                         f"build does not include ({err.name} is missing)") from None
    return spandrel


def read_state_dict(path: Path) -> dict[str, Any]:
    """Tensors of a model file, without ever running code stored in it."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelError(f"{path.name}: unsupported model file (use {', '.join(SUFFIXES)})")
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:
            raise ModelError(f"{path.name}: not a readable safetensors file ({err})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():
            raise ModelError(f"{path.name} was refused: it holds Python objects that would run "
                             "code when loaded, and RestoreLab only loads plain weights") from None
        raise ModelError(f"{path.name}: not a readable PyTorch weights file (corrupt, or it uses "
                         "pickle features that safe loading does not allow)") from None
    except Exception as err:
        raise ModelError(f"{path.name}: not a readable PyTorch file ({str(err)[:200]})") from None
    if not isinstance(state, dict):
        raise ModelError(f"{path.name}: holds a {type(state).__name__}, not a state dict")
    return state


def _describe(state: dict[str, Any]):
    spandrel = _spandrel()
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(
            spandrel.canonicalize_state_dict(state))
    except spandrel.UnsupportedModelError:
        raise ModelError("the architecture of this model is not recognised "
                         "(spandrel supports ESRGAN, SwinIR, HAT, SPAN, DnCNN, NAFNet and many more)") \
            from None
    except Exception as err:
        raise ModelError(f"the model could not be built: {str(err)[:200]}") from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ModelError(f"{descriptor.architecture.name} models (inpainting) are not supported")
    return descriptor


def build_imported(state: dict[str, Any], kwargs: dict[str, Any]):
    """Rebuild an imported net from its stored weights (used by checkpoints.build_model)."""
    descriptor = _describe(state)
    module = descriptor.model.eval()
    module.scale = descriptor.scale
    module.in_channels = descriptor.input_channels
    module.out_channels = descriptor.output_channels
    module.size_multiple = descriptor.size_requirements.multiple_of
    module.receptive_radius = 16
    return module


def import_model(path: str | Path, name: str | None = None) -> checkpoints.ModelEntry:
    path = Path(path)
    state = read_state_dict(path)
    descriptor = _describe(state)
    task = {"SR": "super-resolution", "FaceSR": "super-resolution"}.get(descriptor.purpose, "denoise")
    kwargs = {"architecture": descriptor.architecture.id, "scale": descriptor.scale,
              "in_channels": descriptor.input_channels, "out_channels": descriptor.output_channels,
              "size_multiple": descriptor.size_requirements.multiple_of}
    state = {k: v for k, v in descriptor.model.state_dict().items()}
    card = {"task": task, "scale": descriptor.scale, "source": "imported",
            "imported_from": path.name, "architecture_name": descriptor.architecture.name,
            "tags": list(descriptor.tags),
            "description": f"{descriptor.architecture.name} imported from {path.name}"}
    return checkpoints.save_model(name or path.stem, state, IMPORTED_ARCH, kwargs, card)


def import_job(spec: dict, control) -> Iterator[Event]:
    """Job wrapper: spec = {"path": ..., "name": optional}."""
    yield Progress(0, 1, f"importing {Path(spec['path']).name}")
    entry = import_model(spec["path"], spec.get("name"))
    yield Log("info", f"imported {entry.card.get('architecture_name', entry.arch)} as '{entry.id}'")
    yield Saved(str(entry.path), kind="model")
    yield Progress(1, 1, "done")
    return entry.id
