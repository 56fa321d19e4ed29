"""Where a restore spends its time: decode, float conversion, tiling, forward, blend, encode.

Runs the CLI's own restore job on a synthetic photo-like PNG (written to /tmp) with a
shipped model, timing each stage with perf_counter wrappers around the engine's functions:

  decode    the file's decoder (engine.imageread._read_image less its float conversion)
  to_float  integer -> float32 conversion (whole image, or per tile)
  forward   the net on each tile (Restorer.run: HWC -> NCHW tensor, forward, back)
  tiling    run_tiled less forward: tile slicing, window weights, the row sum, the
            normalise-and-round of finished bands (blend), its copies into the output
  encode    engine.imagewrite.write_image (PNG, atomic)

Usage: python bench/profile_restore.py [--mp 12] [--model sr-x2] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_png(mp: float, path: Path) -> Path:
    """A smooth photo-like 8-bit RGB image of ``mp`` megapixels (gradients + noise)."""
    import cv2
    import numpy as np

    w = int((mp * 1e6 * 4 / 3) ** 0.5) // 8 * 8
    h = int(mp * 1e6 / w) // 8 * 8
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (h // 64 + 1, w // 64 + 1, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = cv2.add(img, rng.integers(0, 24, img.shape, dtype=np.uint8))
    cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path


class Timers:
    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner, name: str, key: str, exclude: tuple[str, ...] = ()) -> None:
        """Replace ``owner.name`` by a timed call; time spent in ``exclude`` keys is subtracted."""
        fn = getattr(owner, name)
        timers = self

        def timed(*args, **kwargs):
            before = {k: timers.total[k] for k in exclude}
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                spent -= sum(timers.total[k] - before[k] for k in exclude)
                timers.total[key] += spent
                timers.calls[key] += 1
        setattr(owner, name, timed)

    def wrap_gen(self, owner, name: str, key: str, exclude: tuple[str, ...] = ()) -> None:
        """Like wrap, for a generator: only the time inside its own frames counts."""
        fn = getattr(owner, name)
        timers = self

        def timed(*args, **kwargs):
            gen = fn(*args, **kwargs)
            value = None
            while True:
                before = {k: timers.total[k] for k in exclude}
                start = time.perf_counter()
                try:
                    item = gen.send(value)
                except StopIteration as end:
                    timers.total[key] += time.perf_counter() - start - sum(
                        timers.total[k] - before[k] for k in exclude)
                    return end.value
                timers.total[key] += time.perf_counter() - start - sum(
                    timers.total[k] - before[k] for k in exclude)
                value = yield item
        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mp", type=float, default=12)
    parser.add_argument("--model", default="sr-x2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--png-level", type=int, help="zlib level for the PNG written "
                        "(default: engine.imagewrite.PNG_COMPRESSION)")
    args = parser.parse_args()

    start = time.perf_counter()
    import torch

    from engine import imagebase, imageread, imagewrite, inference, restore, tiling
    torch.set_num_threads(args.threads)
    if args.png_level is not None:
        imagewrite.PNG_COMPRESSION = args.png_level
    import_s = time.perf_counter() - start

    src = synthetic_png(args.mp, Path(tempfile.gettempdir()) / f"restorelab-bench-{args.mp:g}mp.png")
    t = Timers()
    t.wrap(imagebase, "to_float", "to_float")
    for mod in (imageread, tiling, inference, restore):   # modules that imported it by name
        if hasattr(mod, "to_float"):
            mod.to_float = imagebase.to_float
    t.wrap(imageread, "_read_image", "decode", exclude=("to_float",))
    t.wrap(restore.imageio, "write_image", "encode")
    t.wrap_gen(inference, "run_tiled", "tiling", exclude=("forward", "to_float"))

    from engine.jobs import run_to_end
    from engine.models import load_restorer
    load_start = time.perf_counter()
    restorer = load_restorer(args.model, device="cpu", precision=args.precision)
    load_s = time.perf_counter() - load_start
    t.wrap(restorer, "run", "forward")
    restore.load_restorer = lambda *a, **k: restorer

    out = Path(tempfile.mkdtemp()) / "out.png"
    spec = restore.RestoreSpec(inputs=(str(src),), output=str(out), model=args.model,
                               precision=args.precision)
    wall_start = time.perf_counter()
    final = run_to_end(restore.restore_job, spec)
    result = getattr(final, "result", None) or {"written": 0, "error": getattr(final, "message", "")}
    wall = time.perf_counter() - wall_start
    if not result["written"]:
        raise SystemExit(f"restore failed: {result}")
    out.unlink()

    rows = [(k, t.total[k]) for k in ("decode", "to_float", "tiling", "forward", "encode")]
    other = wall - sum(v for _, v in rows)
    print(f"{args.model} ({restorer.precision}) on {args.mp:g} MP, {args.threads} torch "
          f"thread(s); imports {import_s:.2f} s, model load {load_s:.2f} s, "
          f"{t.calls['forward']} tiles, PNG level {imagewrite.PNG_COMPRESSION}")
    print(f"{'stage':<10} {'s':>8} {'share':>7}")
    for name, value in rows + [("other", other)]:
        print(f"{name:<10} {value:8.2f} {value / wall * 100:6.1f}%")
    print(f"{'total':<10} {wall:8.2f}")


if __name__ == "__main__":
    main()
