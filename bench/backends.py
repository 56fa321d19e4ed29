"""Inference backends per shipped model: speed and equality against eager fp32.

Restores one photo-like image (1 MP by default, 12 MP with --full) through the tiled engine
on each backend and prints, per model: ms per input megapixel (median of --repeats runs
after a first run that pays export/compilation), the speed ratio to eager fp32, the
largest difference to the eager fp32 output and whether the backend passes the check
(<= engine.backend_choice.TOLERANCE, and it really ran: no fallback). Eager bf16 is shown for
reference (it is judged by the card's precision_check, not by that tolerance).
--save keeps the measurement in the user cache, where the default backend choice reads it.

Usage: python bench/backends.py [--mp 0.25] [--full] [--models denoise-color sr-x2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ("denoise-color", "sr-x2")


def restore(restorer, pixels, backend: str):
    """(output, seconds, fallback reason or '') of one whole-image restore."""
    from engine.events import Log
    from engine.inference import InferenceOptions, restore_pixels

    start = time.perf_counter()
    gen = restore_pixels(restorer, pixels, InferenceOptions(backend=backend))
    reason = ""
    while True:
        try:
            event = next(gen)
        except StopIteration as end:
            return end.value, time.perf_counter() - start, reason
        if isinstance(event, Log) and "not used" in event.text:
            reason = event.text.split(": ", 1)[-1]


def bench_model(model: str, pixels, names, repeats: int) -> tuple[dict, object]:
    import numpy as np

    from engine.backend_choice import TOLERANCE
    from engine.models import load_restorer

    mp = pixels.shape[0] * pixels.shape[1] / 1e6
    rows, ref = {}, None
    for label in names:
        name, _, precision = label.partition("-")
        restorer = load_restorer(model, device="cpu", precision=precision or "fp32")
        x = pixels.mean(axis=2, keepdims=True) if restorer.in_channels == 1 else pixels
        out, first, reason = restore(restorer, x, name)
        times = [restore(restorer, x, name)[1] for _ in range(repeats)]
        median = float(np.median(times))
        if ref is None:
            ref = out                      # eager fp32 comes first
        diff = float(np.abs(out - ref).max())
        rows[label] = {"ms_per_mp": round(median * 1000 / mp, 1), "max_abs_diff": diff,
                       "ok": not reason and diff <= TOLERANCE,
                       "setup_s": round(max(first - median, 0.0), 2)}
        if reason:
            rows[label]["error"] = reason
        print(f"  {label}: {rows[label]}", file=sys.stderr, flush=True)
    return rows, restorer


def table(model: str, rows: dict) -> str:
    base = rows["eager"]["ms_per_mp"]
    lines = [f"{model}", f"  {'backend':<12} {'ms/MP':>9} {'vs eager':>9} {'max abs diff':>13} "
             f"{'setup s':>8}  check"]
    for name, r in rows.items():
        verdict = "pass" if r["ok"] else ("n/a (bf16)" if name.endswith("bf16") else
                                          f"FAIL {r.get('error', '')}".strip())
        lines.append(f"  {name:<12} {r['ms_per_mp']:>9.0f} {base / r['ms_per_mp']:>8.2f}x "
                     f"{r['max_abs_diff']:>13.2e} {r['setup_s']:>8.1f}  {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mp", type=float, default=1.0, help="input megapixels (default 1)")
    parser.add_argument("--full", action="store_true", help="12 MP")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--backends", nargs="+",
                        default=["eager", "compile", "onnxruntime", "openvino", "eager-bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch/ORT/OpenVINO threads")
    parser.add_argument("--save", action="store_true",
                        help="keep the measurement in the user cache (read by the default choice)")
    args = parser.parse_args()

    import cv2

    from engine import backend_cache, backend_choice, backends, devices
    from engine.precision import sample_image

    devices.set_threads(args.threads)
    side = int((12.0 if args.full else args.mp) ** 0.5 * 1000)
    pixels = cv2.resize(sample_image(), (side, side), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    names = ["eager"] + [n for n in args.backends if n != "eager"]
    print(f"{side}x{side} input ({side * side / 1e6:.2f} MP), {devices.describe('cpu')}, "
          f"median of {args.repeats}")
    for model in args.models:
        rows, restorer = bench_model(model, pixels, names, args.repeats)
        print(table(model, rows), flush=True)
        if args.save:
            check = {n: r for n, r in rows.items() if n in backends.NAMES}
            if "eager-bf16" in rows:
                check["eager-bf16"] = rows["eager-bf16"]
            backend_choice.finish(check, "cpu")
            backend_cache.store_check(restorer, check)
            print(f"  cached: chosen {check['chosen']}")


if __name__ == "__main__":
    main()
