"""SR-ResNet18 (seed note 004): the ResNet18 layout at full resolution.

A 3x3 stem, four stages of BasicBlocks ([2, 2, 2, 2], widths 64-128-256-512)
with stride 1 everywhere (no pooling), then a head of 4x4 stride-2 transposed
convs (one per factor 2 of ``scale``) and a 3x3 conv to ``out_channels``.
Heavy at full resolution (13M parameters, about 13M multiply-accumulates per
input pixel at x2); ``widths`` and ``blocks`` shrink it.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import SRRESNET as SPECS  # noqa: F401  (registry entries of this module)


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN, identity (or 1x1 projection) shortcut, ReLU after the add."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SRResNet18(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 2,
                 widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2)) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError("SRResNet18 scale must be 2 or 4")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), int(scale)
        self.size_multiple, self.fixed_size = 1, None
        self.receptive_radius = 1 + 2 * sum(int(b) for b in blocks) + 2
        self.radius_exact = True
        widths, blocks = [int(w) for w in widths], [int(b) for b in blocks]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers, prev = [], widths[0]
        for width, count in zip(widths, blocks):
            for _ in range(count):
                layers.append(BasicBlock(prev, width))
                prev = width
        self.body = nn.Sequential(*layers)
        head = []
        for _ in range({2: 1, 4: 2}[scale]):
            head += [nn.ConvTranspose2d(prev, prev // 2, 4, 2, 1), nn.ReLU(inplace=True)]
            prev //= 2
        head.append(nn.Conv2d(prev, out_channels, 3, padding=1))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))
