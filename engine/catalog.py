"""The explicit list of everything in the registry (imported once, by engine.registry)."""
from __future__ import annotations

from .classical import CLASSICAL_SPECS
from .registry import ArchSpec, register

for _spec in CLASSICAL_SPECS:
    register(_spec)

# Networks: one list per architecture module, registered here by name so the
# bundle sees every import statically.
from .archs import ARCH_SPECS  # noqa: E402

for _spec in ARCH_SPECS:
    register(_spec)

# Community models imported through spandrel: rebuilt from their weights.
register(ArchSpec(
    id="imported", family="imported", title="Imported model (spandrel)",
    tasks=("super-resolution", "denoise"), builder="engine.importer:build_imported",
    defaults={"architecture": "", "scale": 1, "in_channels": 3, "out_channels": 3,
              "size_multiple": 1, "bytes_per_pixel": 0.0},   # 0: not measured at import
    precisions=("fp32", "bf16", "fp16"), kind="imported",
    description="a .pth/.safetensors model of another project, detected by spandrel"))
