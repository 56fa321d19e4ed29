"""FSRCNN (Dong et al. 2016): fast SR working at low resolution.

Feature extraction 5x5 (d), shrink 1x1 (s), m mapping 3x3 convs (s), expand
1x1 (d), each followed by PReLU, then a 9x9 transposed conv with stride
``scale``. The paper's numbers (d=56, s=12, m=4, ~12k parameters) are for
the Y channel (in = out = 1); the colour default has ~25k.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .specs import FSRCNN as SPECS  # noqa: F401  (registry entries of this module)


class FSRCNN(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 2,
                 d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError("FSRCNN scale must be 2, 3 or 4")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), int(scale)
        self.size_multiple, self.fixed_size, self.receptive_radius = 1, None, 2 + m + 3
        self.radius_exact = True
        layers = [nn.Conv2d(in_channels, d, 5, padding=2), nn.PReLU(d),
                  nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        # output size = in * scale: (H-1)*scale - 2*4 + 9 + (scale-1)
        self.deconv = nn.ConvTranspose2d(d, out_channels, 9, stride=scale, padding=4,
                                         output_padding=scale - 1)
        nn.init.normal_(self.deconv.weight, std=0.001)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))
