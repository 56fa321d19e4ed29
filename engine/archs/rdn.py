"""Residual Dense Network for super-resolution (Zhang et al. 2018; seed note 004).

Shallow features (two 3x3 convs, G0 channels), D residual dense blocks of C
densely connected 3x3 conv + ReLU layers (growth G) with 1x1 local fusion and
a local residual, global fusion of all block outputs (1x1 then 3x3) plus a
global residual, then conv + pixel-shuffle upsampling (x4 as two x2 stages)
and a 3x3 conv to ``out_channels``. About 22M parameters at the defaults.

``antialias="blurpool"``: a fixed stride-1 3x3 binomial blur
([1,2,1] x [1,2,1] / 16) right after each pixel shuffle; note 004 found it
removed the checkerboard and raised PSNR markedly.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .specs import RDN as SPECS  # noqa: F401  (registry entries of this module)


class Blur3x3(nn.Module):
    """Fixed depthwise [1,2,1]x[1,2,1]/16 blur, stride 1, reflect padding (not learned)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        kernel = (k[:, None] * k[None, :] / 16).expand(channels, 1, 3, 3).clone()
        self.register_buffer("kernel", kernel, persistent=False)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.kernel.to(x.dtype), groups=self.channels)


class DenseBlock(nn.Module):
    """One RDB: C conv+ReLU layers each seeing all previous features, 1x1 fusion, residual."""

    def __init__(self, G0: int, G: int, C: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Conv2d(G0 + i * G, G, 3, padding=1) for i in range(C))
        self.fuse = nn.Conv2d(G0 + C * G, G0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(F.relu(layer(torch.cat(features, dim=1))))
        return x + self.fuse(torch.cat(features, dim=1))


class RDN(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 2,
                 G0: int = 64, G: int = 64, D: int = 16, C: int = 8,
                 antialias: str = "none", global_skip: str = "none") -> None:
        super().__init__()
        if global_skip not in ("none", "bicubic"):
            raise ValueError("global_skip must be 'none' or 'bicubic'")
        # "bicubic": the net learns the residual over a bicubic upscale of its input,
        # so it starts at bicubic quality and trains far faster (a short CPU schedule)
        self.global_skip = global_skip
        if scale not in (2, 3, 4):
            raise ValueError("RDN scale must be 2, 3 or 4")
        if antialias not in ("none", "blurpool"):
            raise ValueError("antialias must be 'none' or 'blurpool'")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), int(scale)
        self.size_multiple, self.fixed_size = 1, None
        # 3x3 convs: 2 shallow + D*C dense + fusion + upsampler, and under one low-res pixel for
        # the high-res convs (blur, output); the bicubic skip reads 2
        self.receptive_radius = 2 + D * C + 4
        self.radius_exact = True
        self.sfe1 = nn.Conv2d(in_channels, G0, 3, padding=1)
        self.sfe2 = nn.Conv2d(G0, G0, 3, padding=1)
        self.blocks = nn.ModuleList(DenseBlock(G0, G, C) for _ in range(D))
        self.gff = nn.Sequential(nn.Conv2d(D * G0, G0, 1), nn.Conv2d(G0, G0, 3, padding=1))
        up = []
        for r in ([2, 2] if scale == 4 else [scale]):
            up += [nn.Conv2d(G0, G0 * r * r, 3, padding=1), nn.PixelShuffle(r)]
            if antialias == "blurpool":
                up.append(Blur3x3(G0))
        up.append(nn.Conv2d(G0, out_channels, 3, padding=1))
        self.upsample = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f_1 = self.sfe1(x)
        f = self.sfe2(f_1)
        outs = []
        for block in self.blocks:
            f = block(f)
            outs.append(f)
        f = self.gff(torch.cat(outs, dim=1)) + f_1
        out = self.upsample(f)
        if self.global_skip == "bicubic" and self.in_channels == self.out_channels:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out
