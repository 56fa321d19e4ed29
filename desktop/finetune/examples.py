"""The "my photos" examples of a model: crops marked in the viewer, kept in the data dir.

``examples_dir(model)`` is ``<data dir>/examples/<model id>/``; each example is ``NAME.png``
(the source crop) and, when the user had a clean reference loaded, ``NAME.clean.png`` (the same
region of the reference): the naming ``training.finetune`` reads. Torch-free; the writing runs
as a job on the IO lane.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import paths
from engine.checkpoints import slug

CLEAN = ".clean"   # as training.finetune.CLEAN (that module imports torch)
MIN_SIDE = 8       # a smaller region is a slip of the mouse, not an example


def examples_dir(model_id: str) -> Path:
    return paths.data_dir() / "examples" / slug(model_id)


def count(folder: Path) -> tuple[int, int]:
    """(pairs, lone crops) in an examples folder."""
    if not folder.is_dir():
        return 0, 0
    names = {p.stem for p in folder.glob("*.png") if not p.name.startswith(".")}
    inputs = [n for n in names if not n.endswith(CLEAN)]
    pairs = sum(1 for n in inputs if n + CLEAN in names)
    return pairs, len(inputs) - pairs


def describe(folder: Path) -> str:
    """What the examples are and how each kind trains, in words."""
    pairs, crops = count(folder)
    if not pairs and not crops:
        return "No examples yet: mark a region of a restored image and add it."
    parts = []
    if pairs:
        parts.append(f"{pairs} pair{'s' * (pairs != 1)} (your crop + its clean reference: "
                     "learned as given)")
    if crops:
        parts.append(f"{crops} crop{'s' * (crops != 1)} without a reference (the crop is the "
                     "target; the model's own degradation recipe makes the input)")
    return "; ".join(parts) + "."


def source_box(rect: tuple[float, float, float, float], scale: float,
               size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) in source pixels of a scene rectangle (result pixels) on an image of
    ``size`` (w, h) shown ``scale`` times larger; None when it is too small or outside."""
    x, y, w, h = rect
    s = max(scale, 1e-9)
    x0, y0 = max(0, math.floor(x / s)), max(0, math.floor(y / s))
    x1, y1 = min(size[0], math.ceil((x + w) / s)), min(size[1], math.ceil((y + h) / s))
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return None
    return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class ExampleSpec:
    folder: str
    name: str                        # stem of the source image
    source: np.ndarray               # the source crop, float32 HWC
    box: tuple[int, int, int, int]   # its place in the source (x, y, w, h)
    scale: int = 1                   # result pixels per source pixel (the reference's grid)
    reference: str = ""              # a clean reference of the whole image, at the result's size


def example_stem(stem: str, box: tuple[int, int, int, int]) -> str:
    """How an example of ``box`` (x, y, w, h in source pixels) of the image ``stem`` is named."""
    x, y, w, h = box
    return f"{slug(stem)}-{x}-{y}-{w}x{h}"


def boxes_from(folder: Path, stem: str) -> list[tuple[int, int, int, int]]:
    """The boxes of the image ``stem`` that were added to ``folder`` as examples (read from
    the names example_stem gives them), in the order they were added, each once."""
    pattern = re.compile(re.escape(slug(stem)) + r"-(\d+)-(\d+)-(\d+)x(\d+)(?:-\d+)?")
    found = []
    files = folder.glob("*.png") if folder.is_dir() else []
    for path in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name)):
        match = pattern.fullmatch(path.stem)
        if match:
            box = tuple(int(v) for v in match.groups())
            if box not in found:
                found.append(box)
    return found


def _free_stem(folder: Path, stem: str) -> str:
    candidate, n = stem, 2
    while (folder / f"{candidate}.png").exists():
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def add_example_job(spec: ExampleSpec, control):
    """Write the crop (and its clean reference's crop) into the examples folder."""
    from engine.atomic import atomic_path
    from engine.events import Log, Saved
    from engine.imageio import read_image, write_image

    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    x, y, w, h = spec.box
    clean = None
    if spec.reference:
        ref = read_image(spec.reference).pixels
        s = spec.scale
        if ref.shape[0] < (y + h) * s or ref.shape[1] < (x + w) * s:
            yield Log("warning", f"the reference {Path(spec.reference).name} is "
                                 f"{ref.shape[1]}×{ref.shape[0]}, smaller than the result: "
                                 "the region is added without it")
        else:
            clean = ref[y * s:(y + h) * s, x * s:(x + w) * s]
    stem = _free_stem(folder, example_stem(spec.name, spec.box))
    written = []
    for suffix, pixels in (("", spec.source), (CLEAN, clean)):
        if pixels is None:
            continue
        planes = pixels[:, :, :3] if pixels.shape[2] >= 3 else pixels[:, :, :1]
        target = folder / f"{stem}{suffix}.png"
        with atomic_path(target) as tmp:
            write_image(tmp, np.ascontiguousarray(planes, np.float32))   # tmp ends in .png
        written.append(str(target))
        yield Saved(str(target), "file")
    return {"paths": written, "kind": "pair" if clean is not None else "crop",
            "folder": str(folder)}
