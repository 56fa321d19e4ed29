"""How close each shipped model runs to this CPU's limit, and what tiling costs.

For every shipped model, on one image of --mp megapixels (output), in one process:
- the measured matmul peak (fp32 and bf16 torch.mm, all torch threads), and the model's
  achieved GFLOP/s (2 x MACs per output pixel x pixels per second) as a share of it;
- our restore (default tiles, fp32 and bf16) against one forward pass of the same net on the
  whole image (no tiling, no blending: what a bare PyTorch script does), speed ratio and the
  largest output difference.
Prints a markdown table of medians over --repeats. Usage: python bench/efficiency.py [--mp 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(dtype, repeats: int, n: int = 2048) -> float:
    """GFLOP/s of an n x n matmul: the most this CPU does with these threads."""
    import torch

    a, b = torch.rand(n, n).to(dtype), torch.rand(n, n).to(dtype)
    torch.mm(a, b)
    return 2 * n ** 3 / median_time(lambda: torch.mm(a, b), max(3, repeats)) / 1e9


def macs_per_output_pixel(restorer, side: int = 64) -> float:
    import torch

    from engine.archinfo import count_macs

    first = next(m for m in restorer.module.modules() if isinstance(m, torch.nn.Conv2d))
    x = torch.rand(1, first.in_channels, side, side)
    return count_macs(restorer.module, x) / (side * restorer.scale) ** 2


def whole_forward(restorer, img, precision: str):
    """One forward pass of the net on the whole image, as a bare script would run it."""
    restorer.prepare(img)
    return restorer.finish(restorer.run(img, precision)).clip(0, 1)


def measure(entry, mp: float, repeats: int, peaks: dict) -> dict:
    import numpy as np

    from engine.inference import InferenceOptions, restore_whole
    from engine.models import load_restorer

    restorer = load_restorer(str(entry.path), device="cpu", precision="fp32")
    side = int((mp * 1e6) ** 0.5) // restorer.scale // 8 * 8
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    out_mp = (side * restorer.scale) ** 2 / 1e6
    macs = macs_per_output_pixel(restorer)
    row = {"model": entry.id, "macs": macs}
    for precision in ("fp32", "bf16"):
        options = InferenceOptions(precision=precision, backend="eager")   # the PyTorch path
        ours = restore_whole(restorer, img, options)
        t_ours = median_time(lambda: restore_whole(restorer, img, options), repeats)
        plain = whole_forward(restorer, img, precision)
        t_plain = median_time(lambda: whole_forward(restorer, img, precision), repeats)
        gflops = 2 * macs * out_mp * 1e6 / t_ours / 1e9
        row[precision] = {"mp_s": out_mp / t_ours, "gflops": gflops,
                          "of_peak": gflops / peaks[precision], "vs_plain": t_plain / t_ours,
                          "diff": float(np.abs(ours - plain).max())}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mp", type=float, default=1.0, help="output megapixels per image")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="*", help="shipped model ids (default: all)")
    args = parser.parse_args()

    import torch

    from engine.checkpoints import list_models

    peaks = {"fp32": matmul_peak(torch.float32, args.repeats),
             "bf16": matmul_peak(torch.bfloat16, args.repeats)}
    print(f"matmul peak with {torch.get_num_threads()} threads: fp32 {peaks['fp32']:.0f} GFLOP/s, "
          f"bf16 {peaks['bf16']:.0f} GFLOP/s; {args.mp:g} MP outputs, medians of {args.repeats}\n")
    print("| model | MACs/px | precision | MP/s | GFLOP/s | of peak | ours / one whole forward "
          "(speed) | max diff |")
    print("|---|---|---|---|---|---|---|---|")
    for entry in list_models():
        if not entry.shipped or (args.models and entry.id not in args.models):
            continue
        row = measure(entry, args.mp, args.repeats, peaks)
        for precision in ("fp32", "bf16"):
            r = row[precision]
            print(f"| {row['model']} | {row['macs'] / 1e3:.0f}k | {precision} | {r['mp_s']:.3f} | "
                  f"{r['gflops']:.1f} | {100 * r['of_peak']:.0f}% | {r['vs_plain']:.2f}x | "
                  f"{r['diff']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
