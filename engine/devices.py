"""Device selection: auto picks CUDA, then MPS, then CPU; the user may force one."""
from __future__ import annotations

import os

from .errors import ConfigError

CHOICES = ("auto", "cpu", "cuda", "mps")


def available() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.insert(0, "mps")
    return sorted(found, key=("cuda", "mps", "cpu").index)


def resolve(choice: str | None = "auto") -> str:
    """Return a torch device string for a user choice; a missing device is a clear error."""
    choice = (choice or "auto").lower()
    if choice not in CHOICES and not choice.startswith("cuda:"):
        raise ConfigError(f"unknown device '{choice}' (choose from {', '.join(CHOICES)})")
    found = available()
    if choice == "auto":
        return found[0]
    if choice.split(":")[0] not in found:
        raise ConfigError(f"device '{choice}' is not available here (available: {', '.join(found)})")
    return choice


def set_threads(n: int | None) -> int:
    """Set torch's intra-op thread count (None or 0: leave the default). Returns the count in use."""
    import torch

    if n:
        torch.set_num_threads(max(1, int(n)))
    return torch.get_num_threads()


def describe(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"CUDA: {torch.cuda.get_device_name(torch.device(device))}"
    if device == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads of {os.cpu_count()})"


def cpu_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AMX tiles or AVX-512 bf16)."""
    import torch

    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def fast_bf16(device: str) -> bool:
    """Whether bf16 runs natively (faster than fp32) on ``device``."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and cpu_bf16()

