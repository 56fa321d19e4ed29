"""Cached backend measurements: where they live (the user cache dir, keyed by the weights'
sha256 and the device), what they depend on, when they no longer hold, and what a model's
card shows of them. Reading them needs no torch and no runtime.

Which backend wins depends on the setup and on the load at the moment of measuring, so a
measurement keeps its ``context`` (CPU, threads, runtime versions, whether the machine was
busy) and is taken again (``stale``) when the setup changed, when it is older than
``MAX_AGE_DAYS``, or when it was taken on a busy machine and the machine is quiet now.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .atomic import write_json
from .backends import NAMES

log = logging.getLogger("restorelab.backends")

CACHE_FILE = "backend_checks.json"
MAX_AGE_DAYS = 30
BUSY_LOAD, QUIET_LOAD = 1.0, 0.5    # 1-minute load average per core
RUNTIMES = ("torch", "onnxruntime", "openvino")


def stamp() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def context(device: str) -> dict:
    """What a measurement depends on: the device (CPU model on the CPU), torch's threads,
    the runtimes' versions, and whether the machine was busy."""
    from importlib import metadata

    import torch

    versions = {}
    for name in RUNTIMES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    return {"device": _device_name(device), "threads": torch.get_num_threads(),
            "versions": versions, "busy": load_per_core() >= BUSY_LOAD}


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return f"{line.partition(':')[2].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    import platform

    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def load_per_core() -> float:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:      # not on this platform
        return 0.0


def stale(check: dict, device: str) -> str:
    """Why a cached measurement should be taken again ('' when it still holds)."""
    old = check.get("context")
    if not isinstance(old, dict):
        return "the measurement predates its context"
    now = context(device)
    for key in ("device", "threads"):
        if old.get(key) != now[key]:
            return f"{key} changed ({old.get(key)} -> {now[key]})"
    for name, version in now["versions"].items():
        if (old.get("versions") or {}).get(name, "") != version:
            return f"{name} changed ({(old.get('versions') or {}).get(name) or 'none'} -> {version or 'none'})"
    try:
        age = _dt.datetime.now() - _dt.datetime.fromisoformat(str(check.get("measured", "")))
    except ValueError:
        return "the measurement has no date"
    if age.days > MAX_AGE_DAYS:
        return f"measured {age.days} days ago"
    if old.get("busy") and load_per_core() < QUIET_LOAD:
        return "measured on a busy machine, which is quiet now"
    return ""


# --- the cache: user cache dir, keyed by weights sha256 + device -----------------------------

def _cache_path() -> Path:
    return paths.cache_dir() / CACHE_FILE


def _read_cache() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cache_key(restorer) -> str | None:
    sha = getattr(restorer, "sha256", "")
    return f"{sha}:{restorer.device}" if sha else None


def cached_check(restorer) -> dict | None:
    key = cache_key(restorer)
    return _read_cache().get(key) if key else None


def store_check(restorer, check: dict) -> None:
    """Keep a measurement for the next runs (not for nets without a model card's sha256)."""
    key = cache_key(restorer)
    if key is None:
        return
    data = _read_cache()
    data[key] = check
    try:
        write_json(_cache_path(), data)
    except OSError as err:
        log.warning("backend measurement not cached: %s", err)


# --- what a model's card shows ---------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    """One cached measurement of a model on a device, as a card shows it."""
    device: str
    chosen: str
    ms_per_mp: dict[str, float]     # backends that matched eager fp32, as measured
    measured: str                   # when (ISO time, '' unknown)

    @property
    def speedup(self) -> float:
        """Eager fp32 time over the chosen backend's (1.0 when either is missing)."""
        chosen, eager = self.ms_per_mp.get(self.chosen), self.ms_per_mp.get("eager")
        return eager / chosen if chosen and eager else 1.0


def measurements(sha256: str) -> list[Measured]:
    """The cached measurements of the model with these weights, one per device measured.
    Reads only the cache file (no torch, no runtime)."""
    out = []
    for key, check in _read_cache().items() if sha256 else ():
        sha, _, device = key.partition(":")
        if sha != sha256 or not isinstance(check, dict):
            continue
        ms = {n: float(r["ms_per_mp"]) for n, r in check.items() if n in NAMES
              and isinstance(r, dict) and r.get("ok") and "ms_per_mp" in r}
        out.append(Measured(device, str(check.get("chosen", "eager")), ms,
                            str(check.get("measured", ""))))
    return out


def card_info(card: dict) -> dict[str, str]:
    """The cached measurements of a model (by its card's sha256), one line per device."""
    out = {}
    for m in measurements(str(card.get("sha256") or "")):
        rows = ", ".join(f"{n} {v:.0f}" for n, v in m.ms_per_mp.items())
        out[f"backend ({m.device})"] = (f"{m.chosen}, x{m.speedup:.2f} vs eager fp32 "
                                        f"(ms/MP: {rows}; {m.measured})")
    return out

