"""Quality per CPU-minute: train candidate architectures for the same stepping time.

    python bench/arch_compare.py denoise --minutes 10 [--candidates dncnn-17x64 ffdnet ...]

Each candidate runs `restorelab train` on the task's shipped data and recipe, one torch
thread, for the same number of stepping minutes (validation excluded), with the cosine
decay following the time budget; two candidates run at a time on this 2-core machine.
Then every result is scored on the first ``--images`` images of the bench set (CBSD68
at sigma 15/25/50 for denoise). Prints a table and the validation curves (PSNR at each
fifth of the budget).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# blind AWGN 0..55, clipped, no level map: every backbone sees the same data
DENOISE_RECIPE = "[{type='gaussian_noise', sigma=[0, 55], clip=true}]"
CANDIDATES = {
    "denoise": {
        "dncnn-17x64": ("dncnn", "{depth=17, width=64, batchnorm=true}"),
        "ffdnet-12x96": ("ffdnet", "{depth=12, width=96}"),
        "nafnet-w32": ("nafnet", "{width=32}"),
        "resunet-32-64-128": ("resunet", "{widths=[32, 64, 128], blocks=2}"),
    },
}


def run_candidate(name: str, arch: str, kwargs: str, minutes: float, home: Path, log: Path):
    overrides = [f"model.arch={arch!r}", f"model.kwargs={kwargs}", f"schedule.minutes={minutes}",
                 "schedule.steps=1000000", "schedule.warmup=0", "val.every=100000000",
                 "threads=1", f"data.recipe={DENOISE_RECIPE}"]
    cmd = [str(Path(sys.executable).with_name("restorelab")), "train", "--preset", "ship-denoise", "--name", name,
           "--json", "-q"] + [x for o in overrides for x in ("--set", o)]
    env = {**os.environ, "RESTORELAB_HOME": str(home)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def score(model_path: str, images: int) -> dict[str, float]:
    import numpy as np

    from bench.quality import cases, q8
    from engine.inference import restore_whole
    from engine.models import load_restorer
    from training.metrics import psnr

    out = {}
    restorer = load_restorer(model_path, device="cpu")
    for ds, proto, items, _, _ in cases("denoise", images):
        if ds != "CBSD68" or proto.endswith("q8"):
            continue
        scores = []
        for _, degraded, ref in items:
            scores.append(psnr(q8(restore_whole(restorer, degraded)), ref))
        out[proto] = float(np.mean(scores))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("task", choices=list(CANDIDATES))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--candidates", nargs="*")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--home", default="")
    ap.add_argument("--score-only", action="store_true", help="score the runs already in --home")
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="restorelab-compare-"))
    names = args.candidates or list(CANDIDATES[args.task])
    logs = {n: home / f"{n}.log" for n in names}
    pending = [] if args.score_only else list(names)
    running: list = []
    while pending or running:
        while pending and len(running) < args.parallel:
            n = pending.pop(0)
            arch, kw = CANDIDATES[args.task][n]
            running.append((n, run_candidate(n, arch, kw, args.minutes, home, logs[n])))
        n, proc = running.pop(0)
        proc.wait()
    os.environ["RESTORELAB_HOME"] = str(home)
    print(f"| {args.task} candidate | steps in {args.minutes:g} min | "
          "CBSD68 s15 | s25 | s50 |")
    print("|---|---|---|---|---|")
    for n in names:
        text = logs[n].read_text()
        try:
            result = json.loads(text[text.rindex("\n{") + 1 if not text.startswith("{") else 0:])
        except ValueError:
            print(f"| {n} | failed: {text.strip().splitlines()[-1][:80]} | | | |")
            continue
        s = score(result["model_path"], args.images)
        print(f"| {n} | {result['step']} | {s['sigma15']:.2f} | {s['sigma25']:.2f} | "
              f"{s['sigma50']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
