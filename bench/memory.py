"""Peak memory of a CPU restore by image size: one subprocess per size, so each peak
(resource.getrusage ru_maxrss) is its own. The input is a synthetic photo-like 8-bit PNG
written to /tmp; the restore is the CLI's job (read, restore, write) with a shipped model.

Usage: python bench/memory.py [--model sobel-edges] [--sizes 12 24 48] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MB = 1536


def bench_image(mp: float) -> Path:
    from bench.profile_restore import synthetic_png

    return synthetic_png(mp, Path(tempfile.gettempdir()) / f"restorelab-bench-{mp:g}mp.png")


def child(mp: float, model: str, threads: int) -> dict:
    import resource

    import torch

    from engine.jobs import run_to_end
    from engine.restore import RestoreSpec, restore_job

    torch.set_num_threads(threads)
    src = bench_image(mp)
    out = Path(tempfile.mkdtemp()) / "out.png"
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    final = run_to_end(restore_job, RestoreSpec((str(src),), str(out), model=model, device="cpu"))
    result = getattr(final, "result", None) or {"written": 0, "error": getattr(final, "message", "")}
    seconds = time.perf_counter() - start
    if not result["written"]:
        raise SystemExit(f"restore failed: {result}")
    out.unlink()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mp": mp, "s": seconds, "base_mb": base_mb, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sobel-edges")
    parser.add_argument("--sizes", type=float, nargs="+", default=[12, 24, 48])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.model, args.threads)))
        return
    print(f"{args.model} on CPU, {args.threads} torch thread(s); target peak <= {TARGET_MB} MB")
    print(f"{'MP':>5} {'restore s':>10} {'after imports MB':>17} {'peak RSS MB':>12}  target")
    for mp in args.sizes:
        bench_image(mp)    # written here, so the child's peak is the restore's alone
        run = subprocess.run([sys.executable, __file__, "--child", str(mp), "--model", args.model,
                              "--threads", str(args.threads)], capture_output=True, text=True)
        if run.returncode:
            print(f"{mp:5g}  failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(run.stdout.strip().splitlines()[-1])
        ok = "ok" if row["peak_mb"] <= TARGET_MB else "missed"
        print(f"{mp:5g} {row['s']:10.1f} {row['base_mb']:17.0f} {row['peak_mb']:12.0f}  {ok}",
              flush=True)


if __name__ == "__main__":
    main()
