"""Measured facts about a network architecture: parameters, cost, receptive field.

``describe(spec, kwargs)`` builds the net on the CPU and probes it. MACs are
counted with forward hooks on Conv2d, ConvTranspose2d and Linear layers (plus
any module that offers ``count_macs(input, output)``, e.g. the FFT
deconvolution); element-wise work (norms, activations) is left out. The
receptive field is measured, not derived: the gradient of the centre output
pixel with respect to the input, in eval mode, with ReLU modules made linear
for the probe (a dead ReLU would otherwise hide part of the field; this gives
the extent that *can* influence the pixel, which is what tile overlap needs).
Zero-initialised residual branches (e.g. NAFNet's scales) hide their paths
until trained.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Mapping

from .registry import ArchSpec

MACS_PROBE = 64      # side of the probe image for counting MACs
FIELD_PROBE = 96     # largest side of the receptive-field probe (the cap)
FIELD_MIN = 16       # smallest side of the receptive-field probe
FIELD_BUDGET = 4e9   # forward MACs allowed for the receptive-field probe (big nets get a smaller one)
MACS_ON_META = 2e9   # params x output pixels above which MACs are counted on meta tensors
FIELD_SAMPLES = 2    # random probes whose fields are united (a dead ReLU can hide one)


def count_params(module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _probe_side(module, side: int, round_up: bool = True) -> int:
    fixed = getattr(module, "fixed_size", None)
    if fixed:
        return int(fixed)
    m = int(getattr(module, "size_multiple", 1) or 1)
    return max(m, (-(-side // m) if round_up else side // m) * m)


def count_macs(module, x) -> float:
    """Multiply-accumulates of one forward pass on ``x`` (hooked layers only)."""
    import torch
    import torch.nn as nn

    total = 0.0

    def conv_hook(layer, inputs, output):
        nonlocal total
        k = layer.kernel_size[0] * layer.kernel_size[1]
        if isinstance(layer, nn.ConvTranspose2d):  # every input value scatters to k * cout/groups
            total += inputs[0].numel() * k * layer.out_channels / layer.groups
        else:
            total += output.numel() * k * layer.in_channels / layer.groups

    def linear_hook(layer, inputs, output):
        nonlocal total
        total += output.numel() * layer.in_features

    def custom_hook(layer, inputs, output):
        nonlocal total
        total += float(layer.count_macs(inputs[0], output))

    handles = []
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            handles.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):
            handles.append(layer.register_forward_hook(linear_hook))
        elif hasattr(layer, "count_macs"):
            handles.append(layer.register_forward_hook(custom_hook))
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


@contextmanager
def _linear_relus(module):
    """Make every nn.ReLU / ReLU6 / Hardtanh inside ``module`` the identity for a while."""
    import torch.nn as nn

    layers = [m for m in module.modules() if isinstance(m, (nn.ReLU, nn.ReLU6, nn.Hardtanh))]
    inplace = [m.inplace for m in layers]
    handles = []
    for layer in layers:
        layer.inplace = False
        handles.append(layer.register_forward_hook(lambda _m, inputs, _out: inputs[0]))
    try:
        yield
    finally:
        for layer, flag, handle in zip(layers, inplace, handles):
            layer.inplace = flag
            handle.remove()


def receptive_field(module, in_channels: int, side: int,
                    samples: int = FIELD_SAMPLES) -> tuple[int, bool]:
    """Extent (pixels, the larger of height and width) of the input region that
    influences the centre output pixel, and whether it reached the probe border
    (then the true field is at least that large). The fields of ``samples``
    random probes are united. ``module`` should be in eval mode."""
    import torch

    x = torch.rand(samples, in_channels, side, side, generator=torch.Generator().manual_seed(0),
                   requires_grad=True)
    with _linear_relus(module):
        y = module(x)
    if y.ndim == 2:  # one score per image: every pixel counts
        y = y[:, :, None, None]
    y[..., y.shape[-2] // 2, y.shape[-1] // 2].sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    if not touched.any():
        return 0, False
    rows = touched.any(dim=1).nonzero().flatten()
    cols = touched.any(dim=0).nonzero().flatten()
    extent = int(max(rows[-1] - rows[0], cols[-1] - cols[0])) + 1
    capped = bool(rows[0] == 0 or cols[0] == 0 or rows[-1] == side - 1 or cols[-1] == side - 1)
    return extent, capped


def _macs_on_meta(module, in_ch: int, side: int) -> float | None:
    """Count MACs with shapes only (a meta copy of ``module``): no memory, no arithmetic."""
    import copy

    import torch

    try:
        return count_macs(copy.deepcopy(module).to("meta"),
                          torch.empty(1, in_ch, side, side, device="meta"))
    except (RuntimeError, NotImplementedError):
        return None


def describe(spec: ArchSpec, kwargs: Mapping[str, Any] | None = None,
             field_probe: int = FIELD_PROBE) -> dict[str, Any]:
    """Parameters, MACs per output pixel (per input pixel for discriminators),
    measured receptive field (probe side at most ``field_probe``), size
    multiple, scale and channels of ``spec`` built with ``kwargs``."""
    import torch

    merged = spec.kwargs(kwargs)
    module = spec.build(**(kwargs or {})).eval()
    in_ch = int(getattr(module, "in_channels", spec.in_channels))
    out_ch = int(getattr(module, "out_channels", spec.out_channels))
    scale = spec.scale_for(merged)
    size_multiple = int(getattr(module, "size_multiple", spec.size_multiple))

    params = count_params(module)
    side = _probe_side(module, MACS_PROBE)
    big = params * (side * scale) ** 2 > MACS_ON_META
    macs = _macs_on_meta(module, in_ch, side) if big else None  # big: count with shapes only
    if macs is None:  # small, or layers (FFT) without meta kernels: count on a real probe
        if big:
            side = _probe_side(module, 32)
        macs = count_macs(module, torch.rand(1, in_ch, side, side))
    info: dict[str, Any] = {"params": params}
    if spec.kind == "discriminator":
        info["macs_per_input_pixel"] = round(macs / (side * side), 1)
    else:
        info["macs_per_output_pixel"] = round(macs / (side * scale) ** 2, 1)

    # the gradient probe costs about 3x a forward pass: big nets get one smaller probe
    affordable = (FIELD_BUDGET / FIELD_SAMPLES / max(macs / side ** 2, 1.0)) ** 0.5
    samples = FIELD_SAMPLES if affordable >= field_probe else 1
    field_side = _probe_side(module, int(min(field_probe, max(FIELD_MIN, affordable))),
                             round_up=False)
    with torch.enable_grad():
        extent, capped = receptive_field(module, in_ch, field_side, samples)
    info.update({
        "receptive_field": extent,  # input pixels around the centre output pixel
        "receptive_field_capped": capped,  # True: reaches the probe border, at least this big
        "probe_size": field_side,
        "size_multiple": size_multiple,
        "fixed_size": getattr(module, "fixed_size", None),
        "scale": scale,
        "in_channels": in_ch,
        "out_channels": out_ch,
    })
    return info
