"""Inference backends: eager PyTorch, torch.compile, ONNX Runtime and OpenVINO.

A :class:`Backend` turns a net into a callable on NCHW float32 tensors (or arrays). It stands
in for the net inside ``NetRestorer.forward`` while the tiles run, so padding, level maps,
cropping and tiling stay the descriptor's and the inference module's.

Every backend other than eager is checked against eager fp32 on a fixed random tile (largest
difference at most ``TOLERANCE``) before it is used. One that cannot load or does not match
falls back to eager with one logged reason, never an exception.

``measure`` times the candidates once on a tile and keeps the result in the user cache dir,
keyed by the weights' sha256 and the device (the cards of shipped models are read-only).
``backend="auto"`` measures when nothing is cached yet; the default (``None``) runs the cached
choice when there is one and eager otherwise, so a first restore never waits for a
measurement. The choice is the fastest candidate that matched, among those whose one-off
setup (export, compilation) is short enough to pay in every new process.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import paths
from .atomic import write_json
from .errors import ConfigError

log = logging.getLogger("restorelab.backends")

NAMES = ("eager", "compile", "onnxruntime", "openvino")
CHOICES = ("auto",) + NAMES
AUTO_MEASURES = ("eager", "onnxruntime", "openvino")  # compile takes minutes: measured on request
TOLERANCE = 1e-4        # largest |backend - eager fp32| on the check tile
SETUP_LIMIT_S = 10.0    # a backend slower than this to set up is not chosen automatically
CHECK_SIZE = (80, 56)   # the random check tile, deliberately not the export's 64x64
MEASURE_SIDE = 256
SEED = 1414
CACHE_FILE = "backend_checks.json"


class Unavailable(Exception):
    """A backend that cannot run this net here; the message says why in one line."""


class Backend:
    """``prepare(net, tile shape NCHW, device)`` -> a callable on NCHW float32 tensors or arrays."""

    name = ""
    needs_onnx = False

    def prepare(self, net, tile: tuple[int, int, int, int], device: str) -> Callable:
        raise NotImplementedError


class Eager(Backend):
    name = "eager"

    def prepare(self, net, tile, device):
        return net


class Compiled(Backend):
    name = "compile"

    def prepare(self, net, tile, device):
        import torch

        if device.startswith("cpu") and not _cxx_compiler():
            raise Unavailable("torch.compile needs a C++ compiler for the CPU and none was found")
        fn = torch.compile(net, dynamic=True)   # edge tiles vary in size: one symbolic graph
        try:
            with torch.inference_mode():
                fn(random_tile(tile, device))   # compile now, not on the first tile
        except Exception as err:
            raise Unavailable(f"torch.compile failed: {_first_line(err)}") from None
        return fn


class OnnxRuntime(Backend):
    name = "onnxruntime"
    needs_onnx = True

    def prepare(self, net, tile, device):
        _cpu_only(self.name, device)
        ort = _import("onnxruntime")
        import torch

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        opts.log_severity_level = 3
        with _onnx_file(net) as path:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return on_arrays(lambda a: session.run(None, {"image": a})[0])


class OpenVino(Backend):
    name = "openvino"
    needs_onnx = True

    def prepare(self, net, tile, device):
        _cpu_only(self.name, device)
        ov = _import("openvino")
        import torch

        core = ov.Core()
        with _onnx_file(net) as path:
            # f32 explicitly: on CPUs with AMX OpenVINO would otherwise run bf16
            compiled = core.compile_model(core.read_model(str(path)), "CPU", {
                "INFERENCE_PRECISION_HINT": "f32",
                "INFERENCE_NUM_THREADS": torch.get_num_threads()})
        request, output = compiled.create_infer_request(), compiled.output(0)
        return on_arrays(lambda a: request.infer({0: a})[output].copy())


BACKENDS: dict[str, Backend] = {b.name: b for b in (Eager(), Compiled(), OnnxRuntime(), OpenVino())}


def on_arrays(run: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """A numpy runner as a callable that takes and returns the caller's kind (tensor or array)."""
    def call(x):
        if isinstance(x, np.ndarray):
            return run(np.ascontiguousarray(x, dtype=np.float32))
        import torch

        y = run(np.ascontiguousarray(x.detach().float().cpu().numpy()))
        return torch.from_numpy(y).to(x.device)
    return call


def _cxx_compiler() -> str | None:
    import os

    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    return next((found for n in names if (found := shutil.which(n))), None)


def _cpu_only(name: str, device: str) -> None:
    if not device.startswith("cpu"):
        raise Unavailable(f"{name} runs on the CPU here, not on {device}")


def _import(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as err:
        raise Unavailable(f"{module} cannot be loaded ({_first_line(err)})") from None


@contextlib.contextmanager
def _onnx_file(net):
    """The net exported to a temporary ONNX file (dynamic height and width), by engine.export."""
    from .errors import ModelError
    from .export import write_onnx

    with tempfile.TemporaryDirectory(prefix="restorelab-onnx-") as tmp:
        try:
            path = write_onnx(net, Path(tmp) / "net.onnx", type(net).__name__)
        except ModelError as err:
            raise Unavailable(str(err)) from None
        yield path


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def random_tile(shape: tuple[int, ...], device: str = "cpu"):
    """The fixed random NCHW tile backends are checked (and timed) on."""
    import torch

    gen = torch.Generator().manual_seed(SEED)
    return torch.rand(shape, generator=gen).to(device)


def max_abs_diff(call: Callable, net, x) -> float:
    """Largest |call(x) - net(x)| with the net in fp32 (inf when the shapes differ)."""
    import torch

    with torch.inference_mode():
        ref = net(x).float()
        y = torch.as_tensor(call(x)).float().to(ref.device)
    if y.shape != ref.shape:
        return float("inf")
    return float((y - ref).abs().max())


# --- a restorer's backends -------------------------------------------------------------------

@dataclass(frozen=True)
class Chosen:
    """What the tiles run on: ``call`` stands in for the net (None: the net itself)."""
    name: str
    call: Callable | None
    precision: str
    note: str = ""          # one line for the job log ('' none)
    level: str = "info"


@dataclass
class _Ready:
    call: Callable | None
    max_abs_diff: float | None
    reason: str             # why it cannot be used ('' when it can)
    setup_s: float
    reported: bool = False


_ready: "weakref.WeakKeyDictionary[Any, dict[str, _Ready]]" = weakref.WeakKeyDictionary()


def is_net(restorer) -> bool:
    return hasattr(restorer, "module") and hasattr(restorer, "forward")


def _net_shape(restorer, h: int, w: int) -> tuple[int, int, int, int]:
    """An NCHW shape the net takes directly (level-map channel included, size multiple met)."""
    if restorer.fixed_size:
        h = w = restorer.fixed_size
    else:
        m = max(restorer.size_multiple, 1)
        h, w = -(-h // m) * m, -(-w // m) * m
    channels = restorer.in_channels + (restorer.level != "none")
    return (1, channels, h, w)


def check_shape(restorer, tile: int) -> tuple[int, int, int, int]:
    return _net_shape(restorer, min(tile, CHECK_SIZE[0]), min(tile, CHECK_SIZE[1]))


def prepared(restorer, name: str, tile: int) -> _Ready:
    """``name`` prepared for this restorer and checked against eager fp32 (once per restorer)."""
    cache = _ready.setdefault(restorer, {})
    if name in cache:
        return cache[name]
    device = str(restorer.device)
    start = time.perf_counter()
    call, diff, reason = None, None, ""
    try:
        backend = BACKENDS[name]
        if backend.needs_onnx:
            from .export import onnx_blocker

            blocker = onnx_blocker(restorer.spec, restorer.kwargs)
            if blocker:
                raise Unavailable(f"{restorer.id} {blocker}")
        call = backend.prepare(restorer.module, check_shape(restorer, tile), device)
        diff = 0.0 if name == "eager" else max_abs_diff(
            call, restorer.module, random_tile(check_shape(restorer, tile), device))
        if not diff <= TOLERANCE:
            reason = f"differs from eager fp32 by {diff:.2g} (more than {TOLERANCE:g})"
    except Unavailable as err:
        reason = str(err)
    except Exception as err:     # a backend's own failure is a reason to fall back, not to stop
        reason = f"{type(err).__name__}: {_first_line(err)}"
    ready = _Ready(None if reason else call, diff, reason, time.perf_counter() - start)
    cache[name] = ready
    return ready


def select(restorer, want: str | None, tile: int, precision: str) -> Chosen:
    """The backend the tiles of ``restorer`` run on.

    ``want``: a name of NAMES (forced; non-eager backends run fp32), "auto" (the measured
    choice, measuring now if nothing is cached) or None (the cached choice, else eager).
    With bf16/fp16 the eager net keeps that precision unless a cached measurement found an
    fp32 backend faster than it.
    """
    if want is not None and want not in CHOICES:
        raise ConfigError(f"unknown backend '{want}' (choose from {', '.join(CHOICES)})")
    eager = Chosen("eager", None, precision)
    if not is_net(restorer) or want == "eager":
        return eager
    check = None
    if want in (None, "auto"):
        check = cached_check(restorer)
        if check is None and want == "auto":
            check = measure(restorer, tile)
            store_check(restorer, check)
        name = (check or {}).get("chosen", "eager")
        if not isinstance((check or {}).get(name), dict) or "ms_per_mp" not in check[name]:
            return eager
        lower = (check or {}).get(f"eager-{precision}", {}).get("ms_per_mp")
        if name == "eager" or (precision != "fp32" and lower is not None
                               and lower <= check[name]["ms_per_mp"]):
            return eager
    else:
        name = want
    ready = prepared(restorer, name, tile)
    first = not ready.reported
    ready.reported = True
    if ready.reason:
        text = f"backend {name} not used for {restorer.id}: {ready.reason}; running eager"
        if first:
            log.warning(text)
        return Chosen("eager", None, precision, text if first else "", "warning")
    speed = ""
    if check and name in check:
        speed = (f", {check[name]['ms_per_mp']:.0f} ms/MP measured vs eager fp32 "
                 f"{check['eager']['ms_per_mp']:.0f}")
    return Chosen(name, ready.call, "fp32",
                  f"backend: {name} (fp32{speed})" if first else "")


@contextlib.contextmanager
def attached(restorer, chosen: Chosen):
    """Run the restorer's net through ``chosen`` inside the block."""
    if chosen.call is None:
        yield
        return
    own = restorer.module
    restorer.module = chosen.call
    try:
        yield
    finally:
        restorer.module = own


def _ms_per_mp(fn: Callable, x, repeats: int) -> float:
    """Median milliseconds per input megapixel of ``fn(x)`` after one warm-up run."""
    import torch

    times = []
    with torch.inference_mode():
        for i in range(repeats + 1):
            start = time.perf_counter()
            fn(x)
            if i:
                times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000 / (x.shape[2] * x.shape[3] / 1e6)


def measure(restorer, tile: int = MEASURE_SIDE, names: tuple[str, ...] = AUTO_MEASURES,
            repeats: int = 1) -> dict:
    """Check and time ``names`` on one random tile of at most MEASURE_SIDE pixels; the
    result (backend -> ms_per_mp, max_abs_diff, ok, setup_s, or ok False and the error)
    with the ``chosen`` backend, as the cache keeps it. Eager bf16 is timed as well where
    the model and device run it, for the precision trade-off (it is not held to TOLERANCE)."""
    from . import devices

    device = str(restorer.device)
    side = min(tile, MEASURE_SIDE)
    x = random_tile(_net_shape(restorer, side, side), device)
    result: dict[str, Any] = {}
    for name in dict.fromkeys(("eager",) + tuple(names)):
        ready = prepared(restorer, name, tile)
        if ready.reason:
            result[name] = {"ok": False, "error": ready.reason, "max_abs_diff": ready.max_abs_diff}
            continue
        fn = ready.call if name != "eager" else restorer.module
        result[name] = {"ms_per_mp": round(_ms_per_mp(fn, x, repeats), 1),
                        "max_abs_diff": ready.max_abs_diff or 0.0, "ok": True,
                        "setup_s": round(ready.setup_s, 2)}
    if "bf16" in restorer.spec.precisions and devices.fast_bf16(device):
        bf16 = _forward_in(restorer, "bf16")
        result["eager-bf16"] = {"ms_per_mp": round(_ms_per_mp(bf16, x, repeats), 1),
                                "max_abs_diff": max_abs_diff(bf16, restorer.module, x),
                                "ok": False, "note": "judged by the card's precision_check"}
    result["chosen"] = choose(result)
    result["tile"] = list(x.shape[2:])
    result["measured"] = stamp()
    return result


def stamp() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _forward_in(restorer, precision: str) -> Callable:
    """The eager net at ``precision``, as the descriptor runs it (autocast, channels_last)."""
    return lambda x: restorer.forward(x, precision)


def choose(result: dict) -> str:
    """The fastest backend that matched eager fp32 and sets up within SETUP_LIMIT_S."""
    fit = {n: r["ms_per_mp"] for n, r in result.items() if n in NAMES and isinstance(r, dict)
           and r.get("ok") and (n == "eager" or r.get("setup_s", 0.0) <= SETUP_LIMIT_S)}
    return min(fit, key=fit.get) if fit else "eager"


# --- the cache: user cache dir, keyed by weights sha256 + device -----------------------------

def _cache_path() -> Path:
    return paths.cache_dir() / CACHE_FILE


def _read_cache() -> dict:
    import json

    try:
        return json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def cache_key(restorer) -> str | None:
    sha = getattr(restorer, "sha256", "")
    return f"{sha}:{restorer.device}" if sha else None


def cached_check(restorer) -> dict | None:
    key = cache_key(restorer)
    return _read_cache().get(key) if key else None


def store_check(restorer, check: dict) -> None:
    """Keep a measurement for the next runs (not for nets without a model card's sha256)."""
    key = cache_key(restorer)
    if key is None:
        return
    data = _read_cache()
    data[key] = check
    try:
        write_json(_cache_path(), data)
    except OSError as err:
        log.warning("backend measurement not cached: %s", err)


def card_info(card: dict) -> dict[str, str]:
    """The cached measurements of a model (by its card's sha256), one line per device."""
    sha = card.get("sha256")
    out = {}
    for key, check in _read_cache().items() if sha else ():
        if key.split(":", 1)[0] != sha:
            continue
        chosen = check.get("chosen", "eager")
        ms = {n: r["ms_per_mp"] for n, r in check.items() if n in NAMES and isinstance(r, dict)
              and r.get("ok")}
        ratio = ms.get("eager", 0) / ms[chosen] if ms.get(chosen) else 1.0
        rows = ", ".join(f"{n} {v:.0f}" for n, v in ms.items())
        out[f"backend ({key.split(':', 1)[1]})"] = (
            f"{chosen}, x{ratio:.2f} vs eager fp32 (ms/MP: {rows}; {check.get('measured', '')})")
    return out
