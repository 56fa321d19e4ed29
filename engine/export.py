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
    import torch

    module, spec, kwargs = checkpoints.build_model(entry.path)
    if spec.family == "deconv" or kwargs.get("first_layer") == "deconv":
        raise ModelError(f"{entry.id} ({spec.id}) divides complex FFT spectra, which ONNX "
                         "cannot express; export it as safetensors instead")
    if getattr(module, "fixed_size", None):
        side = module.fixed_size
    else:
        m = max(int(getattr(module, "size_multiple", 1)), 1)
        side = -(-64 // m) * m
    in_ch = int(getattr(module, "in_channels", spec.in_channels))
    dummy = torch.rand(1, in_ch, side, side)
    dynamic = not getattr(module, "fixed_size", None)
    with atomic_path(output) as tmp, _quiet_native_output():
        try:
            torch.onnx.export(
                module, (dummy,), str(tmp), input_names=["image"], output_names=["restored"],
                opset_version=ONNX_OPSET, dynamo=False,
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                              "restored": {0: "batch", 2: "height", 3: "width"}} if dynamic else None)
        except Exception as err:
            raise ModelError(f"{entry.id} ({spec.id}) cannot be exported to ONNX: "
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
