"""Quality per CPU-minute: train candidate architectures for the same stepping time.

    python bench/arch_compare.py denoise --minutes 10 [--candidates dncnn-17x64 ffdnet ...]

Each candidate runs `restorelab train` on the task's shipped data and recipe, one torch
thread, for the same number of stepping minutes (validation excluded), with the cosine
decay following the time budget; two candidates run at a time on this 2-core machine.
``--clock cpu`` counts the minutes in each process's CPU time instead of wall time, so
candidates running side by side on a shared machine get equal compute however the cores
are shared. Then every result is scored on the first ``--images`` images of the bench set
(CBSD68 at sigma 15/25/50 for denoise). Prints a table and the validation curve (PSNR on
the run's validation set after each ``--points`` share of the budget; those are points of
one schedule whose decay ends at the full budget, not separately trained runs).
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


def run_candidate(name: str, arch: str, kwargs: str, args, home: Path, log: Path):
    overrides = [f"model.arch={arch!r}", f"model.kwargs={kwargs}", f"schedule.minutes={args.minutes}",
                 f"schedule.clock={args.clock!r}", "schedule.steps=1000000", "schedule.warmup=0",
                 "val.every=100000000", f"val.every_minutes={args.minutes / args.points}",
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
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--points", type=int, default=4, help="validations over the budget")
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--home", default="")
    ap.add_argument("--score-only", action="store_true", help="score the runs already in --home")
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="restorelab-compare-"))
    home.mkdir(parents=True, exist_ok=True)
    names = args.candidates or list(CANDIDATES[args.task])
    logs = {n: home / f"{n}.log" for n in names}
    pending = [] if args.score_only else list(names)
    running: list = []
    while pending or running:
        while pending and len(running) < args.parallel:
            n = pending.pop(0)
            arch, kw = CANDIDATES[args.task][n]
            running.append((n, run_candidate(n, arch, kw, args, home, logs[n])))
        n, proc = running.pop(0)
        proc.wait()
    os.environ["RESTORELAB_HOME"] = str(home)
    print(f"| {args.task} candidate | steps in {args.minutes:g} min | "
          "CBSD68 s15 | s25 | s50 |")
    print("|---|---|---|---|---|")
    curves = {}
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
        curves[n] = val_curve(home, n)
    print(f"\nvalidation PSNR (dB) after each {args.clock} minute mark:")
    for n, points in curves.items():
        print(f"- {n}: " + ", ".join(f"{m:g} min {p:.2f}" for m, p in points))


def val_curve(home: Path, name: str) -> list[tuple[float, float]]:
    """(stepping minutes, validation PSNR) of each validation in the named run's journal."""
    from training.experiments import list_experiments

    exp = next(e for e in reversed(list_experiments()) if e.meta.get("name") == name)
    points = {round(m["train_s"] / 60, 1): m["val/psnr"] for m in exp.metrics() if "val/psnr" in m}
    return sorted(points.items())   # the end-of-run validation can repeat the last timed one


if __name__ == "__main__":
    main()
