"""Learned FFT-domain deconvolution (seed note 000) and the small SR nets that use it.

Not a transposed convolution: :class:`Deconv2d` learns a small "monic" blur
kernel h (first entry fixed to 1) and divides the input spectrum by the
frequency response of h, i.e. it applies the inverse filter of h. In the
"4-factor" form the response is the product of h and its three flipped copies,
which is real and non-negative (zero phase), so the inverse never shifts the
image.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .specs import DECONV as SPECS  # noqa: F401  (registry entries of this module)


def _pair(k) -> tuple[int, int]:
    return (int(k), int(k)) if isinstance(k, int) else (int(k[0]), int(k[1]))


def kernel_response(kernel: torch.Tensor, size: tuple[int, int], four_factor: bool = True):
    """Half-spectrum (``rfft2``) response of ``kernel`` (..., kh, kw) on a ``size`` grid.

    With ``four_factor`` the responses of h and of its flips along H, W and both
    are multiplied; each flip is rolled by one along its flipped axes so that it
    indexes the negated frequency (h[-n mod N]).
    """
    kh, kw = kernel.shape[-2:]
    padded = F.pad(kernel, (0, size[1] - kw, 0, size[0] - kh))
    response = torch.fft.rfft2(padded)
    if four_factor:
        for dims in ((-2,), (-1,), (-2, -1)):
            flipped = torch.roll(torch.flip(padded, dims), shifts=(1,) * len(dims), dims=dims)
            response = response * torch.fft.rfft2(flipped)
    return response


def _guard(d: torch.Tensor, eps: float) -> torch.Tensor:
    """Replace values with |d| < eps by eps with the same phase (eps alone where d == 0)."""
    mag = d.abs()
    unit = torch.where(mag > 0, d / mag.clamp_min(1e-30), torch.ones_like(d))
    return torch.where(mag < eps, eps * unit, d)


def four_factor_blur(x, kernel, four_factor: bool = True):
    """Circularly blur ``x`` (..., H, W) by ``kernel``: the operation Deconv2d inverts.

    Multiplies the spectrum by the (4-factor) response instead of dividing by it.
    Zero-pad ``x`` first (as the layer does) for a non-circular blur. Accepts
    torch tensors or numpy arrays and returns the same type.
    """
    is_numpy = isinstance(x, np.ndarray)
    xt = torch.as_tensor(x, dtype=torch.float64 if is_numpy else None)
    kt = torch.as_tensor(kernel, dtype=xt.dtype, device=xt.device)
    h, w = xt.shape[-2:]
    y = torch.fft.irfft2(torch.fft.rfft2(xt) * kernel_response(kt, (h, w), four_factor), s=(h, w))
    return y.numpy().astype(x.dtype) if is_numpy else y


class Deconv2d(nn.Module):
    """Learned inverse filter: y = real(IFFT2(FFT2(pad(x)) / H_f)), cropped back.

    ``kernel_size`` (kh, kw): the learned kernel; its first entry is fixed to 1
    and the others start at 0, so the layer starts as the identity.
    ``pad_factor``: the input is zero-padded to pad_factor x its size before the
    (circular) FFT filtering, as in the original experiments.
    ``learn_scale``: multiply the output by a learnable factor (init 0.5).
    Multi-channel form: one kernel per (out, in) pair, outputs summed over inputs
    and divided by sqrt(in_channels), plus an optional bias; ``depthwise`` keeps
    one kernel per channel without mixing (needs in == out). With in = out = 1
    and no bias it is the single-channel layer.
    ``eps``: division guard; where |H_f| < eps it is replaced by eps with the same
    phase. The default 1e-8 is tiny on purpose: the original had no
    regularisation and only stopped at float limits, and the 4-factor response
    of a learned kernel is rarely that small.
    Computed in float32 even under autocast (complex half FFTs are unreliable).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, kernel_size=(4, 4),
                 four_factor: bool = True, pad_factor: int = 2, learn_scale: bool = False,
                 bias: bool = False, depthwise: bool = False, eps: float = 1e-8) -> None:
        super().__init__()
        if depthwise and in_channels != out_channels:
            raise ValueError("depthwise Deconv2d needs in_channels == out_channels")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size)
        self.four_factor, self.pad_factor = bool(four_factor), max(1, int(pad_factor))
        self.depthwise, self.eps = bool(depthwise), float(eps)
        kh, kw = self.kernel_size
        self.taps = nn.Parameter(torch.zeros(out_channels, 1 if depthwise else in_channels,
                                             kh * kw - 1))
        self.out_scale = nn.Parameter(torch.tensor(0.5)) if learn_scale else None
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def kernel(self) -> torch.Tensor:
        """The full monic kernel, shape (out, in or 1, kh, kw)."""
        one = torch.ones(*self.taps.shape[:2], 1, dtype=self.taps.dtype, device=self.taps.device)
        return torch.cat([one, self.taps], dim=-1).view(*self.taps.shape[:2], *self.kernel_size)

    @torch.no_grad()
    def set_kernel(self, kernel) -> None:
        """Set every kernel to ``kernel`` (kh, kw), divided by its first entry to make it monic."""
        k = torch.as_tensor(kernel, dtype=self.taps.dtype).reshape(-1)
        self.taps.copy_((k[1:] / k[0]).expand_as(self.taps))

    def padded_size(self, h: int, w: int) -> tuple[int, int]:
        kh, kw = self.kernel_size
        return max(self.pad_factor * h, kh), max(self.pad_factor * w, kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            h, w = x.shape[-2:]
            size = self.padded_size(h, w)
            spectrum = torch.fft.rfft2(x, s=size)  # s= zero-pads at the bottom/right
            inverse = 1.0 / _guard(kernel_response(self.kernel().float(), size, self.four_factor),
                                   self.eps)
            if self.depthwise:
                spectrum = spectrum * inverse[:, 0]
            else:
                spectrum = torch.einsum("nipq,oipq->nopq", spectrum, inverse)
                spectrum = spectrum / math.sqrt(self.in_channels)
            y = torch.fft.irfft2(spectrum, s=size)[..., :h, :w]
            if self.out_scale is not None:
                y = y * self.out_scale.float()
            if self.bias is not None:
                y = y + self.bias.float().view(1, -1, 1, 1)
        return y.to(dtype)

    def count_macs(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Rough multiply-accumulates: FFTs of input, output and kernels, plus the products."""
        p, q = self.padded_size(*x.shape[-2:])
        n, fft = p * q, p * q * math.log2(max(p * q, 2)) / 2
        pairs = self.out_channels * (1 if self.depthwise else self.in_channels)
        kernel_ffts = (4 if self.four_factor else 1) * pairs * fft
        return x.shape[0] * ((self.in_channels + self.out_channels) * fft + pairs * n) + kernel_ffts


class DeconvNet(nn.Module):
    """Restoration model built on :class:`Deconv2d` (registry id ``deconv2d``).

    ``mode``: "shared" (one kernel for all channels: the same blur everywhere),
    "channelwise" (one kernel per channel) or "full" (the multi-channel layer,
    with bias). "shared" and "channelwise" need in_channels == out_channels and
    start as the identity.
    ``layer="conv"`` swaps the inverse filter for a plain zero-padded ``kernel_size``
    convolution (with bias), the baseline note 000 compares it with.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, kernel_size=(4, 4),
                 mode: str = "shared", four_factor: bool = True, pad_factor: int = 2,
                 learn_scale: bool = False, eps: float = 1e-8, layer: str = "deconv") -> None:
        super().__init__()
        if mode not in ("shared", "channelwise", "full"):
            raise ValueError(f"mode must be shared, channelwise or full, not {mode!r}")
        if layer not in ("deconv", "conv"):
            raise ValueError(f"layer must be 'deconv' or 'conv', not {layer!r}")
        if mode != "full" and in_channels != out_channels:
            raise ValueError(f"mode {mode!r} needs in_channels == out_channels")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), 1
        self.size_multiple, self.fixed_size, self.mode = 1, None, mode
        self.receptive_radius = 8 * max(_pair(kernel_size))  # the inverse filter decays fast
        common = dict(kernel_size=kernel_size, four_factor=four_factor, pad_factor=pad_factor,
                      learn_scale=learn_scale, eps=eps)
        if layer == "conv":
            one = mode == "shared"
            self.deconv = nn.Conv2d(1 if one else in_channels, 1 if one else out_channels,
                                    _pair(kernel_size), padding="same",
                                    groups=in_channels if mode == "channelwise" else 1)
        elif mode == "shared":
            self.deconv = Deconv2d(1, 1, **common)
        elif mode == "channelwise":
            self.deconv = Deconv2d(in_channels, in_channels, depthwise=True, **common)
        else:
            self.deconv = Deconv2d(in_channels, out_channels, bias=True, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "shared":
            n, c, h, w = x.shape
            return self.deconv(x.reshape(n * c, 1, h, w)).reshape(n, c, h, w)
        return self.deconv(x)


def _first_layer(kind: str, in_channels: int, width: int, conv_kernel: int, deconv_kernel):
    if kind == "conv":
        return nn.Conv2d(in_channels, width, conv_kernel, padding=conv_kernel // 2)
    if kind == "deconv":
        return Deconv2d(in_channels, width, deconv_kernel, bias=True)
    raise ValueError(f"first_layer must be 'conv' or 'deconv', not {kind!r}")


class SRCNN(nn.Module):
    """SRCNN 9-5-5 (Dong et al.) on a bicubic-upscaled input.

    The bicubic upscale by ``scale`` happens inside ``forward`` so callers pass
    the low-resolution image; with scale=1 the input is taken as already
    upscaled. No weight depends on ``scale``. Zero "same" padding keeps the size.
    ``first_layer="deconv"`` swaps the 9x9 conv for a multi-channel Deconv2d.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 2,
                 first_layer: str = "conv", n1: int = 64, n2: int = 32,
                 deconv_kernel=(4, 4)) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), int(scale)
        self.size_multiple, self.fixed_size = 1, None
        self.receptive_radius = 8 // self.scale + 2 if first_layer == "conv" else 32
        self.body = nn.Sequential(
            _first_layer(first_layer, in_channels, n1, 9, deconv_kernel), nn.ReLU(inplace=True),
            nn.Conv2d(n1, n2, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(n2, out_channels, 5, padding=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale > 1:
            x = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return self.body(x)


class ESPCN(nn.Module):
    """ESPCN (Shi et al.): 5x5 and 3x3 tanh convs at low resolution, then a 3x3
    conv to out_channels * scale**2 and a pixel shuffle (scale 2, 3 or 4)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, scale: int = 2,
                 first_layer: str = "conv", n1: int = 64, n2: int = 32,
                 deconv_kernel=(4, 4)) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError("ESPCN scale must be 2, 3 or 4")
        self.in_channels, self.out_channels, self.scale = int(in_channels), int(out_channels), int(scale)
        self.size_multiple, self.fixed_size = 1, None
        self.receptive_radius = 4 if first_layer == "conv" else 32
        self.body = nn.Sequential(
            _first_layer(first_layer, in_channels, n1, 5, deconv_kernel), nn.Tanh(),
            nn.Conv2d(n1, n2, 3, padding=1), nn.Tanh(),
            nn.Conv2d(n2, out_channels * scale ** 2, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
