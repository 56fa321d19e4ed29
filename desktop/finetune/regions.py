"""The timeline's region restores: only the marked regions of an image, through a checkpoint.

A region is a box in source pixels. It is restored from a crop grown by a context margin
(the tile overlap the engine would use for that model, so each output pixel sees what it
would see in a whole-image restore), then cut back to the box. The job also pastes the
regions into copies of the shown result (the viewer's two sides, parent | checkpoint) and
makes small side-by-side thumbnails; all of it runs on a worker, never on the UI thread.
Torch-free at import, like every desktop module.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

THUMB_HEIGHT = 72   # px, each half of a thumbnail
THUMB_WIDTH = 128   # px at most, each half
GAP = 2             # px between the halves


@dataclass(frozen=True)
class Region:
    path: str                               # the image it is on
    box: tuple[int, int, int, int] | None   # (x, y, w, h) in source pixels; None: the whole file
    caption: str = ""


@dataclass(frozen=True)
class RegionRequest:
    refs: tuple[str, str]        # (left, right) models: the parent, the checkpoint shown
    spec: Any                    # a RestoreItemSpec of the current image (its model is replaced)
    regions: tuple[Region, ...]
    have: dict = field(default_factory=dict)   # (path, ref, box) -> patch already restored
    base: Any = None             # the shown result (scene grid) the regions are pasted into
    left_input: bool = False     # the left side is the input (the parent is the right side)
    left: Any = None             # the left side composed already (same image, regions, parent)


def region_key(region: Region, ref: str) -> tuple:
    return region.path, ref, region.box


def crop_with_margin(shape, box, margin: int) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """The crop (x0, y0, x1, y1) around ``box`` grown by ``margin`` inside an image of
    ``shape``, and the box's offset (dx, dy) inside that crop."""
    x, y, w, h = box
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(shape[1], x + w + margin), min(shape[0], y + h + margin)
    return (x0, y0, x1, y1), (x - x0, y - y0)


def _margin(restorer) -> int:
    from engine.inference import default_overlap

    return default_overlap(restorer, 1 << 16)


def restore_region(spec, pixels: np.ndarray, box, name: str = ""):
    """The output of ``spec``'s model (with the page's options) for ``box`` of ``pixels``
    (None: all of it), restored with its context around it; float32."""
    from engine.inference import InferenceOptions
    from engine.restore import restore_image

    from ..restore.jobs import _restorer, _set_threads

    restorer = _restorer(spec)
    _set_threads(spec.threads, not hasattr(restorer, "fn"))
    options = InferenceOptions(tile=spec.tile or None, budget_mb=spec.budget_mb,
                               precision=spec.precision, strength=spec.strength,
                               postprocess=tuple(spec.post))
    icc = spec.image.info.icc_profile if spec.image is not None else None
    if box is None:
        out = yield from restore_image(restorer, pixels, options, spec.scale or None, icc, name)
        return np.asarray(out, np.float32)
    (x0, y0, x1, y1), (dx, dy) = crop_with_margin(pixels.shape, box, _margin(restorer))
    out = yield from restore_image(restorer, np.ascontiguousarray(pixels[y0:y1, x0:x1]),
                                   options, spec.scale or None, icc, name)
    s = max(1, round(out.shape[0] / (y1 - y0)))
    _, _, w, h = box
    return np.ascontiguousarray(out[dy * s:(dy + h) * s, dx * s:(dx + w) * s])


def _rgb8(img: np.ndarray) -> np.ndarray:
    img = img[..., :3] if img.shape[2] >= 3 else np.repeat(img[..., :1], 3, axis=2)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def thumbnail(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """uint8 RGB: ``left`` | ``right`` side by side, each fitted in THUMB_WIDTH x THUMB_HEIGHT."""
    import cv2

    h, w = right.shape[:2]
    z = min(THUMB_HEIGHT / h, THUMB_WIDTH / w)
    size = (max(1, round(w * z)), max(1, round(h * z)))
    how = cv2.INTER_AREA if z < 1 else cv2.INTER_NEAREST   # small regions: crisp pixels
    halves = [cv2.resize(_rgb8(a), size, interpolation=how) for a in (left, right)]
    gap = np.full((size[1], GAP, 3), 40, np.uint8)
    return np.ascontiguousarray(np.concatenate([halves[0], gap, halves[1]], axis=1))


def paste(base: np.ndarray, patches: list[tuple[tuple, np.ndarray]], scale: int) -> np.ndarray | None:
    """A copy of ``base`` with each (box, patch) written at box * scale; None if they differ
    in channels (the result cannot hold them)."""
    out = base.copy()
    for (x, y, w, h), patch in patches:
        if patch.shape[2] != out.shape[2]:
            return None
        out[y * scale:y * scale + patch.shape[0], x * scale:x * scale + patch.shape[1]] = patch
    return out


def _base(req: RegionRequest, scale: int) -> np.ndarray:
    """The shown result, or the input enlarged to the output grid when it does not fit."""
    src = req.spec.image.pixels
    h, w = src.shape[0] * scale, src.shape[1] * scale
    if req.base is not None and req.base.shape[:2] == (h, w):
        return np.asarray(req.base, np.float32)
    import cv2

    big = cv2.resize(np.asarray(src, np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return big if big.ndim == 3 else big[:, :, None]


def region_job(req: RegionRequest, control):
    """Restore the regions not in ``req.have`` with both models; return the new patches,
    the viewer's two composites (regions of the current image only) and the thumbnails."""
    from engine import imageio
    from engine.events import Progress

    patches = dict(req.have)
    todo = [(r, ref) for r in req.regions for ref in dict.fromkeys(req.refs)
            if region_key(r, ref) not in patches]
    files: dict[str, np.ndarray] = {}

    def source(region: Region) -> np.ndarray:
        if region.path == req.spec.path:
            return req.spec.image.pixels
        if region.path not in files:   # an example's crop from another image
            files[region.path] = imageio.read_image(region.path).pixels
        return files[region.path]

    for i, (region, ref) in enumerate(todo):
        control.checkpoint()
        yield Progress(i, len(todo), "restoring the marked regions")
        own = region.path == req.spec.path
        spec = replace(req.spec, model=ref, path=region.path, image=req.spec.image if own else None)
        patches[region_key(region, ref)] = yield from restore_region(
            spec, source(region), region.box, Path(region.path).name)
    yield Progress(len(todo), len(todo), "composing")
    left_ref, right_ref = req.refs
    thumbs = []
    for region in req.regions:
        if req.left_input:   # the input as it is, against the parent
            left = source(region)
            if region.box is not None:
                x, y, w, h = region.box
                left = left[y:y + h, x:x + w]
        else:
            left = patches[region_key(region, left_ref)]
        thumbs.append((thumbnail(left, patches[region_key(region, right_ref)]), region.caption))
    on_image = [r for r in req.regions if r.box is not None and r.path == req.spec.path]
    views = None
    if on_image:
        first = patches[region_key(on_image[0], right_ref)]
        scale = max(1, round(first.shape[0] / on_image[0].box[3]))
        base = _base(req, scale)

        def side(ref):
            return paste(base, [(r.box, patches[region_key(r, ref)]) for r in on_image], scale)

        left = req.spec.image.pixels if req.left_input else req.left
        views = (side(left_ref) if left is None else left, side(right_ref))
        if views[0] is None or views[1] is None:
            views = None
    new = {k: v for k, v in patches.items() if k not in req.have}
    return {"patches": new, "views": views, "thumbs": thumbs}
