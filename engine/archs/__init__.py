"""Network architectures, one module per family.

``ARCH_SPECS`` lists every registry entry; it is importable without torch
(the entries live in :mod:`engine.archs.specs`). Each family module
(deconv, autoencoders, unet, dilated, srresnet, rdn, discriminators, dncnn,
fsrcnn, nafnet) defines its nn.Module classes and re-exports its ``SPECS``.
"""
from __future__ import annotations

from .specs import ARCH_SPECS

__all__ = ["ARCH_SPECS"]
