"""Residual U-Net restorer (DRUNet-style) with an optional level-map input.

Zhang et al.'s DRUNet (2021): plain residual blocks at each scale, strided
convs down and transposed convs up, skips added, no normalisation, and a
noise-level map as an extra input channel (as in FFDNet). Most of the work is
done at 1/2 and 1/4 resolution, which buys a large receptive field cheaply:
on a CPU it gives far more quality per FLOP than a full-resolution DnCNN.

``level`` says what the last input channel holds:

- ``"none"``: no map; the net sees the image only.
- ``"noise"``: the noise sigma / 255 of the input, or ``UNKNOWN`` (-0.1) when
  the user does not know it (``engine.levels``); the net was trained on both, so it works blind
  and non-blind (FFDNet-style).
- ``"blur"``: the Gaussian blur sigma / 4 of the input. The net first applies
  a Wiener deconvolution for that sigma (a finite spatial kernel, so tiles stay
  exact) and learns a residual on top of it, seeing the blurred input, the
  Wiener estimate and the map. It starts where the classical filter ends.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..levels import BLUR_UNIT
from .specs import RESUNET as SPECS  # noqa: F401  (registry entries of this module)

WIENER_RADIUS = 15    # half size of the spatial Wiener kernel (sigma <= 3.5 decays within it)


def wiener_kernels(sigma: torch.Tensor, nsr: float, radius: int = WIENER_RADIUS) -> torch.Tensor:
    """Spatial Wiener deconvolution kernels (N, 1, 2r+1, 2r+1) for Gaussian blurs of ``sigma`` (N,).

    The kernel is (1 + nsr) K / (K^2 + nsr) for the discrete Gaussian's spectrum K,
    taken back to space on a 4r grid and cut to 2r+1 with a smooth taper.
    """
    n = 4 * radius
    coords = torch.arange(n, dtype=torch.float64, device=sigma.device)
    coords = torch.minimum(coords, n - coords)                       # circular distance to 0
    s = sigma.double().clamp(min=0.05).view(-1, 1, 1)
    g = torch.exp(-0.5 * (coords.view(1, -1, 1) ** 2 + coords.view(1, 1, -1) ** 2) / s ** 2)
    g = g / g.sum(dim=(1, 2), keepdim=True)
    spectrum = torch.fft.rfft2(g).real                               # symmetric psf: real spectrum
    gain = (1.0 + nsr) * spectrum / (spectrum ** 2 + nsr)
    k = torch.fft.irfft2(gain, s=(n, n))
    k = torch.roll(k, shifts=(radius, radius), dims=(1, 2))[:, : 2 * radius + 1, : 2 * radius + 1]
    t = torch.arange(-radius, radius + 1, dtype=torch.float64, device=sigma.device)
    taper = torch.cos(0.5 * math.pi * t.abs() / (radius + 1)) ** 0.5
    k = k * taper.view(1, -1, 1) * taper.view(1, 1, -1)
    k = k / k.sum(dim=(1, 2), keepdim=True)                          # keep the mean
    return k.float().unsqueeze(1)


def wiener_apply(img: torch.Tensor, sigma: torch.Tensor, nsr: float) -> torch.Tensor:
    """Per-sample Wiener deconvolution of an NCHW batch (reflect-padded)."""
    n, c, h, w = img.shape
    r = WIENER_RADIUS
    k = wiener_kernels(sigma.to(img.device), nsr).to(img.dtype)      # (N, 1, k, k)
    mode = "reflect" if r < h and r < w else "replicate"
    x = F.pad(img, (r, r, r, r), mode=mode).reshape(1, n * c, h + 2 * r, w + 2 * r)
    weight = k.repeat_interleave(c, dim=0)                           # (N*C, 1, k, k)
    return F.conv2d(x, weight, groups=n * c).reshape(n, c, h, w)


class ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x), inplace=True))


class ResUNet(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, widths=(32, 64, 128),
                 blocks: int = 2, level: str = "none", nsr: float = 0.01) -> None:
        super().__init__()
        if level not in ("none", "noise", "blur"):
            raise ValueError("level must be 'none', 'noise' or 'blur'")
        widths = [int(w) for w in widths]
        self.level, self.nsr = level, float(nsr)
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.image_channels = self.in_channels - (level != "none")
        # the output is a residual on the input when it has the input's channels (restoring);
        # a filter net (e.g. RGB -> Sobel edges) predicts its output directly
        self.residual = self.image_channels == self.out_channels
        if level != "none" and not self.residual:
            raise ValueError(f"with level='{level}' the input is {self.out_channels} image channels "
                             f"plus the map: in_channels must be {self.out_channels + 1}")
        self.size_multiple, self.fixed_size = 2 ** (len(widths) - 1), None
        # context one output pixel sees: 3x3 convs at each scale, twice (down and up)
        rf = sum(2 * blocks * 2 ** i for i in range(len(widths) - 1)) * 2 + 2 * blocks * 2 ** (len(widths) - 1)
        self.receptive_radius = int(rf + 2 + (WIENER_RADIUS if level == "blur" else 0))
        self.radius_exact = level != "blur"   # the Wiener prior works on the whole tile
        # working memory of a forward pass per input pixel, fp32: about six live activations at
        # each scale (measured 0.94 KB/px for widths 32-64-128 in fp32, 1.04 with the Wiener
        # prior); sizes the tiles (engine.descriptor.NetRestorer.bytes_per_pixel)
        self.working_bytes_per_pixel = 4.0 * (6 * sum(w / 4 ** i for i, w in enumerate(widths))
                                              + 2 * (self.in_channels + self.out_channels))
        stem_in = self.in_channels + (self.image_channels if level == "blur" else 0)
        self.head = nn.Conv2d(stem_in, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        self.enc = nn.ModuleList()
        self.dec = nn.ModuleList()
        for a, b in zip(widths[:-1], widths[1:]):
            self.enc.append(nn.Sequential(*[ResBlock(a) for _ in range(blocks)]))
            self.down.append(nn.Conv2d(a, b, 2, stride=2))
            self.up.append(nn.ConvTranspose2d(b, a, 2, stride=2))
            self.dec.append(nn.Sequential(*[ResBlock(a) for _ in range(blocks)]))
        self.body = nn.Sequential(*[ResBlock(widths[-1]) for _ in range(blocks)])
        self.tail = nn.Conv2d(widths[0], self.out_channels, 3, padding=1)
        if self.residual:                       # start as the identity (or as Wiener)
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        img = x[:, : self.image_channels]
        feats = x
        base = img
        if self.level == "blur":
            sigma = x[:, -1].float().mean(dim=(1, 2)) * BLUR_UNIT
            base = wiener_apply(img.float(), sigma, self.nsr).to(img.dtype)
            feats = torch.cat([img, base, x[:, -1:]], dim=1)
        h = self.head(feats)
        skips = []
        for enc, down in zip(self.enc, self.down):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.body(h)
        for up, dec, skip in zip(reversed(self.up), reversed(self.dec), reversed(skips)):
            h = dec(up(h) + skip)
        out = self.tail(h)
        return base + out if self.residual else out
