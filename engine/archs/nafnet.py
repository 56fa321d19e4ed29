"""A small NAFNet-style restorer (Chen et al. 2022, "Simple Baselines for Image Restoration").

U-shaped: a 3x3 intro conv to ``width``; per encoder level some NAF blocks
then a 2x2 stride-2 conv doubling the channels; middle blocks; per decoder
level a 1x1 conv + PixelShuffle(2) halving the channels, the skip added, NAF
blocks; a 3x3 conv back to the image, added to the input.

NAF block: LayerNorm -> 1x1 (2c) -> 3x3 depthwise -> SimpleGate (split in two
halves, multiply) -> simplified channel attention (global average, 1x1,
multiply) -> 1x1, scaled residual; then LayerNorm -> 1x1 (2c) -> SimpleGate ->
1x1, scaled residual. The residual scales start at 0, so every block starts
as the identity.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import NAFNET as SPECS  # noqa: F401  (registry entries of this module)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = LayerNorm2d(c), LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.dwconv = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.gate = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        self.conv2 = nn.Conv2d(c, c, 1)
        self.ffn1 = nn.Conv2d(c, 2 * c, 1)
        self.ffn2 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gate(self.dwconv(self.conv1(self.norm1(x))))
        y = self.conv2(y * self.sca(y))
        x = x + self.beta * y
        y = self.ffn2(self.gate(self.ffn1(self.norm2(x))))
        return x + self.gamma * y


class NAFNet(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 16,
                 enc_blocks=(1, 1, 1), middle_blocks: int = 1, dec_blocks=(1, 1, 1)) -> None:
        super().__init__()
        enc_blocks, dec_blocks = [int(n) for n in enc_blocks], [int(n) for n in dec_blocks]
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError("enc_blocks and dec_blocks need the same number of levels")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 2 ** len(enc_blocks), None
        self.receptive_radius = 4 * 2 ** len(enc_blocks)  # plus global channel attention
        self.residual = in_channels == out_channels
        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
            c *= 2
        self.middle = nn.Sequential(*[NAFBlock(c) for _ in range(int(middle_blocks))])
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
        self.ending = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(up(x) + skip)
        y = self.ending(x)
        return y + inp if self.residual else y
