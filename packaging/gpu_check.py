"""The GPU path, checked on a CUDA machine: what `packaging/gpu_check.sh` runs.

1. the self-test;
2. every shipped model restores a dev image on the GPU, whole and in (batched) tiles, in fp32,
   compared with the CPU's fp32 result: PSNR > 50 dB is a pass; bf16/fp16 (where the GPU has
   them) must stay above 30 dB (a NaN or garbage tile fails, rounding does not);
3. the smoke preset trains on the GPU in fp32, in fp16 (its GradScaler; bf16 on a CPU), and
   under a one-process torchrun (DistributedDataParallel, NCCL);
4. each shipped model is timed at 12 MP on the GPU (from a 2 MP sample, after a warm-up).

Prints one table (markdown, for docs/benchmarks.md) and exits non-zero if any check fails.
``--dry-run`` runs every check on the CPU against itself, small (a minute or two): it proves
the script, not the GPU.
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
PASS_DB = 50.0    # fp32 on the device against fp32 on the CPU
LOW_DB = 30.0     # bf16/fp16 against fp32: rounding passes, NaN or a broken tile does not


def psnr(a, b) -> float:
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if not np.isfinite(mse):
        return float("nan")
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


def restore(model_dir: Path, img, device: str, precision: str, tile: int | None = 0):
    """The restored image; ``tile`` 0: whole, N: tiles of N px (batched where the device is)."""
    from engine.inference import InferenceOptions, restore_whole
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device=device, precision=precision)
    return restore_whole(restorer, img, InferenceOptions(precision=precision, tile=tile))


def seconds_12mp(model_dir: Path, device: str, precision: str, side_out: int = 1448,
                 repeats: int = 3) -> float:
    """Median seconds of one restore, scaled to 12 MP of output."""
    import numpy as np

    from engine.inference import InferenceOptions, restore_whole
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device=device, precision=precision)
    side = side_out // restorer.scale   # ~2 MP of output by default
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    options = InferenceOptions(precision=precision)
    restore_whole(restorer, img[:64, :64], options)   # warm-up: kernels, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        restore_whole(restorer, img, options)
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 12.0 / ((side * restorer.scale) ** 2 / 1e6)


def lower_precisions(device: str) -> list[str]:
    import torch

    if not device.startswith("cuda"):
        return ["bf16"]
    found = ["fp16"]
    if torch.cuda.is_bf16_supported():
        found.insert(0, "bf16")
    return found


def run(cmd: list[str], env: dict, timeout: int) -> tuple[bool, str]:
    try:
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s"
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return done.returncode == 0, " / ".join(tail)[:200]


def model_rows(entry, img, device: str, tile: int) -> list[tuple[str, str, str]]:
    """fp32 whole and tiled against the CPU, then the lower precisions against fp32."""
    rows = []
    checks = [("fp32", 0, PASS_DB), (f"fp32 tiles of {tile}", tile, PASS_DB)]
    checks += [(p, 0, LOW_DB) for p in lower_precisions(device)]
    refs = {}
    for label, tiles, need in checks:
        precision = label.split()[0]
        try:
            if tiles not in refs:
                refs[tiles] = restore(entry.path, img, "cpu", "fp32", tiles)
            db = psnr(restore(entry.path, img, device, precision, tiles), refs[tiles])
            verdict = "pass" if db > need else "FAIL"   # nan > need is False
            rows.append((f"{entry.id} {label} vs CPU fp32", verdict, f"{db:.1f} dB (> {need:g})"))
        except Exception as err:   # one model failing must not hide the others
            rows.append((f"{entry.id} {label}", "FAIL", f"{type(err).__name__}: {err}"[:200]))
    return rows


def train_rows(cli: list[str], env: dict, device: str, steps: int) -> list[tuple[str, str, str]]:
    """The smoke preset: fp32, mixed precision (fp16 + GradScaler on CUDA), 1-process torchrun."""
    common = ["--preset", "smoke", "--set", f"schedule.steps={steps}", "--set", "data.workers=0"]
    mixed = "fp16" if device.startswith("cuda") else "bf16"
    runs = [
        (f"train smoke fp32 ({steps} steps)",
         [*cli, "train", *common, "--device", device, "-q", "--set", "precision='fp32'"]),
        (f"train smoke {mixed} ({steps} steps)",
         [*cli, "train", *common, "--device", device, "-q", "--set", f"precision='{mixed}'"]),
        (f"torchrun 1 process ({steps} steps)",
         [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1",
          "-m", "training.run", *common, "--set", f"device='{device}'"]),
    ]
    rows = []
    for label, cmd in runs:
        ok, tail = run(cmd, env, 1200)
        rows.append((label, "pass" if ok else "FAIL", tail))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=40, help="smoke training steps")
    parser.add_argument("--models", nargs="*", help="shipped model ids (default: all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="every check on the CPU, small and quick: tries the script anywhere")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.device, args.steps = "cpu", min(args.steps, 3)

    import torch

    from engine.checkpoints import list_models

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"no CUDA device here (torch {torch.__version__}, built for CUDA "
              f"{torch.version.cuda}); nothing checked. `--dry-run` tries the script on the CPU.")
        return 2
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as home:   # runs and models go here
        rows = checks(args, {**os.environ, "RESTORELAB_HOME": home}, list_models())
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    what = "dry run on the CPU (not a GPU result)" if args.dry_run else name
    print(f"\n## GPU check: {what} (torch {torch.__version__}, {time.strftime('%Y-%m-%d')})\n")
    print("| check | result | detail |")
    print("|---|---|---|")
    for check, verdict, detail in rows:
        print(f"| {check} | {verdict} | {detail.replace('|', '/')} |")
    failed = [check for check, verdict, _ in rows if verdict == "FAIL"]
    print(f"\n{len(failed)} of {len(rows)} checks failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def checks(args, env: dict, models: list) -> list[tuple[str, str, str]]:
    """Every check's row: (check, pass | FAIL | time, detail)."""
    rows: list[tuple[str, str, str]] = []
    if not args.device.startswith("cuda"):
        env["CUDA_VISIBLE_DEVICES"] = ""   # the self-test picks the best device: make it this one
    cli = [sys.executable, "-m", "desktop.cli"]

    ok, tail = run([*cli, "self-test"], env, 900)
    rows.append(("self-test", "pass" if ok else "FAIL", tail))

    shipped = [e for e in models if e.shipped and (not args.models or e.id in args.models)]
    if not shipped:
        rows.append(("shipped models", "FAIL", f"none found (--models {args.models})"))
    side, tile = (64, 32) if args.dry_run else (256, 96)
    img = dev_image(side)
    for entry in shipped:
        rows += model_rows(entry, img, args.device, tile)

    rows += train_rows(cli, env, args.device, args.steps)

    side_out, repeats = (256, 1) if args.dry_run else (1448, 3)
    for entry in shipped:
        for precision in ["fp32", *lower_precisions(args.device)[:1]]:
            try:
                s = seconds_12mp(entry.path, args.device, precision, side_out, repeats)
                rows.append((f"{entry.id} 12 MP {precision}", "time", f"{s:.2f} s"))
            except Exception as err:
                rows.append((f"{entry.id} 12 MP {precision}", "FAIL", f"{err}"[:200]))
    return rows


if __name__ == "__main__":
    sys.exit(main())
