"""Train the models RestoreLab ships, with RestoreLab's own training, into resources/models.

    python packaging/train_shipped.py --prepare           # RealSR noise patches + kernels
    python packaging/train_shipped.py [PRESET ...]        # continue (or start) and install
    python packaging/train_shipped.py ship-denoise --steps 20000 --threads 1
    python packaging/train_shipped.py --fresh ship-sobel  # start over from the preset
    python packaging/train_shipped.py --device cuda       # the GPU recipe (README)
    python packaging/train_shipped.py --install RUN       # install a finished experiment
    python packaging/train_shipped.py --check-precision   # bf16 vs fp32 into the cards

By default each shipped model goes on from where it stopped: its folder keeps a
resumable train_state.pt (optimizer, EMA, step, data position and raw weights), so
`restorelab train --resume <model>` adds ``--steps`` more steps (the cosine schedule
restarts over the longer run). Runs live in build/ship-home (a private
RESTORELAB_HOME) and are installed into resources/models/<id> with their card, the
validation curve over training time and the time to restore a 12 MP photo here.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIP = {  # preset -> (shipped id, title)
    "ship-denoise": ("denoise-color", "Denoise (colour + grey; sigma given or blind)"),
    "ship-deblur": ("deblur", "Deblur (blur sigma given or estimated)"),
    "ship-sr-x2": ("sr-x2", "Super-resolution x2"),
    "ship-sr-x4": ("sr-x4", "Super-resolution x4"),
    "ship-realsr-x2": ("realsr-x2", "Real-world super-resolution x2"),
    "ship-sobel": ("sobel-edges", "Learned Sobel edges"),
}
REALSR = ROOT / "build" / "realsr"


def prepare_realsr(seed: int = 0) -> None:
    """Noise patches from real photos (two-stage NL-means residuals) and a kernel pool."""
    import numpy as np

    from engine import imageio
    from training.degradations.realsr import extract_noise_patches, save_patches

    photos = sorted((ROOT.parent / "shared" / "data" / "train" / "BSDS500_test200").glob("*"))[:60]
    rng = np.random.default_rng(seed)
    images = (imageio.read_image(p).pixels[:, :, :3] for p in photos)
    shutil.rmtree(REALSR, ignore_errors=True)
    patches = extract_noise_patches(images, patch=64, per_image=6, rng=rng)
    save_patches(patches, REALSR / "noise")
    # Kernels: anisotropic Gaussians with a little motion, the family real camera kernels
    # are usually fitted with (KernelGAN-style estimation per photo is not done here).
    kdir = REALSR / "kernels"
    kdir.mkdir(parents=True)
    y, x = np.mgrid[-7:8, -7:8].astype(np.float64)
    for i in range(64):
        s1, s2 = rng.uniform(0.4, 2.2, size=2)
        theta = rng.uniform(0, np.pi)
        c, s = np.cos(theta), np.sin(theta)
        u, v = c * x + s * y, -s * x + c * y
        k = np.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2))
        np.save(kdir / f"kernel_{i:03d}.npy", (k / k.sum()).astype(np.float32))
    print(f"prepared {len(patches)} noise patches and 64 kernels in {REALSR}")


def seconds_per_12mp(model_dir: Path, precision: str = "fp32") -> float:
    """Time to restore a 12 MP (4000x3000) image on the CPU, from a 1 MP sample."""
    import numpy as np

    from engine.inference import InferenceOptions, restore_pixels
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device="cpu", precision=precision)
    side = 1024 // restorer.scale
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    start = time.perf_counter()
    for _ in restore_pixels(restorer, img, InferenceOptions(precision=precision)):
        pass
    out_mp = (side * restorer.scale) ** 2 / 1e6
    return (time.perf_counter() - start) * 12.0 / out_mp


MAX_STATE_MB = 20      # resumable states larger than this stay out of git
# one CUDA GPU fed by 16 CPU cores: 8x the batch, 12 loader processes, 75 s of stepping per
# model (6 models: 7.5 min), the cosine decay following the time budget
GPU = {"batch_factor": 8, "workers": 12, "minutes": 1.25}


def val_curve(exp) -> list[dict]:
    """Validation PSNR against training seconds, over every session of the run."""
    return [{"step": r["step"], "psnr": round(r["val/psnr"], 4), "train_s": r.get("train_s")}
            for r in exp.metrics() if "val/psnr" in r]


def install(exp_ref: str, into: Path) -> Path:
    """Copy an experiment's registered model into resources/models with a resumable state."""
    import torch

    from engine.atomic import write_json
    from engine.checkpoints import TRAIN_STATE, find_model, read_card
    from engine.precision import CARD_KEY, check_bf16
    from training import experiments
    from training.resumable import resumable_state

    exp = experiments.find(exp_ref)
    preset = exp.config().get("name", "")
    if preset not in SHIP:
        raise SystemExit(f"experiment {exp.number} ran '{preset}', not a shipped preset")
    entry = find_model(exp.meta.get("model") or "")
    if entry is None:
        raise SystemExit(f"experiment {exp.number} has registered no model yet")
    ship_id, title = SHIP[preset]
    target = into / ship_id
    staging = target.with_name(f".{ship_id}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(entry.path, staging, ignore=shutil.ignore_patterns(TRAIN_STATE))
    state = resumable_state(exp)
    torch.save(state, staging / TRAIN_STATE)
    if (staging / TRAIN_STATE).stat().st_size > MAX_STATE_MB * 2**20:
        (staging / TRAIN_STATE).unlink()
        print(f"note: {ship_id}'s training state is over {MAX_STATE_MB} MB; not kept")
    card = read_card(staging)
    card.update(name=ship_id, title=title, source="shipped",
                train_minutes=round(float(state.get("train_s", 0.0)) / 60, 1),
                val_curve=val_curve(exp),
                restore_12mp_cpu_s=round(seconds_per_12mp(staging), 1),
                **{CARD_KEY: check_bf16(str(staging))},
                retrain=f"python packaging/train_shipped.py {preset}  (continues; --fresh starts over)")
    write_json(staging / "card.json", card)
    old = target.with_name(f".{ship_id}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    print(f"installed {ship_id}: {card.get('metrics')} after {card['train_minutes']} min, "
          f"12 MP in {card['restore_12mp_cpu_s']} s")
    return target


def check_precision(into: Path, ids: list[str]) -> None:
    """Measure bf16 against fp32 for shipped models and keep the result in their cards."""
    from engine.atomic import write_json
    from engine.checkpoints import read_card
    from engine.precision import CARD_KEY, check_bf16

    for ship_id in ids:
        folder = into / ship_id
        card = read_card(folder)
        card[CARD_KEY] = check_bf16(str(folder))
        write_json(folder / "card.json", card)
        print(f"{ship_id}: {card[CARD_KEY]}")


def train(preset: str, args) -> None:
    """Continue the shipped model's training (or start it), then install the result."""
    from desktop.cli import main as cli
    from engine.checkpoints import TRAIN_STATE, read_card
    from training.config import load_raw

    ship_id, _ = SHIP[preset]
    shipped = Path(args.into) / ship_id
    raw = load_raw(None, preset=preset)
    overrides = [f"threads={args.threads}"]
    if args.device != "cpu":
        batch = raw["data"]["batch"] * GPU["batch_factor"]
        overrides += [f"device={args.device!r}", f"data.batch={batch}",
                      f"data.workers={GPU['workers']}", "schedule.steps=1000000"]
        args.minutes = args.minutes or GPU["minutes"]
    if args.minutes:
        overrides.append(f"schedule.minutes={args.minutes}")
    if not args.fresh and (shipped / TRAIN_STATE).exists():
        done = int(read_card(shipped).get("steps", 0))
        steps = done + (args.steps or raw["schedule"]["steps"])
        command = ["train", "--resume", str(shipped), "--set", f"schedule.steps={steps}"]
    else:
        command = ["train", "--preset", preset, "--name", preset]
        if args.steps:
            overrides.append(f"schedule.steps={args.steps}")
    for item in overrides:
        command += ["--set", item]
    command += ["--json"]
    print("restorelab " + " ".join(command), flush=True)
    if cli(command) != 0:
        raise SystemExit(f"training {preset} failed")
    from training import experiments

    latest = max((e for e in experiments.list_experiments() if e.config().get("name") == preset),
                 key=lambda e: e.number)
    install(str(latest.path), Path(args.into))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", default=list(SHIP))
    parser.add_argument("--prepare", action="store_true", help="prepare RealSR noise + kernels")
    parser.add_argument("--fresh", action="store_true", help="start from the preset, not the shipped state")
    parser.add_argument("--steps", type=int, default=0, help="steps to add (default: the preset's)")
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="stepping time per model (the schedule follows it)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 was fastest per run here)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (the GPU recipe)")
    parser.add_argument("--install", metavar="RUN", help="install a finished experiment and exit")
    parser.add_argument("--check-precision", action="store_true",
                        help="measure bf16 vs fp32 for the presets' shipped models (card precision_check)")
    parser.add_argument("--home", default=str(ROOT / "build" / "ship-home"),
                        help="RESTORELAB_HOME for the runs")
    parser.add_argument("--into", default=str(ROOT / "resources" / "models"),
                        help="where shipped models live (tests use a scratch folder)")
    args = parser.parse_args()
    if args.prepare:
        prepare_realsr()
        return
    os.environ["RESTORELAB_HOME"] = str(Path(args.home).resolve())
    os.chdir(ROOT)
    if args.install:
        install(args.install, Path(args.into))
        return
    if args.check_precision:
        check_precision(Path(args.into), [SHIP[p][0] for p in args.presets if p in SHIP])
        return
    unknown = [p for p in args.presets if p not in SHIP]
    if unknown:
        raise SystemExit(f"not a shipped preset: {', '.join(unknown)} (known: {', '.join(SHIP)})")
    for preset in args.presets:
        train(preset, args)


if __name__ == "__main__":
    main()
