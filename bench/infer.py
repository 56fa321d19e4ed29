"""Tiled vs untiled inference of one conv net: throughput and peak memory.

Each case runs in its own process so its peak RSS (VmHWM) is its own.
Prints a table of medians over repeats. Usage: python bench/infer.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES_MP = (2, 12, 48)


def child(mp: int, tiled: bool, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    from torch import nn

    from engine.descriptor import NetRestorer
    from engine.inference import InferenceOptions, auto_tile, restore_whole
    from engine.registry import ArchSpec

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1))
    net.receptive_radius = 3
    spec = ArchSpec(id="bench", family="bench", title="bench", tasks=("denoise",), builder="x:y")
    restorer = NetRestorer(net, spec)
    w = int((mp * 1e6 * 4 / 3) ** 0.5) // 8 * 8
    h = int(mp * 1e6 / w)
    img = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    options = InferenceOptions(tile=None if tiled else 0, backend="eager")   # the PyTorch path
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = restore_whole(restorer, img, options)
        times.append(time.perf_counter() - start)
        del out
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
                   if line.startswith("VmHWM"))
    buffers_mb = 2 * img.nbytes / 2**20  # the input and the output image themselves
    return {"buffers_mb": buffers_mb, "mp": h * w / 1e6, "tiled": tiled, "tile": auto_tile(restorer, options.budget_mb) if tiled else 0,
            "median_s": sorted(times)[len(times) // 2], "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MP", "TILED"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1] == "1", args.repeats)))
        return
    rows = []
    for mp in SIZES_MP:
        for tiled in (False, True):
            if mp == 48 and not tiled:
                rows.append({"mp": mp, "tiled": False, "skipped": "activations do not fit"})
                continue
            out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats),
                                  "--child", str(mp), "1" if tiled else "0"],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                rows.append({"mp": mp, "tiled": tiled, "skipped": out.stderr.strip()[-80:]})
                continue
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'MP':>5} {'mode':>8} {'tile':>5} {'median s':>9} {'MP/s':>7} {'peak RSS MB':>12} {'beyond images':>14} {'tiled/untiled':>14}")
    untiled = {}
    for r in rows:
        if "skipped" in r:
            print(f"{r['mp']:>5} {'untiled' if not r['tiled'] else 'tiled':>8}   skipped: {r['skipped']}")
            continue
        mode = "tiled" if r["tiled"] else "untiled"
        speed = r["mp"] / r["median_s"]
        ratio = ""
        if not r["tiled"]:
            untiled[round(r["mp"])] = speed
        elif round(r["mp"]) in untiled:
            ratio = f"{speed / untiled[round(r['mp'])]:.2f}x"
        print(f"{r['mp']:>5.1f} {mode:>8} {r['tile']:>5} {r['median_s']:>9.2f} {speed:>7.2f} "
              f"{r['peak_rss_mb']:>12.0f} {r['peak_rss_mb'] - r['buffers_mb']:>14.0f} {ratio:>14}")


if __name__ == "__main__":
    main()
