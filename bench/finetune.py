"""Fine-tuning a shipped model on a noise it never saw: the gain on that noise, the loss elsewhere.

Issue 10's measure: the shipped denoiser is fine-tuned (`restorelab finetune`, as a user runs it)
on 20 crops of an unseen noise type, camera noise then JPEG compression with 4:2:0 chroma
(blocky, colour-smeared noise the AWGN-trained net leaves behind), for a few CPU minutes. Then:

* PSNR on 20 held-back crops of that noise type (other images), parent vs fine-tuned;
* PSNR on CBSD68 sigma 25 (bench/quality.py's protocol, blind), parent vs fine-tuned.

Crops come from ../shared/data/train/DIV2K_valid_crop256 (training and held-back crops from
disjoint images). The run's library lives in a temporary RESTORELAB_HOME; nothing is kept.

Usage: python bench/finetune.py [--minutes 5] [--model denoise-color] [--limit N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CROPS = ROOT.parent / "shared" / "data" / "train" / "DIV2K_valid_crop256"
CROP = 128


def camera_jpeg(clean: np.ndarray, rng, sigma: float, quality: int) -> np.ndarray:
    """Gaussian sensor noise, 8-bit, then JPEG at ``quality`` with 4:2:0 chroma subsampling."""
    noisy = np.clip(clean + rng.normal(0, sigma / 255.0, clean.shape), 0, 1)
    buf = io.BytesIO()
    Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(buf, "JPEG", quality=quality,
                                                                 subsampling="4:2:0")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255.0


def crops(files: list[Path], rng, sigma: float, quality: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """One CROP x CROP crop per file: (name, degraded, clean)."""
    from engine.imageio import read_image

    out = []
    for f in files:
        px = read_image(f).pixels[:, :, :3]
        y = int(rng.integers(0, px.shape[0] - CROP + 1))
        x = int(rng.integers(0, px.shape[1] - CROP + 1))
        clean = np.ascontiguousarray(px[y:y + CROP, x:x + CROP])
        out.append((f.stem, camera_jpeg(clean, rng, sigma, quality), clean))
    return out


def write_examples(folder: Path, items) -> None:
    from engine.imageio import write_image

    folder.mkdir(parents=True, exist_ok=True)
    for name, degraded, clean in items:
        write_image(folder / f"{name}.png", degraded)
        write_image(folder / f"{name}.clean.png", clean)


def finetune(model: str, examples: Path, minutes: float, home: Path) -> dict:
    """`restorelab finetune` in a child process (its own library in ``home``); its JSON result."""
    env = {**os.environ, "RESTORELAB_HOME": str(home)}
    cmd = [sys.executable, "-m", "desktop.cli", "finetune", model, "--examples", str(examples),
           "--minutes", str(minutes), "--steps", "1000", "--json", "-q"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"finetune failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout[done.stdout.index("{"):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="denoise-color")
    parser.add_argument("--minutes", type=float, default=5.0, help="fine-tune stepping minutes")
    parser.add_argument("--sigma", type=float, default=12.0, help="sensor noise, 0-255 scale")
    parser.add_argument("--quality", type=int, default=40, help="JPEG quality")
    parser.add_argument("--limit", type=int, help="CBSD68 images (quick runs; default all 68)")
    parser.add_argument("--keep", help="keep the examples and the run's library here")
    args = parser.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ft-bench-"))
    home = root / "home"
    os.environ["RESTORELAB_HOME"] = str(home)     # before the engine reads it
    import torch

    from engine.inference import restore_whole
    from engine.models import load_restorer
    from quality import cases, q8, score
    from training.metrics import psnr

    torch.set_num_threads(1)
    files = sorted(CROPS.glob("*.png"))
    rng = np.random.default_rng(10)
    train = crops(files[:20], rng, args.sigma, args.quality)
    held = crops(files[50:70], rng, args.sigma, args.quality)
    write_examples(root / "examples", train)

    start = time.time()
    result = finetune(args.model, root / "examples", args.minutes, home)
    wall = time.time() - start
    tuned = result["model"]

    def held_psnr(model: str) -> float:
        restorer = load_restorer(model, device="cpu")
        return float(np.mean([psnr(q8(restore_whole(restorer, d)), c) for _, d, c in held]))

    ds, proto, items, score_kw, _ = next(c for c in cases("denoise", args.limit)
                                        if c[1] == "sigma25")
    rows = []
    for label, model in (("parent", args.model), ("fine-tuned", tuned)):
        rows.append((label, model, held_psnr(model), score(model, items, score_kw, {})[0]))
    inputs = float(np.mean([psnr(d, c) for _, d, c in held]))

    steps = max((r["step"] for r in result.get("timeline", [])), default=0)
    print(f"\nbench/finetune.py: {args.model} fine-tuned {args.minutes:g} stepping min "
          f"({steps} steps, {wall / 60:.1f} min wall, 1 torch thread) on 20 crops {CROP}x{CROP}"
          f" of noise sigma {args.sigma:g} + JPEG q{args.quality} 4:2:0; held-back: 20 crops of "
          f"other images (input {inputs:.2f} dB); {ds} {proto} blind, "
          f"{len(items)} images\n")
    print(f"{'model':<12} {'id':<22} {'held-back dB':>12} {ds + ' s25 dB':>14}")
    for label, model, h, c in rows:
        print(f"{label:<12} {model:<22} {h:>12.2f} {c:>14.2f}")
    gain, loss = rows[1][2] - rows[0][2], rows[0][3] - rows[1][3]
    print(f"\ngain on the new noise {gain:+.2f} dB (target >= +1.00): "
          f"{'met' if gain >= 1.0 else 'missed'}; "
          f"loss on {ds} s25 {loss:.2f} dB (target <= 0.20): {'met' if loss <= 0.2 else 'missed'}")


if __name__ == "__main__":
    main()
