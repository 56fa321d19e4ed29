"""Which backend a restorer's tiles run on: checked, measured, chosen and cached.

Every backend other than eager is checked against eager fp32 on a fixed random tile (largest
difference at most ``TOLERANCE``) before it is used. One that cannot load or does not match
falls back to eager with one logged reason, never an exception.

``measure`` times the candidates once on a tile and keeps the result in the user cache dir,
keyed by the weights' sha256 and the device (the cards of shipped models are read-only).
``backend="auto"`` measures when nothing is cached yet; the default (``None``) runs the cached
choice when there is one and eager otherwise, except that the engine asks for "auto" on a big
CPU image (``default_choice``), where one measurement of a few seconds pays for itself. The choice is the fastest candidate that matched, among those whose one-off
setup (export, compilation) is short enough to pay in every new process. Once chosen, the
candidates that lost are let go, so their runtimes do not stay loaded beside the winner.
The candidates are timed in turns, so a load that comes and goes weighs on all of them alike;
when a cached measurement no longer holds (:mod:`engine.backend_cache`), "auto" and the big-image
default measure again.
"""
from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .backend_cache import cached_check, context, stale, stamp, store_check
from .backends import BACKENDS, NAMES, Chosen, Unavailable, first_line, onnx_key, random_tile
from .errors import ConfigError

log = logging.getLogger("restorelab.backends")

CHOICES = ("auto",) + NAMES
AUTO_MEASURES = ("eager", "onnxruntime", "openvino")  # compile takes minutes: measured on request
TOLERANCE = 1e-4        # largest |backend - eager fp32| on the check tile
SETUP_LIMIT_S = 10.0    # a backend slower than this to set up is not chosen automatically
# With nothing measured yet, a CPU restore of an image this big measures the backends first
# (8-11 s here, once per model and device, then cached): at eager speed such an image takes
# a minute or more, and ONNX Runtime / OpenVINO ran the shipped nets 2-3x faster.
AUTO_MEASURE_PIXELS = 2_000_000
CHECK_SIZE = (80, 56)   # the random check tile, deliberately not the export's 64x64
MEASURE_SIDE = 256

def max_abs_diff(call: Callable, net, x) -> float:
    """Largest |call(x) - net(x)| with the net in fp32 (inf when the shapes differ)."""
    import torch

    with torch.inference_mode():
        ref = net(x).float()
        y = torch.as_tensor(call(x)).float().to(ref.device)
    if y.shape != ref.shape:
        return float("inf")
    return float((y - ref).abs().max())


# --- a restorer's prepared backends ----------------------------------------------------------

@dataclass
class _Ready:
    call: Callable | None
    max_abs_diff: float | None
    reason: str             # why it cannot be used ('' when it can)
    setup_s: float
    reported: bool = False


_ready: "weakref.WeakKeyDictionary[Any, dict[str, _Ready]]" = weakref.WeakKeyDictionary()


def is_net(restorer) -> bool:
    return hasattr(restorer, "module") and hasattr(restorer, "forward")


def _net_shape(restorer, h: int, w: int) -> tuple[int, int, int, int]:
    """An NCHW shape the net takes directly (level-map channel included, size multiple met)."""
    if restorer.fixed_size:
        h = w = restorer.fixed_size
    else:
        m = max(restorer.size_multiple, 1)
        h, w = -(-h // m) * m, -(-w // m) * m
    channels = restorer.in_channels + (restorer.level != "none")
    return (1, channels, h, w)


def check_shape(restorer, tile: int) -> tuple[int, int, int, int]:
    return _net_shape(restorer, min(tile, CHECK_SIZE[0]), min(tile, CHECK_SIZE[1]))


def prepared(restorer, name: str, tile: int) -> _Ready:
    """``name`` prepared for this restorer and checked against eager fp32 (once per restorer)."""
    cache = _ready.setdefault(restorer, {})
    if name in cache:
        return cache[name]
    device = str(restorer.device)
    start = time.perf_counter()
    call, diff, reason = None, None, ""
    try:
        backend = BACKENDS[name]
        if backend.needs_onnx:
            from .export import onnx_blocker

            blocker = onnx_blocker(restorer.spec, restorer.kwargs)
            if blocker:
                raise Unavailable(f"{restorer.id} {blocker}")
        key = onnx_key(restorer) if backend.needs_onnx else ""
        call = backend.prepare(restorer.module, check_shape(restorer, tile), device, key)
        diff = 0.0 if name == "eager" else max_abs_diff(
            call, restorer.module, random_tile(check_shape(restorer, tile), device))
        if not diff <= TOLERANCE:
            reason = f"differs from eager fp32 by {diff:.2g} (more than {TOLERANCE:g})"
    except Unavailable as err:
        reason = str(err)
    except Exception as err:     # a backend's own failure is a reason to fall back, not to stop
        reason = f"{type(err).__name__}: {first_line(err)}"
    ready = _Ready(None if reason else call, diff, reason, time.perf_counter() - start)
    cache[name] = ready
    return ready


def release(restorer, keep: str) -> None:
    """Let go of the backends prepared for ``restorer`` other than ``keep`` (and eager)."""
    cache = _ready.get(restorer, {})
    for name in [n for n in cache if n not in (keep, "eager")]:
        del cache[name]


def default_choice(restorer, pixels: int) -> str | None:
    """What ``select`` gets when the user forced nothing: "auto" (measure now) for a big
    image on the CPU with no measurement cached, else None (the cached choice or eager)."""
    if pixels >= AUTO_MEASURE_PIXELS and is_net(restorer) and \
            str(getattr(restorer, "device", "cpu")).startswith("cpu"):
        check = cached_check(restorer)
        if check is None or stale(check, str(restorer.device)):
            return "auto"
    return None


def select(restorer, want: str | None, tile: int, precision: str) -> Chosen:
    """The backend the tiles of ``restorer`` run on.

    ``want``: a name of NAMES (forced; non-eager backends run fp32), "auto" (the measured
    choice, measuring now if nothing is cached) or None (the cached choice, else eager).
    With bf16/fp16 the eager net keeps that precision unless a cached measurement found an
    fp32 backend faster than it.
    """
    if want is not None and want not in CHOICES:
        raise ConfigError(f"unknown backend '{want}' (choose from {', '.join(CHOICES)})")
    eager = Chosen("eager", None, precision)
    if not is_net(restorer) or want == "eager":
        return eager
    check = None
    if want in (None, "auto"):
        check = cached_check(restorer)
        why = "nothing measured yet" if check is None else stale(check, str(restorer.device))
        if why and want == "auto":
            log.info("measuring backends for %s: %s", restorer.id, why)
            check = measure(restorer, tile)
            store_check(restorer, check)
        name = (check or {}).get("chosen", "eager")
        if not isinstance((check or {}).get(name), dict) or "ms_per_mp" not in check[name]:
            return eager
        lower = (check or {}).get(f"eager-{precision}", {}).get("ms_per_mp")
        if name == "eager" or (precision != "fp32" and lower is not None
                               and lower <= check[name]["ms_per_mp"]):
            return eager
    else:
        name = want
    ready = prepared(restorer, name, tile)
    first = not ready.reported
    ready.reported = True
    if ready.reason:
        text = f"backend {name} not used for {restorer.id}: {ready.reason}; running eager"
        if first:
            log.warning(text)
        return Chosen("eager", None, precision, text if first else "", "warning")
    speed = ""
    if check and name in check:
        speed = (f", {check[name]['ms_per_mp']:.0f} ms/MP measured vs eager fp32 "
                 f"{check['eager']['ms_per_mp']:.0f}")
    return Chosen(name, ready.call, "fp32",
                  f"backend: {name} (fp32{speed})" if first else "")


# --- measuring -------------------------------------------------------------------------------

def _ms_per_mp(fns: dict[str, Callable], x, repeats: int) -> dict[str, float]:
    """Median milliseconds per input megapixel of each ``fns[name](x)``, after one warm-up
    run each; the functions are timed in turns (round robin)."""
    import torch

    times: dict[str, list[float]] = {name: [] for name in fns}
    with torch.inference_mode():
        for i in range(repeats + 1):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(x)
                if i:
                    times[name].append(time.perf_counter() - start)
    mp = x.shape[2] * x.shape[3] / 1e6
    return {name: float(np.median(t)) * 1000 / mp for name, t in times.items()}


def measure(restorer, tile: int = MEASURE_SIDE, names: tuple[str, ...] = AUTO_MEASURES,
            repeats: int = 3) -> dict:
    """Check and time ``names`` on one random tile of at most MEASURE_SIDE pixels; the
    result (backend -> ms_per_mp, max_abs_diff, ok, setup_s, or ok False and the error)
    with the ``chosen`` backend and the context, as the cache keeps it. Eager bf16 is timed
    as well where the model and device run it, for the precision trade-off (it is not held
    to TOLERANCE). Only the chosen backend stays prepared for the restorer."""
    from . import devices

    device = str(restorer.device)
    side = min(tile, MEASURE_SIDE)
    x = random_tile(_net_shape(restorer, side, side), device)
    result: dict[str, Any] = {}
    fns: dict[str, Callable] = {}
    for name in dict.fromkeys(("eager",) + tuple(names)):
        ready = prepared(restorer, name, tile)
        if ready.reason:
            result[name] = {"ok": False, "error": ready.reason, "max_abs_diff": ready.max_abs_diff}
            continue
        fns[name] = ready.call if name != "eager" else restorer.module
        result[name] = {"max_abs_diff": ready.max_abs_diff or 0.0, "ok": True,
                        "setup_s": round(ready.setup_s, 2)}
    bf16 = "bf16" in restorer.spec.precisions and devices.fast_bf16(device)
    if bf16:
        fns["eager-bf16"] = _forward_in(restorer, "bf16")
        result["eager-bf16"] = {"max_abs_diff": max_abs_diff(fns["eager-bf16"], restorer.module, x),
                                "ok": False, "note": "judged by the card's precision_check"}
    for name, ms in _ms_per_mp(fns, x, repeats).items():
        result[name] = {"ms_per_mp": round(ms, 1), **result[name]}
    result["tile"] = list(x.shape[2:])
    finish(result, device)
    release(restorer, result["chosen"])
    return result


def finish(check: dict, device: str) -> dict:
    """Add what a stored measurement keeps besides its timings: the chosen backend, when,
    and the context it was measured in."""
    check["chosen"] = choose(check)
    check["measured"] = stamp()
    check["context"] = context(device)
    return check


def _forward_in(restorer, precision: str) -> Callable:
    """The eager net at ``precision``, as the descriptor runs it (autocast, channels_last)."""
    return lambda x: restorer.forward(x, precision)


def choose(result: dict) -> str:
    """The fastest backend that matched eager fp32 and sets up within SETUP_LIMIT_S."""
    fit = {n: r["ms_per_mp"] for n, r in result.items() if n in NAMES and isinstance(r, dict)
           and r.get("ok") and (n == "eager" or r.get("setup_s", 0.0) <= SETUP_LIMIT_S)}
    return min(fit, key=fit.get) if fit else "eager"
