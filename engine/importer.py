"""Import community models (.pth, .ckpt, .safetensors) through spandrel, safely.

Pickled files are read with a restricted unpickler of our own: it resolves
only the globals that rebuild tensors and plain containers (the tensor rebuild
functions, storage types, dtypes, OrderedDict, ...), whatever pickle protocol
the file uses, so a file that would run code on load is refused before
anything of it executes. Before that, a zip archive (the format of torch.save)
has its declared unpacked size checked, so a small file cannot grow into
gigabytes in memory. spandrel then detects the architecture from the state
dict. The imported model is stored like any other: a folder with
``model.safetensors`` and a card, its architecture id being ``imported`` and
spandrel's detected architecture kept in the kwargs.
"""
from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any, Iterator

from . import checkpoints
from .errors import ModelError
from .events import Event, Log, Progress, Saved

IMPORTED_ARCH = "imported"
SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MAX_UNPACKED_BYTES = 8 << 30   # a model archive may unpack to this much at most
MAX_EXPANSION = 20             # ... and to this many times its size on disk (torch.save stores
EXPANSION_FLOOR = 256 << 20    # its records uncompressed) once it is above this


def _spandrel():
    try:
        with warnings.catch_warnings():   # some architectures call the deprecated torch.jit
            warnings.simplefilter("ignore", FutureWarning)
            import spandrel
            from .community import register_extra_arches

            register_extra_arches()
    except ImportError as err:  # the lean CPU bundle ships without torchvision
        raise ModelError("importing community models needs spandrel and torchvision, which this "
                         f"build does not include ({err.name} is missing)") from None
    return spandrel


class Refused(pickle.UnpicklingError):
    """The pickle names a global that is not a plain-weights one."""


def _safe_globals() -> dict[tuple[str, str], Any]:
    import collections

    import torch

    found: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch.serialization", "_get_layout"): torch.serialization._get_layout,
        ("_codecs", "encode"): __import__("_codecs").encode,   # bytes, in protocol 2
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "bytearray"): bytearray, ("builtins", "complex"): complex,
    }
    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
                 "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
                 "_rebuild_device_tensor_from_cpu_tensor", "_rebuild_meta_tensor_no_storage"):
        if hasattr(torch._utils, name):
            found[("torch._utils", name)] = getattr(torch._utils, name)
    for name, value in vars(torch).items():   # dtypes, layouts, memory formats, qschemes
        if isinstance(value, (torch.dtype, torch.layout, torch.memory_format, torch.qscheme)):
            found[("torch", name)] = value
    for cls in torch._storage_classes:   # storage types, as torch's own loader names them
        found[(cls.__module__, cls.__name__)] = cls
    return found


_ALLOWED: dict[tuple[str, str], Any] = {}
_OLD_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}   # Python 2 pickles


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if not _ALLOWED:
            _ALLOWED.update(_safe_globals())
        key = (_OLD_MODULES.get(module, module), name)
        if key not in _ALLOWED:
            raise Refused(f"{module}.{name}")
        return _ALLOWED[key]


class _SafePickle:
    """The ``pickle_module`` torch.load is given: only our restricted unpickler."""
    Unpickler = _SafeUnpickler
    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def load(file, **kwargs):
        return _SafeUnpickler(file, **kwargs).load()


def check_archive(path: Path) -> None:
    """Refuse a zip archive whose members declare more unpacked bytes than a model can hold."""
    if not zipfile.is_zipfile(path):
        return   # the legacy format stores tensors raw: nothing to inflate
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ModelError(f"{path.name}: not a readable PyTorch file (damaged archive: {err})") from None
    limit = MAX_UNPACKED_BYTES
    if declared > EXPANSION_FLOOR:
        limit = min(limit, max(EXPANSION_FLOOR, MAX_EXPANSION * path.stat().st_size))
    if declared > limit:
        raise ModelError(f"{path.name} was refused: it would unpack to {human_size(declared)} from "
                         f"{human_size(path.stat().st_size)} on disk (the limit is {human_size(limit)}); "
                         "it is damaged or built to exhaust memory")


def human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def load_pickled(path: Path) -> Any:
    """torch.load through the restricted unpickler, after the archive size check."""
    import torch

    path = Path(path)
    check_archive(path)
    try:
        with warnings.catch_warnings():   # our message says it all; no torch warning first
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_SafePickle)
    except Refused as err:
        raise ModelError(f"{path.name} was refused: it holds Python objects that would run code "
                         f"when loaded ({err}), and RestoreLab only loads plain weights") from None
    except MemoryError:
        raise ModelError(f"{path.name}: not enough memory to read it") from None
    except (pickle.UnpicklingError, EOFError) as err:
        raise ModelError(f"{path.name}: not a readable PyTorch weights file (corrupt or cut "
                         f"short: {str(err)[:120]})") from None
    except Exception as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ModelError(f"{path.name}: not a readable PyTorch file ({first[:120]})") from None


def read_state_dict(path: Path) -> dict[str, Any]:
    """Tensors of a model file, without ever running code stored in it."""
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
    state = load_pickled(path)
    if not isinstance(state, dict):
        raise ModelError(f"{path.name}: holds a {type(state).__name__}, not a state dict")
    return state


def _describe(state: dict[str, Any]):
    spandrel = _spandrel()
    try:
        with warnings.catch_warnings():   # architectures' own construction warnings (meshgrid
            warnings.simplefilter("ignore")   # indexing, init) say nothing a user can act on
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
    from .community import DescriptorNet

    descriptor = _describe(state)
    net = DescriptorNet(descriptor).eval()
    measured = kwargs.get("bytes_per_pixel")
    if isinstance(measured, (int, float)) and measured > 0:
        # sizes its default tile; NetRestorer grows this figure with the scale, so undo that
        net.working_bytes_per_pixel = float(measured) / (1 + (net.scale ** 2 - 1) / 4)
    return net


def check_runs(descriptor, name: str) -> None:
    """One tiny restore, so a model that cannot run is refused at import, not at restore."""
    import torch

    from .community import DescriptorNet

    net = DescriptorNet(descriptor).eval()
    side = max(16, net.minimum, net.size_multiple)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = net(torch.rand(1, net.in_channels, side, side))
    except Exception as err:
        raise ModelError(f"{name}: {descriptor.architecture.name} was recognised but cannot run "
                         f"here ({str(err).splitlines()[0][:160] if str(err) else type(err).__name__})") from None
    if tuple(y.shape[-2:]) != (side * net.scale, side * net.scale) or not torch.isfinite(y).all():
        raise ModelError(f"{name}: {descriptor.architecture.name} gave a wrong-sized or non-finite "
                         "output on a test image")


MEMORY_PROBES = (48, 96)   # input sides whose peak memories give the cost of one more pixel
MEMORY_MARGIN = 1.25


def measure_bytes_per_pixel(descriptor) -> float | None:
    """Working memory of one more input pixel, measured on the CPU: the peak resident size of
    this process (Linux: VmHWM, reset through /proc/self/clear_refs) over forwards at two probe
    sides. The generic estimate of NetRestorer is 3x off either way for attention nets (CRAFT,
    DITN below it, HAT above), so the default tile follows this instead. None where the
    platform cannot say."""
    import ctypes
    import gc

    import torch

    from .community import DescriptorNet

    def status(key: str) -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key))

    net = DescriptorNet(descriptor).eval()
    m = max(net.size_multiple, 1)
    sides = [max(-(-s // m) * m, net.minimum) for s in MEMORY_PROBES]
    if sides[0] >= sides[1]:
        return None
    peaks = []
    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
        for side in sides:
            x = torch.rand(1, net.in_channels, side, side)
            gc.collect()
            if trim is not None:
                trim(0)
            base = status("VmRSS:")
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")   # peak RSS := current RSS
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net(x)
            peaks.append(status("VmHWM:") - base)
    except Exception:   # optional: without a figure the generic estimate sizes the tiles
        return None
    grown = (peaks[1] - peaks[0]) / (sides[1] ** 2 - sides[0] ** 2)
    return round(grown * MEMORY_MARGIN, 1) if grown > 0 else None


def licence(arch_id: str) -> str:
    """What can be said of an architecture's licence: spandrel's core holds permissively
    licensed ones; spandrel-extra-arches those under non-commercial or copyleft terms."""
    from .community import extra_arch_ids

    if arch_id in extra_arch_ids():
        return ("restrictive (spandrel-extra-arches: non-commercial or copyleft; review the "
                "architecture's own licence before commercial use)")
    return "permissive (spandrel core: MIT, Apache-2.0 or BSD-style)"


def file_metadata(path: Path, limit: int = 12) -> dict[str, str]:
    """What a model file says about itself besides its tensors: a safetensors header's
    metadata, or the plain (non-tensor) entries beside the weights of a pickled file."""
    found: dict[str, str] = {}
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), "pt") as f:
                found = dict(f.metadata() or {})
        else:
            raw = load_pickled(path)
            if isinstance(raw, dict):
                found = {str(k): v for k, v in raw.items() if _plain(v)}
    except ModelError:
        return {}
    return {k: str(v)[:200] for k, v in list(found.items())[:limit]}


def _plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, (list, tuple)) and len(value) <= 8 and all(
        isinstance(v, (str, int, float, bool)) for v in value)


def import_model(path: str | Path, name: str | None = None, *,
                 replace: bool = False) -> checkpoints.ModelEntry:
    """Import a model file into the library. A name already taken gets a free one
    (``name-2``, ...; compare the entry's id) unless ``replace`` (never a shipped model)."""
    path = Path(path)
    state = read_state_dict(path)
    descriptor = _describe(state)
    check_runs(descriptor, path.name)
    task = {"SR": "super-resolution", "FaceSR": "super-resolution"}.get(descriptor.purpose, "denoise")
    kwargs = {"architecture": descriptor.architecture.id, "scale": descriptor.scale,
              "in_channels": descriptor.input_channels, "out_channels": descriptor.output_channels,
              "size_multiple": descriptor.size_requirements.multiple_of}
    measured = measure_bytes_per_pixel(descriptor)
    if measured:
        kwargs["bytes_per_pixel"] = measured
    state = {k: v for k, v in descriptor.model.state_dict().items()}
    card = {"task": task, "scale": descriptor.scale, "source": "imported",
            "imported_from": path.name, "architecture_name": descriptor.architecture.name,
            "architecture_id": descriptor.architecture.id, "purpose": descriptor.purpose,
            "tags": list(descriptor.tags), "licence": licence(descriptor.architecture.id),
            "params": sum(int(v.numel()) for v in state.values()),
            "file_bytes": path.stat().st_size, "file_metadata": file_metadata(path),
            "tiling": getattr(descriptor.tiling, "name", str(descriptor.tiling)).lower(),
            "description": f"{descriptor.architecture.name} imported from {path.name}"}
    return checkpoints.save_model(name or path.stem, state, IMPORTED_ARCH, kwargs, card,
                                  overwrite=True if replace else None)


def import_job(spec: dict, control) -> Iterator[Event]:
    """Job wrapper: spec = {"path": ..., "name": optional, "replace": optional}."""
    yield Progress(0, 1, f"importing {Path(spec['path']).name}")
    wanted = checkpoints.slug(spec.get("name") or Path(spec["path"]).stem)
    entry = import_model(spec["path"], spec.get("name"), replace=bool(spec.get("replace")))
    if entry.id != wanted:
        yield Log("warning", f"a model named '{wanted}' already exists; imported as '{entry.id}'")
    yield Log("info", f"imported {entry.card.get('architecture_name', entry.arch)} as '{entry.id}'")
    yield Saved(str(entry.path), kind="model")
    yield Progress(1, 1, "done")
    return entry.id
