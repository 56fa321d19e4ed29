"""Run spandrel-imported nets through their descriptor, with spandrel's size and tiling hints.

spandrel's ``ImageModelDescriptor.__call__`` applies each architecture's own wrapper (extra
noise-level channel of FDnCNN/DRUNet, input padding, ...); calling the bare net skips that.
:class:`DescriptorNet` is the nn.Module NetRestorer runs: it pads inputs up to the
descriptor's minimum (and to a square where required), calls the descriptor and crops back.

It is also what a fine-tune trains. Its state dict is the spandrel net's own (no ``net.``
prefix), so saved weights are ones spandrel recognises again, and in train mode it calls the
architecture's wrapper directly: the descriptor's call runs under inference mode, in eval mode.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_EXTRAS_DONE = False
ATTENTION_RADIUS = 32   # transformer/attention families see far: overlaps of 128 px by default
CONV_RADIUS = 16
# Families whose context reaches beyond a few convolutions: window, stripe or channel attention,
# large kernels, global pooling. spandrel's tags do not say it, so the ids are listed here.
WIDE_CONTEXT = frozenset({
    "ATD", "CRAFT", "DAT", "DCTLSA", "DITN", "DRCT", "FDAT", "FFTformer", "GRL", "HAT", "IPT",
    "KBNet", "MoESR", "NAFNet", "OmniSR", "PLKSR", "RetinexFormer", "RGT", "SCUNet", "SeemoRe",
    "SRFormer", "Swin2SR", "SwinIR", "Uformer",
    "M3SNet", "MIRNet2", "MPRNet", "Restormer"})   # spandrel-extra-arches
MAX_ALIGN = 64   # a window grid coarser than this is not worth padding every image to


def register_extra_arches() -> None:
    """Add spandrel-extra-arches' architectures to spandrel's registry, once."""
    global _EXTRAS_DONE
    if _EXTRAS_DONE:
        return
    _EXTRAS_DONE = True
    try:
        import spandrel_extra_arches
    except ImportError:
        return
    try:
        spandrel_extra_arches.install(ignore_duplicates=True)
    except TypeError:   # older releases take no keyword
        spandrel_extra_arches.install()


def extra_arch_ids() -> set[str]:
    """Ids of the architectures that come from spandrel-extra-arches (none if absent)."""
    try:
        import spandrel_extra_arches
    except ImportError:
        return set()
    return {support.architecture.id for support in spandrel_extra_arches.EXTRA_REGISTRY.architectures()}


class DescriptorNet(torch.nn.Module):
    def __init__(self, descriptor) -> None:
        super().__init__()
        self.descriptor = descriptor
        self.net = descriptor.model          # registered, so .to()/.eval() reach the weights
        req = descriptor.size_requirements
        self.minimum, self.square = int(req.minimum or 0), bool(req.square)
        self.scale = descriptor.scale
        self.in_channels = descriptor.input_channels
        self.out_channels = descriptor.output_channels
        # Window attention is not shift-equivariant: tiles must start on the window grid
        # of the whole image, so the windows (of any block) join the size multiple.
        multiple = max(1, int(req.multiple_of or 1))
        self.size_multiple = math.lcm(multiple, window_grid(descriptor.model))
        # The descriptor pads a whole image itself, as spandrel does (OmniSR with zeros, SwinIR
        # mirrored): NetRestorer must not pad it first, or the borders differ from spandrel's.
        self.pads_itself = True
        hint = getattr(descriptor.tiling, "name", str(descriptor.tiling)).lower()
        self.tiles = hint == "supported"
        wide = descriptor.architecture.id in WIDE_CONTEXT or hint != "supported"
        # Nets that work at 1/m resolution (U-Nets, SAFMN's pooled branches) see about 4m px.
        self.receptive_radius = max(ATTENTION_RADIUS if wide else CONV_RADIUS, 4 * multiple)
        self.wide_context = wide     # tiles cannot equal the whole image: bigger tiles
        self.register_state_dict_post_hook(_bare_keys)
        self.register_load_state_dict_pre_hook(_prefixed_keys)
        # a fine-tune keeps the parent's batch-norm statistics: its few examples in small
        # batches would overwrite them (KAIR's DnCNN follows each batch at momentum 0.9)
        self.keep_norm_stats = False

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.keep_norm_stats:
            for m in self.net.modules():
                if getattr(m, "track_running_stats", False) and hasattr(m, "running_mean"):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        th, tw = max(h, self.minimum), max(w, self.minimum)
        if self.square:
            th = tw = max(th, tw)
        training = self.net.training
        if training:   # the descriptor pads to its multiple itself; here it is our job
            th, tw = th + (-th) % self.size_multiple, tw + (-tw) % self.size_multiple
        if (th, tw) != (h, w):
            mode = "reflect" if th - h < h and tw - w < w else "replicate"
            x = F.pad(x, (0, tw - w, 0, th - h), mode=mode)
        y = self._train_call(x) if training else self.descriptor(x)
        s = self.scale
        return y[..., : h * s, : w * s]

    def _train_call(self, x: torch.Tensor) -> torch.Tensor:
        """The architecture's wrapper around its net, with gradients (no clamp either)."""
        call = getattr(self.descriptor, "_call_fn", None)   # spandrel keeps it private
        return call(self.net, x) if call is not None else self.net(x)


def window_grid(model) -> int:
    """Least common multiple of the attention windows (``window_size``, ``split_size``) that
    any block of ``model`` partitions its input into; 1 for nets without windows."""
    grid = 1
    for module in model.modules():
        for attr in ("window_size", "split_size"):
            value = getattr(module, attr, None)
            sizes = value if isinstance(value, (tuple, list)) else [value]
            for size in sizes:
                if isinstance(size, int) and not isinstance(size, bool) and 0 < size <= MAX_ALIGN:
                    grid = math.lcm(grid, size)
    return grid if grid <= MAX_ALIGN else 1


_OWN = "net."   # the one child of DescriptorNet: every key of its state dict starts so


def _bare_keys(module, state, prefix, _meta) -> None:
    """state_dict hook: the spandrel net's keys, as spandrel recognises them."""
    for key in [k for k in state if k.startswith(prefix + _OWN)]:
        state[prefix + key[len(prefix) + len(_OWN):]] = state.pop(key)


def _prefixed_keys(module, state, prefix, *_args) -> None:
    """load_state_dict hook: the net's keys back under their child."""
    for key in [k for k in state if k.startswith(prefix)]:
        state[prefix + _OWN + key[len(prefix):]] = state.pop(key)
