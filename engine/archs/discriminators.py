"""Conditional discriminators for adversarial training (seed notes 002 and 004).

Every one takes the condition and the candidate concatenated on the channel
axis (``in_channels`` = condition channels + candidate channels) and returns
raw logits (no sigmoid: the GAN loss chooses). PatchGAN and the SR
discriminators return a map of patch logits; ConvDisc one logit per image.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import DISCRIMINATORS as SPECS  # noqa: F401  (registry entries of this module)


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class _Discriminator(nn.Module):
    def _init_meta(self, in_channels: int) -> None:
        self.in_channels, self.out_channels, self.scale = int(in_channels), 1, 1
        self.size_multiple, self.fixed_size = 1, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchGAN(_Discriminator):
    """pix2pix PatchGAN: 4x4 convs, ``n_layers`` stride-2 steps (BN + LeakyReLU
    0.2), then two stride-1 convs; widths double from ``base`` up to 8x base.
    With n_layers=3 each logit sees a 70x70 patch."""

    def __init__(self, in_channels: int = 6, base: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self._init_meta(in_channels)
        layers = [nn.Conv2d(in_channels, base, 4, 2, 1), _lrelu()]
        width = base
        for n in range(1, n_layers + 1):
            prev, width = width, base * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(prev, width, 4, stride, 1, bias=False), nn.BatchNorm2d(width), _lrelu()]
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)


class ConvDisc(_Discriminator):
    """Note 002's plain conv discriminator on (RGB input, 1-channel target):
    ``n_layers`` 3x3 stride-2 convs (BN + LeakyReLU), a 1x1 conv to one channel
    and a global average, giving one logit per image of any size."""

    def __init__(self, in_channels: int = 4, base: int = 32, n_layers: int = 4) -> None:
        super().__init__()
        self._init_meta(in_channels)
        layers, prev = [], in_channels
        for n in range(n_layers):
            width = base * 2 ** n
            layers += [nn.Conv2d(prev, width, 3, 2, 1, bias=n == 0)]
            layers += [_lrelu()] if n == 0 else [nn.BatchNorm2d(width), _lrelu()]
            prev = width
        layers += [nn.Conv2d(prev, 1, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)


class SRDiscSimple(_Discriminator):
    """Note 004's simple SR discriminator: four 4x4 stride-2 convs (LeakyReLU
    between them) on concat(SR or HR, bicubic-upscaled LR); patch logits."""

    def __init__(self, in_channels: int = 6, base: int = 64) -> None:
        super().__init__()
        self._init_meta(in_channels)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, base, 4, 2, 1), _lrelu(),
            nn.Conv2d(base, 2 * base, 4, 2, 1), _lrelu(),
            nn.Conv2d(2 * base, 4 * base, 4, 2, 1), _lrelu(),
            nn.Conv2d(4 * base, 1, 4, 2, 1))


class SRDiscRev(_Discriminator):
    """Note 004's stronger ("rev") SR discriminator: six 3x3 convs with strides
    2, 2, 1, 1, 2, 2, BatchNorm after all but the first and last (``norm``;
    off gives the un-normalised "Rev"), LeakyReLU; patch logits."""

    def __init__(self, in_channels: int = 6, base: int = 64, norm: bool = True) -> None:
        super().__init__()
        self._init_meta(in_channels)
        widths = [base, 2 * base, 2 * base, 4 * base, 4 * base]
        strides = [2, 2, 1, 1, 2]
        layers, prev = [], in_channels
        for n, (width, stride) in enumerate(zip(widths, strides)):
            layers.append(nn.Conv2d(prev, width, 3, stride, 1, bias=not (norm and n > 0)))
            if norm and n > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(_lrelu())
            prev = width
        layers.append(nn.Conv2d(prev, 1, 3, 2, 1))
        self.net = nn.Sequential(*layers)
