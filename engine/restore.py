"""The restore job: one image or a list, each read, restored and written atomically."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from . import colour, imageio
from .errors import ImageError, RestoreLabError
from .events import Event, ItemDone, ItemFailed, Log, Progress, Saved
from .imagebase import to_float
from .inference import InferenceOptions, needs_float_output, restore_pixels
from .jobs import Background, Control, ReadAhead
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
    colour: bool = True               # restore wide-gamut images in sRGB (engine.colour)
    raw: str = "srgb"                 # camera RAW developed to "srgb" or "linear" (restored
                                      # in sRGB, saved linear with a gamma-1.0 profile)


READ_AHEAD = 1      # decoded images waiting for compute
WRITE_BEHIND = 1    # restored images waiting for their encoder


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
        out.append(output / f"{stem}{suffix or imageio.output_suffix(src)}")   # RAW: .tif
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


def restore_image(restorer, pixels: np.ndarray, options: InferenceOptions,
                  scale: int | None = None, icc: bytes | None = None,
                  source: str = "") -> Iterator[Event]:
    """restore_to_scale in the colours the models know: an image whose ICC profile ``icc``
    is wide-gamut (Display P3, Adobe RGB, ...) is restored in sRGB and the result, float32,
    converted back to its own space (engine.colour). ``source`` names the file in logs."""
    conversion, note = colour.srgb_conversion(icc, pixels.shape[2], source)
    if note:
        yield Log("info" if conversion else "warning", note)
    # float files (HDR-ish scans, linear TIFFs) may hold values beyond [0, 1]
    c = 1 if pixels.shape[2] in (1, 2) else 3          # colour channels (alpha aside)
    beyond_range = pixels.dtype.kind == "f" and pixels.size and (
        float(pixels[..., :c].max()) > 1.0 or float(pixels[..., :c].min()) < 0.0)
    if conversion is None and not beyond_range:
        return (yield from restore_to_scale(restorer, pixels, options, scale))
    # The model sees the sRGB colours clipped to [0, 1]; what it cannot hold (saturated
    # colours outside sRGB's gamut, float values above 1 or below 0) goes around the model
    # and is added back, resized, so an image-to-image model keeps them. A filter's output
    # (edges) gets nothing added.
    inside = conversion.to_srgb(to_float(pixels)) if conversion else to_float(pixels).copy()
    beyond = inside[..., :c].copy()
    np.clip(inside[..., :c], 0.0, 1.0, out=inside[..., :c])
    beyond -= inside[..., :c]
    out = yield from restore_to_scale(restorer, inside, replace(options, out_dtype=np.float32),
                                      scale)
    out = np.asarray(out, dtype=np.float32)
    tasks = set(getattr(getattr(restorer, "spec", None), "tasks", ()))
    if (out.shape[2] in (1, 2)) == (c == 1) and tasks != {"filter"} and beyond.any():
        h, w = out.shape[:2]
        if beyond.shape[:2] != (h, w):
            beyond = cv2.resize(beyond, (w, h), interpolation=cv2.INTER_CUBIC
                                if h > beyond.shape[0] else cv2.INTER_AREA).reshape(h, w, c)
        out[..., :c] += beyond
    return conversion.from_srgb(out) if conversion and out.shape[2] in (3, 4) else out


def _item_failed(i: int, src: Path, err: Exception) -> ItemFailed:
    return ItemFailed(i, str(src), _item_error(src, err))


def restore_job(spec: RestoreSpec, control: Control) -> Iterator[Event]:
    """Restore each input to its output, as a pipeline: the next file is read and decoded
    and the previous one encoded and written (atomically) on their own threads while
    this one computes, through queues one deep: at most three inputs (one computing,
    one decoded and waiting, one decoding) and three outputs are held at once.
    A file that fails is reported (ItemFailed) and the batch goes on. Stop finishes the
    image being restored and the writes queued; abort drops them: no partial files."""
    inputs = [Path(p) for p in spec.inputs]
    targets = output_paths(inputs, Path(spec.output), spec.suffix)
    if not spec.overwrite:
        check_overwrite(inputs, targets)
    options = dict(spec.options)
    if spec.scale:
        options.setdefault("scale", spec.scale)
    n = len(inputs)
    # decoding starts while the model loads; integer files stay uint8/uint16 (per-tile float)
    reader = ReadAhead(lambda item: imageio.read_image(item[1], as_float=False, log=False,
                                                       raw=spec.raw),
                       enumerate(inputs), depth=READ_AHEAD)
    writer = Background(lambda dst, out, info: imageio.write_image(
        dst, out, info, quality=spec.quality), depth=WRITE_BEHIND)
    written: list[str] = []
    failed: list[str] = []

    def reports(items) -> Iterator[Event]:
        for i, _, err in items:
            if err is not None:
                failed.append(str(inputs[i]))
                yield _item_failed(i, inputs[i], err)
            else:
                written.append(str(targets[i]))
                yield Saved(str(targets[i]))
                yield ItemDone(i, str(inputs[i]), str(targets[i]))

    clean_end = False
    try:
        restorer = load_restorer(spec.model, device=spec.device, precision=spec.precision,
                                 options=options)
        yield Log("info", f"model: {restorer.title} (x{restorer.scale}, {restorer.precision})")
        started = time.monotonic()

        def progress(done: float, stage: str) -> Progress:
            elapsed = time.monotonic() - started
            eta = elapsed * (n - done) / done if done > 0 else None
            return Progress(done, n, stage, eta)

        for (i, src), image, err in reader:
            if control.stop_requested:
                break
            yield from reports(writer.results())
            if err is not None:
                failed.append(str(src))
                yield _item_failed(i, src, err)
                continue
            for line in image.warnings:   # e.g. damaged EXIF: the pixels were read
                yield Log("warning", line)
            dst = targets[i]
            name = f"image {i + 1}/{n} {src.name}"
            yield progress(i, name)
            try:
                # restored straight to the type the file keeps (uint8/uint16; float32 for a
                # float image saved as TIFF): no full-size float32 output for integer files
                inference = replace(spec.inference,
                                    out_dtype=imageio.stored_dtype(dst, image.info))
                icc = image.info.icc_profile if spec.colour else None
                run = restore_image(restorer, image.pixels, inference, spec.scale, icc, src.name)
                while True:
                    try:
                        ev = next(run)
                    except StopIteration as end:
                        out = end.value
                        break
                    if isinstance(ev, Progress):
                        ev = progress(i + ev.done / max(ev.total, 1),
                                      f"{name}: {ev.stage} {ev.done:g}/{ev.total:g}")
                    yield ev
            except Exception as err:   # MemoryError and torch's OOM too: this file's error only
                failed.append(str(src))
                yield _item_failed(i, src, err)
                continue
            writer.submit(i, dst, out, image.info)
            del out, image, run   # the writer holds the output; free the input now
        clean_end = True
    finally:
        reader.close()
        # stopped or finished: the queued writes complete; aborted (closed) or failed: dropped
        pending = writer.close(drop=not clean_end)
    yield from reports(pending)
    yield Progress(len(written) + len(failed), n, "done", 0.0)
    return {"written": written, "failed": failed}
