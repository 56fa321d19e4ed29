"""Dense prediction nets from seed note 003 (foreground mask + depth maps).

Both output ``out_channels`` sigmoid maps at the input resolution (default 2:
mask and depth).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import DILATED as SPECS  # noqa: F401  (registry entries of this module)


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1,
                 relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation,
                        bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def pixel_shuffle_up(channels: int) -> nn.Sequential:
    """x2 upsampling: 1x1 conv to 4x channels, then PixelShuffle(2) (same channel count)."""
    return nn.Sequential(nn.Conv2d(channels, 4 * channels, 1), nn.PixelShuffle(2))


class Bottleneck(nn.Module):
    """1x1 -> 3x3 dilated -> 3x3 dilated (BN + ReLU), optional residual add."""

    def __init__(self, width: int, mid: int, dilation: int, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(conv_bn_relu(width, mid, 1),
                                  conv_bn_relu(mid, mid, 3, dilation=dilation),
                                  conv_bn_relu(mid, width, 3, dilation=dilation, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return torch.relu(y + x if self.residual else y)


class DilatedFCN(nn.Module):
    """Note 003's small dilated net (~0.2M params at width 64).

    A prep block (two 3x3 convs, then a stride-2 conv to ``width``), one
    bottleneck block per entry of ``dilations`` at half resolution (bottleneck
    width 3/4 of ``width``), x2 upsampling and a 1x1 conv to ``out_channels``,
    sigmoid. Net 1 of the note: dilations=(2, 4, 8), residual=False,
    upsample="transposed" (stride 2; ``up_kernel`` 3 overlaps unevenly, the
    classic checkerboard, 4 evenly). Net 2, the default: dilations=(2, 3, 4),
    residual=True, upsample="pixelshuffle".
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 2, width: int = 64,
                 dilations=(2, 3, 4), residual: bool = True, upsample: str = "pixelshuffle",
                 up_kernel: int = 4) -> None:
        super().__init__()
        if upsample not in ("transposed", "pixelshuffle"):
            raise ValueError("upsample must be 'transposed' or 'pixelshuffle'")
        if up_kernel not in (2, 3, 4):
            raise ValueError("up_kernel must be 2, 3 or 4")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 2, None
        self.receptive_radius = 4 + 2 * sum(2 * int(d) for d in dilations)
        half = width // 2
        self.prep = nn.Sequential(conv_bn_relu(in_channels, half), conv_bn_relu(half, half),
                                  conv_bn_relu(half, width, stride=2))
        self.blocks = nn.Sequential(*[Bottleneck(width, width * 3 // 4, int(d), residual)
                                      for d in dilations])
        if upsample == "transposed":
            self.up = nn.ConvTranspose2d(width, width, up_kernel, 2, padding=(up_kernel - 1) // 2,
                                         output_padding=up_kernel % 2)
        else:
            self.up = pixel_shuffle_up(width)
        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, out_channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.blocks(self.prep(x))))


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class UNetPS(nn.Module):
    """Note 003's final net: a U-Net-like encoder-decoder (~2.3M params).

    ``depth`` max-pool steps with double 3x3 convs, widths doubling from
    ``base`` (capped at ``max_width``); each decoder step upsamples with a 1x1
    conv to 4x channels + PixelShuffle(2), concatenates the skip and applies a
    double conv. 1x1 conv to ``out_channels``, sigmoid.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 2, base: int = 32,
                 depth: int = 3, max_width: int = 256) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 2 ** depth, None
        self.receptive_radius = 4 * 2 ** (depth + 1)
        widths = [min(base * 2 ** i, max_width) for i in range(depth + 1)]
        self.encoders = nn.ModuleList()
        prev = in_channels
        for w in widths:  # the last one is the bottleneck
            self.encoders.append(double_conv(prev, w))
            prev = w
        self.pool = nn.MaxPool2d(2)
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(depth)):
            self.ups.append(pixel_shuffle_up(prev))
            self.decoders.append(double_conv(prev + widths[i], widths[i]))
            prev = widths[i]
        self.head = nn.Sequential(nn.Conv2d(prev, out_channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, encoder in enumerate(self.encoders):
            if i > 0:
                x = self.pool(x)
            x = encoder(x)
            skips.append(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips[:-1])):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return self.head(x)
