"""Inference backends: eager PyTorch, torch.compile, ONNX Runtime and OpenVINO.

A :class:`Backend` turns a net into a callable on NCHW float32 tensors (or arrays). It stands
in for the net inside ``NetRestorer.forward`` while the tiles run (:func:`attached`), so
padding, level maps, cropping and tiling stay the descriptor's and the inference module's.
Which backend runs, and whether it may, is :mod:`engine.backend_choice`'s business.

ONNX Runtime and OpenVINO are imported only when one of them is prepared.

Two hazards of native runtimes are handled here; both once killed a process that measured
backends and then trained. OpenVINO's signal stack: see :func:`_same_signal_stack`. Forks: a
runtime session owns native worker threads, and a forked child (a DataLoader worker, say)
inherits the session's memory but none of its threads. OpenVINO's compiled model joins its
stream threads in its destructor: run in such a child it segfaults or hangs. That happens when
the child's garbage collector frees a session the parent had already let go of inside a
reference cycle. So every session lives in a :class:`Runtime` holder, and each fork pins the
live holders: the child never frees what it inherited (it exits without finalizing anyway),
the parent frees them as usual once the fork is done.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import sys
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

log = logging.getLogger("restorelab.backends")

NAMES = ("eager", "compile", "onnxruntime", "openvino")
SEED = 1414   # of the random tile backends are compiled, checked and timed on


class Unavailable(Exception):
    """A backend that cannot run this net here; the message says why in one line."""


class Backend:
    """``prepare(net, tile shape NCHW, device, key)`` -> a callable on NCHW float32 tensors or
    arrays. ``key`` names the net's weights (see onnx_key): the ONNX backends keep its export
    in the user cache dir under it, so a later process skips the export."""

    name = ""
    needs_onnx = False

    def prepare(self, net, tile: tuple[int, int, int, int], device: str, key: str = "") -> Callable:
        raise NotImplementedError


class Eager(Backend):
    name = "eager"

    def prepare(self, net, tile, device, key=""):
        return net


class Compiled(Backend):
    name = "compile"

    def prepare(self, net, tile, device, key=""):
        import torch

        if device.startswith("cpu") and not _cxx_compiler():
            raise Unavailable("torch.compile needs a C++ compiler for the CPU and none was found")
        fn = torch.compile(net, dynamic=True)   # edge tiles vary in size: one symbolic graph
        try:
            with torch.inference_mode():
                fn(random_tile(tile, device))   # compile now, not on the first tile
        except Exception as err:
            raise Unavailable(f"torch.compile failed: {first_line(err)}") from None
        return fn


class OnnxRuntime(Backend):
    name = "onnxruntime"
    needs_onnx = True

    def prepare(self, net, tile, device, key=""):
        _cpu_only(self.name, device)
        ort = _import("onnxruntime")
        import torch

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        opts.log_severity_level = 3
        runtime = _from_onnx(net, key, lambda path: Runtime(ort.InferenceSession(
            str(path), opts, providers=["CPUExecutionProvider"])))
        return on_arrays(lambda a: runtime.parts[0].run(None, {"image": a})[0])


class OpenVino(Backend):
    name = "openvino"
    needs_onnx = True

    def prepare(self, net, tile, device, key=""):
        _cpu_only(self.name, device)
        ov = _import("openvino")
        import torch

        core = ov.Core()

        def load(path):
            with _same_signal_stack():
                # f32 explicitly: on CPUs with AMX OpenVINO would otherwise run bf16
                compiled = core.compile_model(core.read_model(str(path)), "CPU", {
                    "INFERENCE_PRECISION_HINT": "f32",
                    "INFERENCE_NUM_THREADS": torch.get_num_threads()})
                return Runtime(compiled.create_infer_request(), compiled.output(0), compiled, core)
        runtime = _from_onnx(net, key, load)

        def run(a):
            request, output = runtime.parts[:2]
            return request.infer({0: a})[output].copy()
        return on_arrays(run)


BACKENDS: dict[str, Backend] = {b.name: b for b in (Eager(), Compiled(), OnnxRuntime(), OpenVino())}


# --- native runtimes and fork ----------------------------------------------------------------

class Runtime:
    """The one owner of a runtime's native objects (session, compiled model, core)."""

    __slots__ = ("parts", "__weakref__")

    def __init__(self, *parts) -> None:
        self.parts = parts
        _live.add(self)


_live: "weakref.WeakSet[Runtime]" = weakref.WeakSet()
_pinned: list[Runtime] = []     # held across a fork
_inherited: list[Runtime] = []  # in a forked child: the parent's, never freed here


def _pin() -> None:
    _pinned[:] = list(_live)


def _unpin() -> None:
    _pinned.clear()


def _inherit() -> None:
    _inherited.extend(_pinned)
    _pinned.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_pin, after_in_parent=_unpin, after_in_child=_inherit)


def live_runtimes() -> int:
    """How many native runtime sessions this process holds."""
    return len(_live)


# --- OpenVINO and the signal stack -----------------------------------------------------------
# Compiling a model, OpenVINO's CPU plugin gives the calling thread an alternate signal stack of
# its own, and its destructor puts back the one it found, if its own is still current. Freed in
# any order but the reverse (two models freed in the order they were made), the thread is
# left pointing at an unmapped stack, and the next signal a handler takes on it (the
# SIGCHLD torch's DataLoader listens to when a worker ends) kills the process with SIGSEGV,
# faulthandler silenced too. So the thread's own stack is put back as soon as compiling is
# done: the plugin installs no handler that would use its stack, and its destructor then
# leaves the thread's stack alone.

class _Stack(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int),
                ("ss_size", ctypes.c_size_t)]


SS_DISABLE = 2   # Linux's value


@contextlib.contextmanager
def _same_signal_stack():
    """Leave the calling thread's alternate signal stack as it was before the block (Linux)."""
    before, libc = _Stack(), None
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            if libc.sigaltstack(None, ctypes.byref(before)) != 0:
                libc = None
        except (OSError, AttributeError):
            libc = None
    try:
        yield
    finally:
        if libc is not None:
            if before.ss_flags & SS_DISABLE:          # there was none: none again
                before = _Stack(None, SS_DISABLE, 0)
            libc.sigaltstack(ctypes.byref(before), None)


# --- helpers ---------------------------------------------------------------------------------

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
        raise Unavailable(f"{module} cannot be loaded ({first_line(err)})") from None


def onnx_key(restorer) -> str:
    """What names a restorer's ONNX export in the cache: its weights' sha256, the net's class
    and input channels, torch's version and the opset (empty without a sha256)."""
    import torch

    from .export import ONNX_OPSET

    sha = getattr(restorer, "sha256", "")
    if not sha:
        return ""
    module = restorer.module
    channels = getattr(module, "in_channels", restorer.in_channels)
    return (f"{sha[:24]}-{type(module).__name__}-c{channels}-"
            f"torch{torch.__version__.split('+')[0]}-op{ONNX_OPSET}")


def _from_onnx(net, key: str, load: Callable):
    """``load(path)`` of the net's ONNX export: the cached one under ``key`` when there is
    one (exported and kept there when not), else a temporary one. A cached file that does not
    load is exported again once."""
    if not key:
        with tempfile.TemporaryDirectory(prefix="restorelab-onnx-") as tmp:
            return load(_export(net, Path(tmp) / "net.onnx"))
    from . import paths

    path = paths.cache_dir() / "onnx" / f"{key}.onnx"
    if path.is_file():
        try:
            return load(path)
        except Exception as err:    # damaged or from another runtime: export it again
            log.info("cached ONNX export %s did not load (%s); exporting again",
                     path.name, first_line(err))
            path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return load(_export(net, path))


def _export(net, path: Path) -> Path:
    from .errors import ModelError
    from .export import write_onnx

    try:
        return write_onnx(net, path, type(net).__name__)
    except ModelError as err:
        raise Unavailable(str(err)) from None


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def random_tile(shape: tuple[int, ...], device: str = "cpu"):
    """The fixed random NCHW tile backends are compiled, checked and timed on."""
    import torch

    gen = torch.Generator().manual_seed(SEED)
    return torch.rand(shape, generator=gen).to(device)


# --- running a restorer's net on one ---------------------------------------------------------

@dataclass(frozen=True)
class Chosen:
    """What the tiles run on: ``call`` stands in for the net (None: the net itself)."""
    name: str
    call: Callable | None
    precision: str
    note: str = ""          # one line for the job log ('' none)
    level: str = "info"


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
