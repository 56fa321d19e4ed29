"""DnCNN (Zhang et al. 2017): a plain conv denoiser with residual learning.

conv + ReLU, (depth - 2) x (conv + BN + ReLU), conv; the net predicts the
noise and the output is input - noise. Width 64 and depth 17 as in the paper
(its colour blind model, CDnCNN, has depth 20).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import DNCNN as SPECS  # noqa: F401  (registry entries of this module)


class DnCNN(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, depth: int = 17,
                 width: int = 64, batchnorm: bool = True) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError("DnCNN subtracts the predicted noise: in_channels must equal out_channels")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size, self.receptive_radius = 1, None, int(depth)
        self.radius_exact = True   # plain 3x3 convolutions: the radius is a true bound
        layers = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1))  # the last layer: the noise
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)
