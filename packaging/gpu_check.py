"""The GPU path, checked on a CUDA machine: what `packaging/gpu_check.sh` runs.

1. the self-test;
2. every shipped model restores a dev image on the GPU (fp32, and bf16/fp16 where the GPU has
   them) and is compared with the CPU's fp32 result: PSNR > 50 dB is a pass;
3. the smoke preset trains a few steps on the GPU (mixed precision with its GradScaler);
4. each shipped model is timed at 12 MP on the GPU (from a 2 MP sample, after a warm-up).

Prints one table (markdown, for docs/benchmarks.md) and exits non-zero if any check fails.
``--device cpu`` runs the same checks on the CPU against itself: a dry run of the script.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV_IMAGE = ROOT.parent / "shared" / "data" / "bench" / "Set14"
PASS_DB = 50.0


def psnr(a, b) -> float:
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def dev_image(side: int = 256):
    """A crop of a bench image (or, where ../shared is absent, a fixed random image)."""
    import numpy as np

    from engine.imageio import read_image

    files = sorted(p for p in DEV_IMAGE.glob("*.png")) if DEV_IMAGE.is_dir() else []
    if files:
        pixels = read_image(files[0]).pixels[..., :3]
        return np.ascontiguousarray(pixels[:side, :side]).astype(np.float32)
    return np.random.default_rng(0).random((side, side, 3), dtype=np.float32)


def restore(model_dir: Path, img, device: str, precision: str):
    from engine.inference import InferenceOptions, restore_whole
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device=device, precision=precision)
    return restore_whole(restorer, img, InferenceOptions(precision=precision))


def seconds_12mp(model_dir: Path, device: str, precision: str) -> float:
    import numpy as np

    from engine.inference import InferenceOptions, restore_whole
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device=device, precision=precision)
    side = 1448 // restorer.scale   # ~2 MP of output
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    options = InferenceOptions(precision=precision)
    restore_whole(restorer, img[:256, :256], options)   # warm-up: kernels, allocator
    times = []
    for _ in range(3):
        start = time.perf_counter()
        restore_whole(restorer, img, options)
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[1] * 12.0 / ((side * restorer.scale) ** 2 / 1e6)


def lower_precisions(device: str) -> list[str]:
    import torch

    if not device.startswith("cuda"):
        return ["bf16"]
    found = ["fp16"]
    if torch.cuda.is_bf16_supported():
        found.insert(0, "bf16")
    return found


def run(cmd: list[str], env: dict, timeout: int) -> tuple[bool, str]:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return done.returncode == 0, " / ".join(tail)[:200]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=40, help="smoke training steps")
    parser.add_argument("--models", nargs="*", help="shipped model ids (default: all)")
    args = parser.parse_args()

    import torch

    from engine.checkpoints import list_models

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"no CUDA device here (torch {torch.__version__}, built for CUDA "
              f"{torch.version.cuda}); nothing checked")
        return 2
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    rows: list[tuple[str, str, str]] = []
    env = {**os.environ, "RESTORELAB_HOME": tempfile.mkdtemp(prefix="gpu-check-")}
    cli = [sys.executable, "-m", "desktop.cli"]

    ok, tail = run([*cli, "self-test"], env, 900)   # it runs on the best device present
    rows.append(("self-test", "pass" if ok else "FAIL", tail))

    shipped = [e for e in list_models() if e.shipped and (not args.models or e.id in args.models)]
    img = dev_image()
    for entry in shipped:
        try:
            ref = restore(entry.path, img, "cpu", "fp32")
            for precision in ["fp32", *lower_precisions(args.device)]:
                got = restore(entry.path, img, args.device, precision)
                db = psnr(got, ref)
                verdict = "pass" if db > PASS_DB or precision != "fp32" else "FAIL"
                rows.append((f"{entry.id} {precision} vs CPU fp32", verdict, f"{db:.1f} dB"))
        except Exception as err:   # one model failing must not hide the others
            rows.append((f"{entry.id} restore", "FAIL", f"{type(err).__name__}: {err}"[:200]))

    ok, tail = run([*cli, "train", "--preset", "smoke", "--device", args.device, "-q",
                    "--set", f"schedule.steps={args.steps}"], env, 1200)
    rows.append((f"train smoke ({args.steps} steps)", "pass" if ok else "FAIL", tail))

    for entry in shipped:
        for precision in ["fp32", *lower_precisions(args.device)[:1]]:
            try:
                s = seconds_12mp(entry.path, args.device, precision)
                rows.append((f"{entry.id} 12 MP {precision}", "time", f"{s:.2f} s"))
            except Exception as err:
                rows.append((f"{entry.id} 12 MP {precision}", "FAIL", f"{err}"[:200]))

    print(f"\n## GPU check: {name} (torch {torch.__version__}, {time.strftime('%Y-%m-%d')})\n")
    print("| check | result | detail |")
    print("|---|---|---|")
    for check, verdict, detail in rows:
        print(f"| {check} | {verdict} | {detail.replace('|', '/')} |")
    return 1 if any(v == "FAIL" for _, v, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
