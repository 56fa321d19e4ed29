"""pix2pix U-Net generator (seed note 002), built from scratch.

Encoder: 4x4 stride-2 convs (LeakyReLU 0.2, BatchNorm except on the first and
innermost); decoder: ReLU, 4x4 stride-2 transposed convs, BatchNorm, with the
matching encoder features concatenated before each step. Widths double from
``base`` up to ``max_width``. ``depth`` downsamplings, so inputs must be a
multiple of 2**depth (the restorer pads). The research run used an ImageNet
ResNet34 encoder; that needs downloaded weights, so this is the classic
from-scratch generator.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import UNET as SPECS  # noqa: F401  (registry entries of this module)

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "none": nn.Identity}


class UNet(nn.Module):
    """pix2pix U-Net. ``dropout`` applies in the ``dropout_blocks`` innermost
    decoder blocks (0.4 in two blocks, as in note 002). ``out_activation``:
    relu (the note's Sobel model), sigmoid or none."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, depth: int = 7,
                 base: int = 64, max_width: int = 512, dropout: float = 0.4,
                 dropout_blocks: int = 2, out_activation: str = "sigmoid") -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("UNet depth must be at least 2")
        if out_activation not in _ACTIVATIONS:
            raise ValueError(f"out_activation must be one of {sorted(_ACTIVATIONS)}")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 2 ** depth, None
        self.receptive_radius = min(2 ** (depth + 1), 256)
        widths = [min(base * 2 ** i, max_width) for i in range(depth)]

        self.downs = nn.ModuleList()
        for i, w in enumerate(widths):
            if i == 0:
                self.downs.append(nn.Conv2d(in_channels, w, 4, 2, 1))
                continue
            layers = [nn.LeakyReLU(0.2, inplace=False), nn.Conv2d(widths[i - 1], w, 4, 2, 1,
                                                                  bias=i == depth - 1)]
            if i < depth - 1:
                layers.append(nn.BatchNorm2d(w))
            self.downs.append(nn.Sequential(*layers))

        self.ups = nn.ModuleList()
        for j in range(depth):  # j = 0 is the innermost decoder block
            i = depth - 1 - j
            cin = widths[i] if j == 0 else 2 * widths[i]
            if i == 0:
                self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, out_channels, 4, 2, 1),
                                              _ACTIVATIONS[out_activation]()))
                continue
            layers = [nn.ReLU(), nn.ConvTranspose2d(cin, widths[i - 1], 4, 2, 1, bias=False),
                      nn.BatchNorm2d(widths[i - 1])]
            if j < dropout_blocks and dropout > 0:
                layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for j, up in enumerate(self.ups):
            if j > 0:
                x = torch.cat([x, skips[-1 - j]], dim=1)
            x = up(x)
        return x
