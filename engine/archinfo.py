"""Measured facts about a network architecture: parameters, cost, receptive field.

``describe(spec, kwargs)`` builds the net on the CPU and probes it. MACs are
counted with forward hooks on Conv2d, ConvTranspose2d and Linear layers (plus
any module that offers ``count_macs(input, output)``, e.g. the FFT
deconvolution); element-wise work (norms, activations) is left out. The
receptive field is measured, not derived: the gradient of the centre output
pixel with respect to the input, in eval mode.
"""
from __future__ import annotations

from typing import Any, Mapping

from .registry import ArchSpec

MACS_PROBE = 64   # side of the probe image for counting MACs
FIELD_PROBE = 96  # side of the probe image for the receptive field (the cap)


def count_params(module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _probe_side(module, side: int) -> int:
    fixed = getattr(module, "fixed_size", None)
    if fixed:
        return int(fixed)
    m = int(getattr(module, "size_multiple", 1) or 1)
    return max(m, -(-side // m) * m)


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


def receptive_field(module, in_channels: int, side: int) -> tuple[int, bool]:
    """Extent (pixels, the larger of height and width) of the input region that
    influences the centre output pixel, and whether it reached the probe border
    (then the true field is at least that large)."""
    import torch

    x = torch.rand(1, in_channels, side, side, generator=torch.Generator().manual_seed(0),
                   requires_grad=True)
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


def describe(spec: ArchSpec, kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters, MACs per output pixel (per input pixel for discriminators),
    measured receptive field, size multiple, scale and channels of ``spec``."""
    import torch

    merged = spec.kwargs(kwargs)
    module = spec.build(**(kwargs or {})).eval()
    in_ch = int(getattr(module, "in_channels", spec.in_channels))
    out_ch = int(getattr(module, "out_channels", spec.out_channels))
    scale = spec.scale_for(merged)
    size_multiple = int(getattr(module, "size_multiple", spec.size_multiple))

    side = _probe_side(module, MACS_PROBE)
    x = torch.rand(1, in_ch, side, side)
    macs = count_macs(module, x)
    info: dict[str, Any] = {"params": count_params(module)}
    if spec.kind == "discriminator":
        info["macs_per_input_pixel"] = round(macs / (side * side), 1)
    else:
        info["macs_per_output_pixel"] = round(macs / (side * scale) ** 2, 1)

    field_side = _probe_side(module, FIELD_PROBE)
    with torch.enable_grad():
        extent, capped = receptive_field(module, in_ch, field_side)
    info.update({
        "receptive_field": extent,
        "receptive_field_capped": capped,  # True: reaches the probe border, at least this big
        "probe_size": field_side,
        "size_multiple": size_multiple,
        "fixed_size": getattr(module, "fixed_size", None),
        "scale": scale,
        "in_channels": in_ch,
        "out_channels": out_ch,
    })
    return info
