"""Run a Restorer over a whole image: channels, alpha, tiles, memory, precision.

``restore_pixels`` is a generator in the job style: it yields Progress and
Log events and returns the restored HWC array (float32 unless asked for
uint8/uint16), so jobs use ``out = yield from restore_pixels(...)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from . import backend_choice, backends
from .descriptor import NetRestorer, Restorer
from .events import Event, Log, Progress
from .imagebase import to_float
from .imageio import quantize
from .tiling import run_tiled

DEFAULT_BUDGET_MB = 512
MIN_TILE = 32


@dataclass(frozen=True)
class InferenceOptions:
    tile: int | None = None        # None: from the memory budget; 0: never tile
    overlap: int | None = None     # None: from the model's receptive radius
    budget_mb: int = DEFAULT_BUDGET_MB
    precision: str | None = None   # None: the restorer's own
    # engine.backend_choice: eager, compile, onnxruntime, openvino (forced; non-eager run fp32),
    # "auto" (the measured fastest-and-equal, measured now if not cached), None (the cached
    # measured choice, else eager)
    backend: str | None = None
    strength: float = 1.0          # blend with the (resized) input: 0 = input, 1 = model
    postprocess: tuple[str, ...] = ()   # engine.postprocess steps: nlmeans, autocontrast, dither
    # float32 in [0, 1], or uint8/uint16 rounded as imageio.write_image rounds, built band by
    # band with no full-size float32 output (unless needs_float_output says otherwise)
    out_dtype: Any = np.float32


def is_oom(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    try:
        import torch

        if isinstance(err, torch.OutOfMemoryError):
            return True
    except ImportError:
        pass
    # CUDA's and MPS's "out of memory"; the CPU allocator's "can't allocate memory"
    text = str(err).lower()
    return isinstance(err, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


def auto_tile(restorer: Restorer, budget_mb: int) -> int:
    """Largest tile whose estimated working memory fits the budget. A net whose tiles cannot
    equal its whole-image output (``wide_context``: attention across windows, global pooling)
    gets as much as the machine can spare instead, if that is more, so most photos run whole."""
    if restorer.fixed_size:
        return restorer.fixed_size
    if getattr(restorer, "wide_context", False):
        budget_mb = max(budget_mb, spare_memory_mb())
    side = int((budget_mb * 2**20 / max(restorer.bytes_per_pixel(), 1.0)) ** 0.5)
    m = max(restorer.size_multiple, 8)
    return int(np.clip(side // m * m, max(MIN_TILE, m), 4096))


def spare_memory_mb() -> int:
    """What a restore may take for one tile: a quarter of the RAM, at most half of what is
    free now (Linux; 0 where it cannot tell, so the budget stands)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        text = Path("/proc/meminfo").read_text(encoding="ascii")
        free_kb = int(next(line.split()[1] for line in text.splitlines()
                           if line.startswith("MemAvailable:")))
    except (OSError, ValueError, StopIteration, AttributeError):
        return 0
    return int(min(pages * size / 4, free_kb * 1024 / 2) // 2**20)


def default_overlap(restorer: Restorer, tile: int) -> int:
    return seam(restorer, tile)[0]


def seam(restorer: Restorer, tile: int) -> tuple[int, int]:
    """(overlap, margin) of the tiles: ``margin`` pixels at each interior tile edge get no
    weight, then the tiles blend across the rest of the overlap. A net whose receptive
    radius is a true bound (``radius_exact``: plain convolutions) needs a margin of that
    radius and a short ramp; for the others (attention, global pooling, whole-tile
    transforms) the radius is a guess, so they overlap by four times it and blend across
    the middle half."""
    if restorer.fixed_size:
        return restorer.fixed_size // 4, restorer.fixed_size // 16
    r = restorer.receptive_radius
    if getattr(restorer, "radius_exact", False):
        overlap = int(min(max(16, 2 * r + max(8, r // 2)), 128, tile // 2))
        return overlap, min(r, (overlap - 8) // 2)
    overlap = int(min(max(16, 4 * r), 128, tile // 2))
    return overlap, overlap // 4


def needs_float_output(restorer: Restorer, options: InferenceOptions,
                       scale: int | None = None) -> bool:
    """Whether a step needs the whole output in float32, so ``options.out_dtype`` cannot be
    applied band by band: post-processing, a restorer whose finish() looks at the whole
    image (a net that normalises its output per image), or resampling the output to a
    ``scale`` other than the model's."""
    finish = type(restorer).finish
    if isinstance(restorer, NetRestorer) and finish is NetRestorer.finish:
        per_image = bool(restorer.output_normalise)
    else:
        per_image = finish is not Restorer.finish
    return bool(options.postprocess) or per_image or (scale or restorer.scale) != restorer.scale


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out if out.ndim == 3 else out[:, :, None], 0.0, 1.0)


def _enlarged_rows(img: np.ndarray, rows: slice, s: int) -> np.ndarray:
    """``rows`` of ``img`` enlarged ``s`` times by _resize, resizing only the rows they read."""
    if s == 1:
        return to_float(img[rows])   # integer input: float32 [0, 1], these rows only
    h, w = img.shape[:2]
    r0, r1, _ = rows.indices(h * s)
    a, b = max(0, r0 // s - 2), min(h, -(-r1 // s) + 2)  # bicubic reads 2 rows either side
    return _resize(to_float(img[a:b]), (b - a) * s, w * s)[r0 - a * s:r1 - a * s]


def _as_dtype(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float32:
        return pixels.astype(np.float32, copy=False)
    return quantize(pixels, 8 if dtype == np.uint8 else 16)


def restore_pixels(restorer: Restorer, pixels: np.ndarray,
                   options: InferenceOptions = InferenceOptions()) -> Iterator[Event]:
    """Restore an HWC image with 1-4 channels (grey, grey+alpha, RGB, RGBA): float32 in
    [0, 1], or uint8/uint16 as read (converted to float tile by tile and band by band).

    Returns an HWC array of ``options.out_dtype``, or float32 when needs_float_output.
    Otherwise the per-pixel steps (strength, clipping, rounding) run on each band of
    rows as the tiles finish it, straight into the output: no full-size float32 copy.
    """
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    has_alpha = channels in (2, 4)
    colour = pixels[:, :, : channels - 1] if has_alpha else pixels
    alpha = pixels[:, :, channels - 1:] if has_alpha else None
    grey_in = colour.shape[2] == 1
    h, w = colour.shape[:2]
    s = restorer.scale
    per_channel = restorer.in_channels == 1 and not grey_in
    if per_channel:
        nc = colour.shape[2]
    else:
        nc = 1 if grey_in and restorer.out_channels == 3 else restorer.out_channels
    whole = needs_float_output(restorer, options)
    dtype = np.dtype(np.float32 if whole else options.out_dtype)
    if dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"out_dtype must be float32, uint8 or uint16, not {dtype}")
    out = None if whole else np.empty((h * s, w * s, nc + has_alpha), dtype)

    def finish_rows(rows: slice, band: np.ndarray, src: np.ndarray = colour) -> np.ndarray:
        """The per-pixel steps on restored ``rows``; ``src``: the input channels they restore."""
        if grey_in and band.shape[2] == 3:
            band = band.mean(axis=2, keepdims=True)
        if options.strength < 1.0 and band.shape[2] == src.shape[2]:
            base = _enlarged_rows(src, rows, s)
            band = options.strength * band + (1.0 - options.strength) * base
        return _as_dtype(np.clip(band, 0.0, 1.0, out=band), dtype)

    def banded(c: slice, src: np.ndarray) -> dict:
        """_restore_planes arguments that finish channels ``c`` of ``out`` band by band."""
        return {} if whole else {"out": out[:, :, c], "finish": partial(finish_rows, src=src)}

    if per_channel:
        # a single-channel model restores each colour channel on its own
        planes = []
        for c in range(nc):
            plane = yield from _restore_planes(restorer, colour[:, :, c:c + 1], options,
                                               stage=f"channel {c + 1}/{nc}",
                                               **banded(slice(c, c + 1), colour[:, :, c:c + 1]))
            planes.append(plane)
        restored = np.concatenate(planes, axis=2) if whole else None
    else:
        # a read-only view, not a copy of the input three times over
        x = np.broadcast_to(colour, (h, w, 3)) if grey_in and restorer.in_channels == 3 else colour
        note = restorer.prepare(x)
        if note:
            yield Log("info", note)
        restored = yield from _restore_planes(restorer, x, options, stage="restoring",
                                              **banded(slice(0, nc), colour))
        if whole:
            restored = restorer.finish(restored)

    if whole:
        restored = finish_rows(slice(None), restored)
        if options.postprocess:
            from .postprocess import postprocess

            yield Progress(0, 1, "post-processing")
            restored = postprocess(restored, options.postprocess)
        if alpha is None:
            return restored
        out = np.empty(restored.shape[:2] + (nc + 1,), np.float32)
        out[:, :, :nc] = restored
    if alpha is not None:
        for r in range(0, h * s, 256):  # in row chunks: no full-size float temporary
            rows = slice(r, r + 256)
            out[rows, :, nc:] = _as_dtype(_enlarged_rows(alpha, rows, s), dtype)
    return out


def restore_whole(restorer: Restorer, pixels: np.ndarray,
                  options: InferenceOptions | None = None) -> np.ndarray:
    """``restore_pixels`` run to the end, its progress dropped: the restored image."""
    gen = restore_pixels(restorer, pixels, options or InferenceOptions())
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value


def _restore_planes(restorer: Restorer, x: np.ndarray, options: InferenceOptions, stage: str,
                    out: np.ndarray | None = None, finish=None) -> Iterator[Event]:
    """Pick the backend, tile, back off on out-of-memory, re-run non-finite tiles in float32.

    ``out`` and ``finish(rows, band)`` go to run_tiled: each finished band of rows is
    cleaned of non-finite values, passed through ``finish`` and stored in ``out``.
    """
    h, w = x.shape[:2]
    precision = options.precision or restorer.precision
    if not restorer.tiles or options.tile == 0:
        tile = max(h, w)
    else:
        tile = options.tile or auto_tile(restorer, options.budget_mb)
    if restorer.fixed_size:
        tile = restorer.fixed_size
    want = options.backend
    if want is None:
        want = backend_choice.default_choice(restorer, h * w)
        if want == "auto":
            yield Progress(0, 1, "measuring backends (once for this model)")
    chosen = backend_choice.select(restorer, want, tile, precision)
    if chosen.note:
        yield Log(chosen.level, chosen.note)
    precision = chosen.precision
    with backends.attached(restorer, chosen):
        out = yield from _tiled(restorer, x, options, stage, tile, precision, out, finish)
    return out


def _tiled(restorer: Restorer, x: np.ndarray, options: InferenceOptions, stage: str, tile: int,
           precision: str, out: np.ndarray | None, finish) -> Iterator[Event]:
    """The tile loop of _restore_planes, on whichever backend is attached to the net."""
    nan_tiles = bad_bands = 0

    def run_tile(t: np.ndarray) -> np.ndarray:
        nonlocal nan_tiles
        y = restorer.run(t, precision)
        if precision != "fp32" and not np.isfinite(y).all():
            nan_tiles += 1
            y = restorer.run(t, "fp32")
        return y

    def clean(rows: slice, band: np.ndarray) -> np.ndarray:
        nonlocal bad_bands
        if not np.isfinite(band).all():
            bad_bands += 1
            band = np.nan_to_num(band, nan=0.0, posinf=1.0, neginf=0.0)
        return band if finish is None else finish(rows, band)

    while True:
        overlap, margin = seam(restorer, tile)
        if options.overlap is not None:
            overlap, margin = options.overlap, None
        try:
            tiles = run_tiled(run_tile, x, tile=tile, overlap=overlap, scale=restorer.scale,
                              out_channels=restorer.out_channels, align=restorer.size_multiple,
                              out=out, finish=clean, margin=margin)
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
    if bad_bands:
        yield Log("warning", "The model produced non-finite values; they were set to 0.")
    return out
