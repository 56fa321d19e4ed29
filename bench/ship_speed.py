"""Restore time of each shipped model at 12 MP, beside an earlier version of it, in one run.

    python bench/ship_speed.py [--old DIR] [--repeats 3] [--update-cards]

Times a 1 MP restore (default tiling, fp32 and bf16) of every model in resources/models and,
with ``--old``, of the same ids in DIR (e.g. the previous release's resources/models,
exported with `git show`), and extrapolates to 12 MP. Old and new run interleaved, so the
ratio is fair on a shared, noisy machine; medians of ``--repeats``. ``--update-cards`` writes
the fp32 figure into each shipped card (restore_12mp_cpu_s).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "packaging"))
from train_shipped import seconds_per_12mp as seconds_12mp  # noqa: E402  (what cards record)

SHIPPED = ROOT / "resources" / "models"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help="folder with earlier versions of the shipped models")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--update-cards", action="store_true")
    args = ap.parse_args()
    ids = args.models or sorted(p.name for p in SHIPPED.iterdir() if (p / "card.json").exists())
    print("| model | arch | fp32 s / 12 MP | bf16 s / 12 MP | earlier fp32 | new / earlier |")
    print("|---|---|---|---|---|---|")
    for mid in ids:
        new, old = SHIPPED / mid, Path(args.old) / mid if args.old else None
        has_old = old is not None and (old / "model.safetensors").exists()
        times = {"fp32": [], "bf16": [], "old": []}
        for _ in range(args.repeats):
            times["fp32"].append(seconds_12mp(new, "fp32"))
            if has_old:
                times["old"].append(seconds_12mp(old, "fp32"))
            times["bf16"].append(seconds_12mp(new, "bf16"))
        med = {k: statistics.median(v) for k, v in times.items() if v}
        card = json.loads((new / "card.json").read_text())
        arch = card.get("arch", "?")
        before = f"{med['old']:.1f}" if has_old else "—"
        ratio = f"{med['fp32'] / med['old']:.2f}x" if has_old else "—"
        print(f"| {mid} | {arch} | {med['fp32']:.1f} | {med['bf16']:.1f} | {before} | {ratio} |",
              flush=True)
        if args.update_cards:
            from engine.atomic import write_json

            write_json(new / "card.json", {**card, "restore_12mp_cpu_s": round(med["fp32"], 1),
                                           "restore_12mp_cpu_s_bf16": round(med["bf16"], 1)})


if __name__ == "__main__":
    main()
