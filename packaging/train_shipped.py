"""Train the models RestoreLab ships, with RestoreLab's own training, into resources/models.

    python packaging/train_shipped.py --prepare           # RealSR noise patches + kernels
    python packaging/train_shipped.py [PRESET ...]        # train ship-* presets and install them

Each model is trained from its committed preset (training/presets/ship-*.toml) in a
private RESTORELAB_HOME, then copied to resources/models/<id>/ with its card, which
gains the time it takes to restore a 12 MP photo on this machine's CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIP = {  # preset -> (shipped id, title)
    "ship-denoise": ("denoise-color", "Denoise (colour, blind)"),
    "ship-deblur": ("deblur", "Deblur (Gaussian/defocus/motion)"),
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


def seconds_per_12mp(model_dir: Path) -> float:
    """Time to restore a 12 MP (4000x3000) image on the CPU, from a 1 MP sample."""
    import numpy as np

    from engine.inference import InferenceOptions, restore_pixels
    from engine.models import load_restorer

    restorer = load_restorer(str(model_dir), device="cpu")
    side = 1024 // restorer.scale
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    start = time.perf_counter()
    for _ in restore_pixels(restorer, img, InferenceOptions()):
        pass
    out_mp = (side * restorer.scale) ** 2 / 1e6
    return (time.perf_counter() - start) * 12.0 / out_mp


def train(preset: str, home: Path) -> None:
    from desktop.cli import main as cli

    os.environ["RESTORELAB_HOME"] = str(home)
    os.chdir(ROOT)
    start = time.time()
    if cli(["train", "--preset", preset, "--name", preset]) != 0:
        raise SystemExit(f"training {preset} failed")
    minutes = (time.time() - start) / 60
    from engine.checkpoints import list_models

    entry = max((m for m in list_models() if m.id.startswith(preset)), key=lambda m: m.card["created"])
    ship_id, title = SHIP[preset]
    target = ROOT / "resources" / "models" / ship_id
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(entry.path, target, ignore=shutil.ignore_patterns("train_state.pt"))
    card = json.loads((target / "card.json").read_text())
    card.update(name=ship_id, title=title, source="shipped", train_minutes=round(minutes, 1),
                restore_12mp_cpu_s=round(seconds_per_12mp(target), 1),
                retrain=f"restorelab train --preset {preset}")
    (target / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    print(f"installed {ship_id}: {card.get('metrics')} in {minutes:.1f} min, "
          f"12 MP in {card['restore_12mp_cpu_s']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", default=list(SHIP))
    parser.add_argument("--prepare", action="store_true", help="prepare RealSR noise + kernels")
    args = parser.parse_args()
    if args.prepare:
        prepare_realsr()
        return
    home = Path(tempfile.mkdtemp(prefix="restorelab-ship-"))
    for preset in args.presets:
        train(preset, home)


if __name__ == "__main__":
    main()
