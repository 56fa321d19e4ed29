"""The restore job: one image or a list, each read, restored and written atomically."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from . import imageio
from .errors import ImageError, RestoreLabError
from .events import Event, ItemDone, ItemFailed, Log, Progress, Saved
from .inference import InferenceOptions, needs_float_output, restore_pixels
from .jobs import Control
from .models import load_restorer


@dataclass(frozen=True)
class RestoreSpec:
    inputs: tuple[str, ...]
    output: str                       # a file for one input, else a folder
    model: str = "bicubic"
    scale: int | None = None          # final scale; None: the model's own
    device: str = "auto"
    precision: str = "auto"
    inference: InferenceOptions = InferenceOptions()
    options: dict[str, Any] = field(default_factory=dict)  # classical method options
    suffix: str | None = None         # output format for folders, e.g. ".png"; None: keep
    quality: int | None = None        # JPEG/WebP quality 1-100; None: 95 (lossless WebP stays so)
    overwrite: bool = False           # allow an output to replace one of the inputs


def output_paths(inputs: list[Path], output: Path, suffix: str | None) -> list[Path]:
    """One output file per input; a folder when there are several inputs or ``output`` is a dir."""
    if len(inputs) == 1 and not output.is_dir() and output.suffix:
        return [output]
    names: dict[str, int] = {}
    out = []
    for src in inputs:
        stem = src.stem
        names[stem] = names.get(stem, 0) + 1
        if names[stem] > 1:
            stem = f"{stem}_{names[stem]}"
        out.append(output / f"{stem}{suffix or src.suffix}")
    return out


def _identities(path: Path) -> set:
    """What names one file: its resolved path and, when it exists, its device and inode."""
    keys: set = {os.path.normcase(os.path.realpath(path))}
    try:
        st = os.stat(path)
        keys.add((st.st_dev, st.st_ino))
    except OSError:
        pass
    return keys


def check_overwrite(inputs: list[Path], targets: list[Path]) -> None:
    """Refuse, before anything is written, outputs that would replace an input file."""
    sources = set().union(*map(_identities, inputs))
    for dst in targets:
        if _identities(dst) & sources:
            raise ImageError(f"'{dst}' is an input image: restoring would replace the "
                             f"original. Choose another output, or allow overwriting "
                             f"(--overwrite) to replace it.")


def _item_error(src: Path, err: Exception) -> str:
    """One line for one file of a batch that failed (the batch goes on)."""
    if isinstance(err, RestoreLabError):
        return str(err)
    if isinstance(err, MemoryError) or "out of memory" in str(err).lower():
        return (f"Out of memory while restoring '{src.name}'; try a smaller tile (--tile), "
                f"lower precision or the CPU for this image.")
    return f"Could not restore '{src.name}': {type(err).__name__}: {str(err)[:200]}"


def _rescale(pixels: np.ndarray, h: int, w: int) -> np.ndarray:
    down = h < pixels.shape[0]
    out = cv2.resize(np.ascontiguousarray(pixels, dtype=np.float32), (w, h),
                     interpolation=cv2.INTER_AREA if down else cv2.INTER_CUBIC)
    return np.clip(out if out.ndim == 3 else out[:, :, None], 0, 1)


def restore_to_scale(restorer, pixels: np.ndarray, options: InferenceOptions,
                     scale: int | None = None) -> Iterator[Event]:
    """Restore, then resample to ``scale`` when it differs from the model's own
    (area down, bicubic up): e.g. a x4 model asked for x2. Returns the pixels, of
    ``options.out_dtype`` or, where a whole-image step needs it, float32."""
    want = scale or restorer.scale
    if needs_float_output(restorer, options, want):
        options = replace(options, out_dtype=np.float32)
    out = yield from restore_pixels(restorer, pixels, options)
    h, w = pixels.shape[0] * want, pixels.shape[1] * want
    return out if out.shape[:2] == (h, w) else _rescale(out, h, w)


def restore_job(spec: RestoreSpec, control: Control) -> Iterator[Event]:
    inputs = [Path(p) for p in spec.inputs]
    targets = output_paths(inputs, Path(spec.output), spec.suffix)
    if not spec.overwrite:
        check_overwrite(inputs, targets)
    options = dict(spec.options)
    if spec.scale:
        options.setdefault("scale", spec.scale)
    restorer = load_restorer(spec.model, device=spec.device, precision=spec.precision,
                             options=options)
    yield Log("info", f"model: {restorer.title} (x{restorer.scale}, {restorer.precision})")
    written, failed = [], []
    for i, (src, dst) in enumerate(zip(inputs, targets)):
        if control.stop_requested:
            break
        yield Progress(i, len(inputs), f"{src.name}")
        try:
            image = imageio.read_image(src)
            stage = f"{src.name} ({i + 1}/{len(inputs)})"
            # restored straight to the type the file keeps (uint8/uint16; float32 for a
            # float image saved as TIFF): no full-size float32 output for integer files
            inference = replace(spec.inference, out_dtype=imageio.stored_dtype(dst, image.info))
            run = restore_to_scale(restorer, image.pixels, inference, spec.scale)
            while True:
                try:
                    ev = next(run)
                except StopIteration as end:
                    out = end.value
                    break
                if isinstance(ev, Progress):
                    ev = Progress(i + ev.done / max(ev.total, 1), len(inputs), stage)
                yield ev
            imageio.write_image(dst, out, image.info, quality=spec.quality)
        except Exception as err:   # MemoryError and torch's OOM too: this file's error only
            failed.append(str(src))
            yield ItemFailed(i, str(src), _item_error(src, err))
            continue
        written.append(str(dst))
        yield Saved(str(dst))
        yield ItemDone(i, str(src), str(dst))
    yield Progress(len(written) + len(failed), len(inputs), "done")
    return {"written": written, "failed": failed}
