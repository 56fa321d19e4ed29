"""The explicit list of everything in the registry (imported once, by engine.registry)."""
from __future__ import annotations

from .classical import CLASSICAL_SPECS
from .registry import register

for _spec in CLASSICAL_SPECS:
    register(_spec)

# Networks: one list per architecture module, registered here by name so the
# bundle sees every import statically.
from .archs import ARCH_SPECS  # noqa: E402

for _spec in ARCH_SPECS:
    register(_spec)
