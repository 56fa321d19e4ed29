"""Run a Restorer over a whole image: channels, alpha, tiles, memory, precision.

``restore_pixels`` is a generator in the job style: it yields Progress and
Log events and returns the restored HWC float32 array, so jobs use
``out = yield from restore_pixels(...)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from .descriptor import Restorer
from .events import Event, Log, Progress
from .tiling import run_tiled

DEFAULT_BUDGET_MB = 512
MIN_TILE = 32


@dataclass(frozen=True)
class InferenceOptions:
    tile: int | None = None        # None: from the memory budget; 0: never tile
    overlap: int | None = None     # None: from the model's receptive radius
    budget_mb: int = DEFAULT_BUDGET_MB
    precision: str | None = None   # None: the restorer's own
    strength: float = 1.0          # blend with the (resized) input: 0 = input, 1 = model
    postprocess: tuple[str, ...] = ()   # engine.postprocess steps: nlmeans, autocontrast, dither


def is_oom(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    try:
        import torch

        if isinstance(err, torch.OutOfMemoryError):
            return True
    except ImportError:
        pass
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def auto_tile(restorer: Restorer, budget_mb: int) -> int:
    """Largest tile whose estimated working memory fits the budget."""
    if restorer.fixed_size:
        return restorer.fixed_size
    side = int((budget_mb * 2**20 / max(restorer.bytes_per_pixel(), 1.0)) ** 0.5)
    m = max(restorer.size_multiple, 8)
    return int(np.clip(side // m * m, max(MIN_TILE, m), 4096))


def default_overlap(restorer: Restorer, tile: int) -> int:
    if restorer.fixed_size:
        return restorer.fixed_size // 4
    want = 4 * restorer.receptive_radius  # blending ignores the outer quarter: exact up to this radius
    return int(min(max(16, want), 128, tile // 2))


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out if out.ndim == 3 else out[:, :, None], 0.0, 1.0)


def restore_pixels(restorer: Restorer, pixels: np.ndarray,
                   options: InferenceOptions = InferenceOptions()) -> Iterator[Event]:
    """Restore an HWC float32 image with 1-4 channels (grey, grey+alpha, RGB, RGBA)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    has_alpha = channels in (2, 4)
    colour = pixels[:, :, : channels - 1] if has_alpha else pixels
    alpha = pixels[:, :, channels - 1:] if has_alpha else None
    grey_in = colour.shape[2] == 1
    h, w = colour.shape[:2]
    s = restorer.scale

    if restorer.in_channels == 1 and not grey_in:
        # a single-channel model restores each colour channel on its own
        planes = []
        for c in range(colour.shape[2]):
            plane = yield from _restore_planes(restorer, colour[:, :, c:c + 1], options,
                                               stage=f"channel {c + 1}/{colour.shape[2]}")
            planes.append(plane)
        out = np.concatenate(planes, axis=2)
    else:
        x = np.repeat(colour, 3, axis=2) if grey_in and restorer.in_channels == 3 else colour
        note = restorer.prepare(x)
        if note:
            yield Log("info", note)
        out = yield from _restore_planes(restorer, x, options, stage="restoring")
        out = restorer.finish(out)
        if grey_in and out.shape[2] == 3:
            out = out.mean(axis=2, keepdims=True)

    if options.strength < 1.0 and out.shape[2] == colour.shape[2]:
        base = colour if s == 1 else _resize(colour, h * s, w * s)
        out = options.strength * out + (1.0 - options.strength) * base
    out = np.clip(out, 0.0, 1.0, out=out)
    if options.postprocess:
        from .postprocess import postprocess

        yield Progress(0, 1, "post-processing")
        out = postprocess(out, options.postprocess)
    if alpha is not None:
        alpha = alpha if s == 1 else _resize(alpha, h * s, w * s)
        out = np.concatenate([out, alpha.astype(np.float32)], axis=2)
    return out


def _restore_planes(restorer: Restorer, x: np.ndarray, options: InferenceOptions,
                    stage: str) -> Iterator[Event]:
    """Tile, back off on out-of-memory, re-run non-finite tiles in float32."""
    h, w = x.shape[:2]
    precision = options.precision or restorer.precision
    if not restorer.tiles or options.tile == 0:
        tile = max(h, w)
    else:
        tile = options.tile or auto_tile(restorer, options.budget_mb)
    if restorer.fixed_size:
        tile = restorer.fixed_size
    nan_tiles = 0

    def run_tile(t: np.ndarray) -> np.ndarray:
        nonlocal nan_tiles
        y = restorer.run(t, precision)
        if precision != "fp32" and not np.isfinite(y).all():
            nan_tiles += 1
            y = restorer.run(t, "fp32")
        return y

    while True:
        overlap = options.overlap if options.overlap is not None else default_overlap(restorer, tile)
        try:
            tiles = run_tiled(run_tile, x, tile=tile, overlap=overlap, scale=restorer.scale,
                              out_channels=restorer.out_channels, align=restorer.size_multiple)
            while True:
                try:
                    done, total = next(tiles)
                except StopIteration as end:
                    out = end.value
                    break
                yield Progress(done, total, stage)
            break
        except Exception as err:
            if not is_oom(err) or tile <= MIN_TILE or restorer.fixed_size:
                raise
            tile = max(MIN_TILE, tile // 2 // max(restorer.size_multiple, 1) * max(restorer.size_multiple, 1))
            yield Log("warning", f"Out of memory; retrying with {tile}px tiles.")
    if nan_tiles:
        yield Log("warning", f"{nan_tiles} tile(s) gave non-finite values in {precision}; "
                             "re-ran them in fp32.")
    if not np.isfinite(out).all():
        out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)
        yield Log("warning", "The model produced non-finite values; they were set to 0.")
    return out
