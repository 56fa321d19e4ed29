"""Export a library model as safetensors (our format, portable) or ONNX."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from . import checkpoints
from .atomic import atomic_path
from .errors import ModelError

FORMATS = ("safetensors", "onnx")
ONNX_OPSET = 18


def export_model(model_id: str, fmt: str, output: str | Path) -> Path:
    entry = checkpoints.find_model(model_id)
    if entry is None:
        raise ModelError(f"no model named '{model_id}'")
    output = Path(output)
    if fmt == "safetensors":
        with atomic_path(output) as tmp:
            shutil.copyfile(entry.path / checkpoints.WEIGHTS, tmp)
        return output
    if fmt == "onnx":
        return _export_onnx(entry, output)
    raise ModelError(f"unknown export format '{fmt}' (choose from {', '.join(FORMATS)})")


def _export_onnx(entry: checkpoints.ModelEntry, output: Path) -> Path:
    module, spec, kwargs = checkpoints.build_model(entry.path)
    reason = onnx_blocker(spec, kwargs)
    if reason:
        raise ModelError(f"{entry.id} ({spec.id}) {reason}; export it as safetensors instead")
    return write_onnx(module, output, f"{entry.id} ({spec.id})", spec.in_channels)


def onnx_blocker(spec, kwargs) -> str:
    """Why a net of ``spec`` cannot become ONNX ('' when it can)."""
    if spec.family == "deconv" or kwargs.get("first_layer") == "deconv":
        return "divides complex FFT spectra, which ONNX cannot express"
    return ""


def write_onnx(module, output: Path, label: str, in_channels: int = 3) -> Path:
    """Trace ``module`` (NCHW float32 in and out) into an ONNX file, atomically. Batch,
    height and width stay dynamic axes unless the net takes one fixed input size."""
    import torch

    fixed = getattr(module, "fixed_size", None)
    if fixed:
        side = fixed
    else:
        m = max(int(getattr(module, "size_multiple", 1)), 1)
        side = -(-64 // m) * m
    in_ch = int(getattr(module, "in_channels", in_channels))
    param = next(module.parameters(), None)
    dummy = torch.rand(1, in_ch, side, side, device=param.device if param is not None else "cpu")
    axes = {0: "batch", 2: "height", 3: "width"}
    with atomic_path(output) as tmp, _quiet_native_output():
        try:
            torch.onnx.export(
                module, (dummy,), str(tmp), input_names=["image"], output_names=["restored"],
                opset_version=ONNX_OPSET, dynamo=False,
                dynamic_axes=None if fixed else {"image": axes, "restored": axes})
        except Exception as err:
            raise ModelError(f"{label} cannot be exported to ONNX: "
                             f"{str(err).splitlines()[0][:200]}") from None
    return output


@contextlib.contextmanager
def _quiet_native_output():
    """Hold back what the ONNX exporter's C++ side prints (on failure it dumps the whole
    traced graph to stdout, whatever its verbosity): our one-line error says it."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            for fd, target in zip(saved, (1, 2)):
                os.dup2(fd, target)
                os.close(fd)
