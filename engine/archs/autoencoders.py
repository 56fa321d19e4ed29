"""Autoencoders from seed notes 001 (DAE) and 002 (the Sobel conv autoencoder)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .specs import AUTOENCODERS as SPECS  # noqa: F401  (registry entries of this module)


def _block(conv: nn.Module, channels: int, act: nn.Module) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), act]


class ConvAE(nn.Module):
    """Note 002: conv 3->16 k3, conv 16->32 k3, convT 32->16 k3, convT 16->1 k3,
    BatchNorm + ReLU after each, no padding. Each unpadded conv takes one pixel
    off every border and each transposed conv puts it back, so any input size
    gives an output of the same size. Default output: 1 channel (the Sobel target).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size, self.receptive_radius = 1, None, 4
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.net = nn.Sequential(
            *_block(nn.Conv2d(in_channels, width, 3), width, relu()),
            *_block(nn.Conv2d(width, 2 * width, 3), 2 * width, relu()),
            *_block(nn.ConvTranspose2d(2 * width, width, 3), width, relu()),
            *_block(nn.ConvTranspose2d(width, out_channels, 3), out_channels, relu()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DAE(nn.Module):
    """Note 001's (denoising) autoencoder, native at 100x100.

    Encoder: 100 -> 32 -> 8 -> 4 -> 2 -> 1 with a 32-d latent (BN + LeakyReLU,
    Tanh on the latent); decoder mirrors it with transposed convs, Sigmoid out.
    Other input sizes are resized (antialiased bilinear) to 100x100 around the
    net and back, so ``size`` only states the input size the restorer pads to.
    """

    NATIVE = 100

    def __init__(self, in_channels: int = 3, out_channels: int = 3, size: int = 100) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 1, int(size)
        self.receptive_radius = int(size)  # the 1x1 latent sees the whole image
        lrelu = nn.LeakyReLU
        self.encoder = nn.Sequential(
            *_block(nn.Conv2d(in_channels, 4, 7, stride=3), 4, lrelu()),      # 100 -> 32
            *_block(nn.Conv2d(4, 8, 8, stride=4, padding=2), 8, lrelu()),      # -> 8
            *_block(nn.Conv2d(8, 16, 4, stride=2, padding=1), 16, lrelu()),    # -> 4
            *_block(nn.Conv2d(16, 32, 4, stride=2, padding=1), 32, lrelu()),   # -> 2
            *_block(nn.Conv2d(32, 32, 4, stride=2, padding=1), 32, nn.Tanh()))  # -> 1
        self.decoder = nn.Sequential(
            *_block(nn.ConvTranspose2d(32, 24, 4, stride=2, padding=1), 24, lrelu()),  # 1 -> 2
            *_block(nn.ConvTranspose2d(24, 12, 4, stride=2, padding=1), 12, lrelu()),  # -> 4
            *_block(nn.ConvTranspose2d(12, 8, 4, stride=2, padding=1), 8, lrelu()),    # -> 8
            *_block(nn.ConvTranspose2d(8, 4, 8, stride=4, padding=2), 4, lrelu()),     # -> 32
            *_block(nn.ConvTranspose2d(4, 4, 7, stride=3), 4, lrelu()),                # -> 100
            *_block(nn.ConvTranspose2d(4, out_channels, 3, padding=1), out_channels, nn.Sigmoid()))

    def _to_native(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (self.NATIVE, self.NATIVE):
            return x
        return F.interpolate(x, size=(self.NATIVE, self.NATIVE), mode="bilinear",
                             align_corners=False, antialias=True)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The (N, 32, 1, 1) latent code."""
        return self.encoder(self._to_native(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.decoder(self.encode(x))
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y


class DAEGroupNorm(nn.Module):
    """Note 001's variant: 3x3 convs + GroupNorm + Mish, resizing 100 -> 50 -> 10
    -> 1 and back up 5 -> 10 -> 40 -> 80 -> 100 (sizes scaled by size/100).

    Kept as researched: nearest resizing and a Tanh output (both blamed for its
    weaker results) are the defaults; ``resize_mode`` ("nearest", "bilinear",
    "area") and ``out_activation`` ("tanh", "sigmoid") change them. The 1x1
    conv with padding 1 (10 -> 12) is also the original's. The output is always
    size x size.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, size: int = 100,
                 resize_mode: str = "nearest", out_activation: str = "tanh") -> None:
        super().__init__()
        if out_activation not in ("tanh", "sigmoid"):
            raise ValueError("out_activation must be 'tanh' or 'sigmoid'")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size = 1, int(size)
        self.receptive_radius = int(size)

        def resize(s: int) -> nn.Module:
            return nn.Upsample(size=max(1, round(s * size / 100)), mode=resize_mode)

        def block(conv: nn.Module, ch: int, groups: int, act: bool = True) -> list[nn.Module]:
            return [conv, nn.GroupNorm(groups, ch)] + ([nn.Mish()] if act else [])

        conv, convt = nn.Conv2d, nn.ConvTranspose2d
        self.encoder = nn.Sequential(
            *block(conv(in_channels, 4, 3, padding=1), 4, 2), resize(50),
            *block(conv(4, 8, 3, padding=1), 8, 2), resize(10),
            *block(conv(8, 16, 1, padding=1), 16, 4),
            *block(conv(16, 32, 3, padding=1), 32, 8), resize(1),
            *block(conv(32, 32, 3, padding=1), 32, 8, act=False), nn.Tanh())
        self.decoder = nn.Sequential(
            *block(convt(32, 24, 3, padding=1), 24, 4), resize(5),
            *block(convt(24, 12, 3, padding=1), 12, 4), resize(10),
            *block(convt(12, 8, 3, padding=1), 8, 2), resize(40),
            *block(convt(8, 4, 3, padding=1), 4, 2), resize(80),
            *block(convt(4, 4, 3, padding=1), 4, 2), resize(100),
            *block(convt(4, out_channels, 3, padding=1), out_channels, out_channels, act=False),
            nn.Tanh() if out_activation == "tanh" else nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
