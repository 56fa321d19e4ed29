"""Jobs the Restore page submits to the engine's Runner (they run on its worker threads).

They follow the engine's job protocol (generators yielding events, returning a
result) and import the engine only when they run, so the window never waits
for it. Results stay in memory: the viewer shows them and Save writes them.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IO = "io"   # the runner queue for reading and writing files (never waits behind a restore)

_cache_lock = threading.Lock()
_cache: dict[tuple, Any] = {}


@dataclass(frozen=True)
class RestoreItemSpec:
    path: str
    model: str
    image: Any = None                 # a LoadedImage already read, or None
    scale: int = 0                    # final scale; 0: the model's own
    options: dict[str, Any] = field(default_factory=dict)   # classical method options
    device: str = "auto"
    threads: int = 0
    tile: int = 0                     # 0: from the budget
    budget_mb: int = 512
    precision: str = "auto"
    backend: str = "auto"             # "auto": cached choice, measured on a big image; or forced
    strength: float = 1.0
    post: tuple[str, ...] = ()        # engine.postprocess steps after the model


@dataclass
class RestoreResult:
    image: Any                        # the LoadedImage of the input
    pixels: np.ndarray                # the result, float32 HWC
    model: str
    seconds: float


@dataclass(frozen=True)
class SaveSpec:
    items: tuple[tuple[str, Any, Any], ...]   # (path, pixels, ImageInfo or None)
    quality: int | None = None                # JPEG / WebP quality (1-100); None: default


@dataclass(frozen=True)
class MetricsSpec:
    reference: str
    result: Any                       # float HWC or None
    source: Any                       # float HWC (the input)


def forget_restorers() -> None:
    """Drop cached networks (after a model was deleted or renamed)."""
    with _cache_lock:
        _cache.clear()


def _restorer(spec: RestoreItemSpec):
    from engine import registry
    from engine.errors import ModelError
    from engine.models import load_restorer

    options = dict(spec.options)
    if spec.scale:
        options["scale"] = spec.scale
    try:
        classical = registry.get(spec.model).kind == "classical"
    except ModelError:
        classical = False
    if classical:  # cheap to build: never cached
        return load_restorer(spec.model, device=spec.device, precision=spec.precision,
                             options=options)
    key = (spec.model, spec.device, spec.precision, options.get("sigma"))   # level-map nets
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        found = load_restorer(spec.model, device=spec.device, precision=spec.precision,
                              options=options)
        with _cache_lock:
            _cache.clear()  # one network at a time
            _cache[key] = found
    return found


def _set_threads(n: int, net: bool) -> None:
    if not n:
        return
    import cv2

    cv2.setNumThreads(int(n))
    if net:
        from engine.devices import set_threads

        set_threads(n)


def restore_item_job(spec: RestoreItemSpec, control):
    """Read (unless given), restore and return a :class:`RestoreResult`; nothing is written."""
    from engine import imageio
    from engine.events import Log, Progress
    from engine.inference import InferenceOptions
    from engine.restore import restore_image

    started = time.monotonic()
    yield Progress(0, 1, "reading")
    image = spec.image if spec.image is not None else imageio.read_image(spec.path, log=False)
    for line in image.warnings:   # a decoder's warning (damaged EXIF): to the status bar
        yield Log("warning", line)
    control.checkpoint()
    yield Progress(0, 1, "loading model")
    restorer = _restorer(spec)
    _set_threads(spec.threads, not hasattr(restorer, "fn"))
    yield Log("info", f"{restorer.title} (×{restorer.scale}) on {spec.path}")
    options = InferenceOptions(tile=spec.tile or None, budget_mb=spec.budget_mb,
                               precision=spec.precision, strength=spec.strength,
                               postprocess=tuple(spec.post),
                               backend=None if spec.backend == "auto" else spec.backend)
    run = restore_image(restorer, image.pixels, options, spec.scale or None,
                        image.info.icc_profile, Path(spec.path).name)   # wide gamut: via sRGB
    while True:
        try:
            event = next(run)
        except StopIteration as end:
            out = end.value
            break
        yield event
        if control.stop_requested:  # one image: nothing worth keeping half done
            run.close()
            return None
    yield Progress(1, 1, "done")
    return RestoreResult(image, out.astype(np.float32, copy=False), restorer.title,
                         time.monotonic() - started)


def load_image_job(path: str, control):
    """Read an image for the viewer; returns the LoadedImage."""
    from engine import imageio
    from engine.events import Progress

    yield Progress(0, 1, "reading")
    return imageio.read_image(path)


def save_job(spec: SaveSpec, control):
    """Write results with their source's format, bit depth, alpha and ICC profile."""
    from engine import imageio
    from engine.errors import RestoreLabError
    from engine.events import ItemFailed, Progress, Saved

    written, failed = [], []
    total = len(spec.items)
    for i, (path, pixels, info) in enumerate(spec.items):
        if control.stop_requested:
            break
        yield Progress(i, total, "saving")
        try:
            imageio.write_image(path, pixels, info, **_quality_option(spec.quality))
        except RestoreLabError as err:
            failed.append(path)
            yield ItemFailed(i, path, str(err))
            continue
        written.append(path)
        yield Saved(path)
    yield Progress(total, total, "saved")
    return {"written": written, "failed": failed}


def _quality_option(quality: int | None) -> dict[str, int]:
    """``quality=`` for engine.imageio.write_image (JPEG / WebP; PNG and TIFF ignore it), or
    nothing: the engine's default (which keeps a lossless WebP lossless). The one place that
    knows the engine's keyword, should it change."""
    import inspect

    from engine.imageio import write_image

    if quality is None or "quality" not in inspect.signature(write_image).parameters:
        return {}
    return {"quality": int(quality)}


def _comparable(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from engine.imageio import split_alpha

    a, b = split_alpha(a)[0], split_alpha(b)[0]
    if a.shape[2] != b.shape[2]:
        def grey(x):
            return x if x.shape[2] == 1 else (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        a, b = grey(a), grey(b)
    return a.astype(np.float32), b.astype(np.float32)


def metrics_job(spec: MetricsSpec, control):
    """PSNR / SSIM of the result (and of the input, resized) against a reference image."""
    from engine import imageio
    from engine.errors import ImageError
    from engine.events import Progress
    from training.metrics import psnr, ssim

    from .images import upscale_to

    yield Progress(0, 2, "reading the reference")
    ref = imageio.read_image(spec.reference).pixels
    h, w = ref.shape[:2]
    out: dict[str, tuple[float, float]] = {}
    for i, (name, img) in enumerate((("result", spec.result), ("input", spec.source))):
        if img is None:
            continue
        if img.shape[:2] != (h, w):
            if name == "result":
                raise ImageError(f"The reference is {w}×{h} but the result is "
                                 f"{img.shape[1]}×{img.shape[0]}; pick the matching clean image.")
            img = upscale_to(img, h, w)
        a, b = _comparable(img, ref)
        yield Progress(i + 1, 2, "comparing")
        out[name] = (float(psnr(a, b)), float(ssim(a, b)))
    return out
