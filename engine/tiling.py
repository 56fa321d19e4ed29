"""Overlapping tiles blended with a smooth, separable window.

Tiles sit on a full grid (row starts x column starts), each tile's weight is
``wy(y) * wx(x)``, so the sum of weights at a pixel is the product of two 1-D
sums and no full-size weight map is ever allocated. Nor is a full-size float
sum: only the current tile row is summed, and finished rows go straight to an
output of any dtype. The input may stay uint8/uint16: each tile is converted to
float32 [0, 1] as it is cut, so no full-size float copy of the input exists either.
On an interior edge the window is zero for the outer ``margin`` pixels of the
overlap (by default a quarter of it) and rises with a raised cosine across the rest
but the same margin on the other side: pixels whose context was cut by the tile edge
get no weight, so a net whose receptive radius is at most ``margin`` gives exactly
its untiled output.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .imagebase import to_float


def starts(length: int, tile: int, overlap: int, align: int = 1) -> tuple[list[int], int]:
    """Evenly spread tile starts along one axis and the tile size used there.

    Uses the fewest tiles of at most ``tile`` pixels that overlap by at least
    ``overlap``, then shrinks them to share the axis evenly, so no tile
    repeats much work of its neighbour. With ``align`` (``length`` must be a
    multiple of it) starts and size are multiples of ``align``: a net that
    downsamples by ``align`` then sees every tile on the whole image's grid.
    """
    if length <= tile:
        return [0], length
    n = -(-(length - overlap) // max(1, tile - overlap - align + 1))
    size = -(-(length + (n - 1) * overlap) // n)
    size = min(length, -(-size // align) * align)
    return [round(i * (length - size) / (n - 1) / align) * align for i in range(n)], size


def window(start: int, size: int, length: int, overlap: int,
           margin: int | None = None) -> np.ndarray:
    """1-D blending weights of a tile [start, start + size) on an axis of ``length``."""
    margin = overlap // 4 if margin is None else min(margin, max(0, (overlap - 1) // 2))
    ramp = max(1, overlap - 2 * margin)
    edge = np.ones(size, dtype=np.float32)  # profile of a left interior edge
    edge[:margin] = 0.0
    rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    edge[margin:margin + ramp] = rise[: len(edge[margin:margin + ramp])]
    w = np.ones(size, dtype=np.float32)
    if start > 0:
        w *= edge
    if start + size < length:
        w *= edge[::-1]
    return w


def grid(h: int, w: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(y, x, th, tw) of every tile, row by row."""
    (ys, th), (xs, tw) = starts(h, tile, overlap), starts(w, tile, overlap)
    return [(y, x, th, tw) for y in ys for x in xs]


def pad_to(img: np.ndarray, multiple: int) -> np.ndarray:
    """Pad bottom/right to a multiple, mirrored as the net descriptor pads a whole image."""
    h, w = img.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return img
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode=mode)


def run_tiled(fn: Callable[[np.ndarray], np.ndarray], img: np.ndarray, *, tile: int,
              overlap: int, scale: int, out_channels: int, align: int = 1,
              out: np.ndarray | None = None,
              finish: Callable[[slice, np.ndarray], np.ndarray] | None = None,
              margin: int | None = None) -> Iterator[tuple[int, int]]:
    """Apply ``fn`` tile by tile; yields (done, total) after each tile; returns the output.

    ``fn`` maps an HWC float32 tile to an HWC tile ``scale`` times larger; ``img`` is
    float32 or uint8/uint16 (scaled to [0, 1] per tile). Use as
    ``out = yield from run_tiled(...)``. ``align``: the net's size multiple; the
    image is padded to it and tiles start on it, so tiled equals untiled.

    Only one tile row (with its overlap into the next) is summed in float32: as
    its rows are complete they are normalised, cropped to the image, passed in
    bands through ``finish(rows, band)`` (per-pixel steps, e.g. rounding to uint8)
    and written to ``out[rows]``. ``out`` (output rows x columns x the channels that
    ``finish`` returns, of any dtype) defaults to a new float32 array. ``margin``: input
    pixels at each interior tile edge that get no weight (default ``overlap // 4``).
    """
    h0, w0 = img.shape[:2]
    if align > 1 and max(h0, w0) > tile:
        img = pad_to(img, align)
    else:
        align = 1
    h, w = img.shape[:2]
    overlap = min(overlap, max(0, tile - 1))
    s, ov = scale, overlap * scale
    mg = None if margin is None else margin * scale
    (ys, th), (xs, tw) = starts(h, tile, overlap, align), starts(w, tile, overlap, align)
    wys = [window(y * s, th * s, h * s, ov, mg) for y in ys]
    wxs = [window(x * s, tw * s, w * s, ov, mg) for x in xs]
    wy_sum = np.zeros(h * s, dtype=np.float32)
    wx_sum = np.zeros(w * s, dtype=np.float32)
    for y, wy in zip(ys, wys):
        wy_sum[y * s:(y + th) * s] += wy
    for x, wx in zip(xs, wxs):
        wx_sum[x * s:(x + tw) * s] += wx
    if out is None:
        out = np.empty((h0 * s, w0 * s, out_channels), dtype=np.float32)
    band_h = th * s
    acc = np.zeros((band_h, w * s, out_channels), dtype=np.float32)  # rows y*s .. y*s + band_h
    inv_x = (1.0 / wx_sum[: w0 * s])[None, :, None]
    total = len(ys) * len(xs)
    for i, (y, wy) in enumerate(zip(ys, wys)):
        for j, (x, wx) in enumerate(zip(xs, wxs)):
            result = fn(to_float(img[y:y + th, x:x + tw]))
            result = result * wy[:, None, None]  # never in place: fn may return a view
            result *= wx[None, :, None]
            acc[:, x * s:(x + tw) * s] += result
            yield i * len(xs) + j + 1, total
        # rows above the next tile row are complete; the rest carries over
        top = y * s
        done = (ys[i + 1] if i + 1 < len(ys) else h) * s - top
        for r in range(top, min(top + done, h0 * s), 256):  # in chunks: small temporaries
            rows = slice(r, min(r + 256, top + done, h0 * s))
            band = acc[r - top:rows.stop - top, : w0 * s]
            band = band * ((1.0 / wy_sum[rows])[:, None, None] * inv_x)
            out[rows] = band if finish is None else finish(rows, band)
        acc[: band_h - done] = acc[done:]
        acc[band_h - done:] = 0.0
    return out
