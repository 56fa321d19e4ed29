"""Quality benchmark: models vs classical baselines vs published figures, and the targets.

Protocols (see DESIGN.md, "Data"):
  SR x2/x4 on Set5, Set14, BSD100: HR cropped to a multiple of the scale,
      MATLAB-style bicubic LR (8-bit), PSNR/SSIM on Y with a border of `scale`.
  Denoise on CBSD68, AWGN sigma 15/25/50 on the 0-255 scale, fixed seed, RGB (float, unclipped:
      the published protocol); "q8" rows clip and quantise the noisy input to 8 bits as a
      camera file is; Set12 (grey) sigma 25, and its image 01 alone.
  Deblur on CBSD68, Gaussian blur sigma 1.6 and 2.4 (symmetric border) + 1% AWGN, RGB.
  Sobel on BSD100 against the exact note-002 target (grey, blur 1.3, Sobel magnitude).
  Real-world x2 ("x2-real") on Set14 and BSD100: per image (fixed seed) an anisotropic
      Gaussian blur (sigmas 0.5-1.6 px, any angle), bicubic x2 down, colour Gaussian noise
      (sigma 2-8 of 255), 8 bits, JPEG q60-90; PSNR/SSIM on Y, border 2. It is not the
      training pipeline (no real kernels or noise patches): it asks whether a model copes.
Models with a level map run blind (the default) and, in "given" rows, with the true sigma,
as the classical Wiener/Richardson-Lucy always get it. Outputs are quantised to 8 bits before
scoring, as the standard evaluation does.

Usage: python bench/quality.py [--models ID ...] [--kinds sr denoise ...] [--limit N]
                               [--out docs/quality.md] [--update-cards]
Without --models, every shipped/installed model is scored beside the baselines. Full-set rows
are kept in build/quality-rows.json, so `--kinds deblur` rescored alone still writes the
whole table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH = ROOT.parent / "shared" / "data" / "bench"

from engine import imageio  # noqa: E402
from engine.classical import gaussian_psf, sobel  # noqa: E402
from engine.inference import restore_whole  # noqa: E402
from engine.models import load_restorer  # noqa: E402
from engine.resize import imresize  # noqa: E402
from training.metrics import psnr, ssim  # noqa: E402

PUBLISHED = {  # SEED-NOTES.md; (dataset, protocol) -> {method: PSNR}
    ("Set5", "x2"): {"FSRCNN": 37.00, "VDSR": 37.53, "EDSR-baseline": 37.99, "RDN": 38.24},
    ("Set14", "x2"): {"FSRCNN": 32.63, "VDSR": 33.03, "EDSR-baseline": 33.57, "RDN": 34.01},
    ("Set5", "x4"): {"FSRCNN": 30.72, "VDSR": 31.35, "EDSR-baseline": 32.09, "RDN": 32.47},
    ("Set14", "x4"): {"FSRCNN": 27.61, "VDSR": 28.01, "EDSR-baseline": 28.58, "RDN": 28.81},
    ("CBSD68", "sigma15"): {"CBM3D": 33.52, "CDnCNN": 33.90, "FFDNet": 33.87, "DRUNet": 34.30},
    ("CBSD68", "sigma25"): {"CBM3D": 30.71, "CDnCNN": 31.24, "FFDNet": 31.21, "DRUNet": 31.69},
    ("CBSD68", "sigma50"): {"CBM3D": 27.38, "CDnCNN": 27.95, "FFDNet": 27.96, "DRUNet": 28.51},
    ("BSD100", "sobel"): {"original pix2pix (COCO)": 28.26},
}
BASELINES = {"sr": ["bicubic", "lanczos"], "realsr": ["bicubic", "lanczos"], "denoise": ["nlmeans"],
             "deblur": ["wiener", "richardson-lucy"], "filter": []}
LEARNED_KIND = {"realsr": "sr"}   # the models a kind scores are those of another kind
TASK_KIND = {"super-resolution": "sr", "denoise": "denoise", "deblur": "deblur", "filter": "filter"}


def q8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255) / 255.0


def load_set(name: str, limit: int | None) -> list[tuple[str, np.ndarray]]:
    files = sorted((BENCH / name).glob("*.png"))[:limit]
    out = []
    for f in files:
        px = imageio.read_image(f).pixels
        out.append((f.stem, px if px.shape[2] in (1, 3) else px[:, :, :3]))
    return out


def blur_sym(img: np.ndarray, sigma: float) -> np.ndarray:
    psf = gaussian_psf(sigma)
    out = cv2.filter2D(img, -1, psf.astype(np.float32), borderType=cv2.BORDER_REFLECT)
    return out if out.ndim == 3 else out[:, :, None]


def real_world_lr(hr: np.ndarray, rng) -> np.ndarray:
    """A camera-like x2 low-resolution image: blur, bicubic down, noise, 8 bits, JPEG."""
    import io

    from PIL import Image

    s1, s2 = rng.uniform(0.5, 1.6, size=2)
    theta = rng.uniform(0, np.pi)
    y, x = np.mgrid[-7:8, -7:8].astype(np.float64)
    u, v = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    kernel = np.exp(-(u ** 2 / (2 * s1 ** 2) + v ** 2 / (2 * s2 ** 2)))
    blurred = cv2.filter2D(hr, -1, (kernel / kernel.sum()).astype(np.float32),
                           borderType=cv2.BORDER_REFLECT)
    lr = imresize(blurred if blurred.ndim == 3 else blurred[:, :, None], 0.5)
    lr = q8(lr + rng.normal(0, rng.uniform(2, 8) / 255.0, lr.shape))
    buf = io.BytesIO()
    Image.fromarray(np.round(lr * 255).astype(np.uint8)).save(buf, "JPEG",
                                                              quality=int(rng.integers(60, 91)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255.0


def cases(kind: str, limit: int | None):
    """Yield (dataset, protocol, [(name, degraded, reference)], score kwargs)."""
    if kind == "sr":
        for scale in (2, 4):
            for ds in ("Set5", "Set14", "BSD100"):
                items = []
                for name, hr in load_set(ds, limit):
                    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
                    hr = hr[:h, :w]
                    items.append((name, q8(imresize(hr, 1 / scale)), hr))
                yield ds, f"x{scale}", items, {"y_channel": True, "border": scale}, {"scale": scale}
    elif kind == "realsr":
        for ds in ("Set14", "BSD100"):
            rng = np.random.default_rng(0)
            items = []
            for name, hr in load_set(ds, limit):
                if hr.shape[2] != 3:
                    continue
                hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
                items.append((name, real_world_lr(hr, rng), hr))
            yield ds, "x2-real", items, {"y_channel": True, "border": 2}, {"scale": 2}
    elif kind == "denoise":
        for sigma in (15, 25, 50):
            rng = np.random.default_rng(0)
            items = [(n, (c + rng.normal(0, sigma / 255.0, c.shape)).astype(np.float32), c)
                     for n, c in load_set("CBSD68", limit)]
            yield "CBSD68", f"sigma{sigma}", items, {}, {"sigma": sigma}
        for sigma in (25, 50):
            rng = np.random.default_rng(0)
            items = [(n, q8(c + rng.normal(0, sigma / 255.0, c.shape)).astype(np.float32), c)
                     for n, c in load_set("CBSD68", limit)]
            yield "CBSD68", f"sigma{sigma}-q8", items, {}, {"sigma": sigma}
        rng = np.random.default_rng(0)
        grey = [(n, (c + rng.normal(0, 25 / 255.0, c.shape)).astype(np.float32), c)
                for n, c in load_set("Set12", limit)]
        yield "Set12", "sigma25", grey, {}, {"sigma": 25}
        yield "Set12 01", "sigma25", grey[:1], {}, {"sigma": 25}
    elif kind == "deblur":
        for sigma in (1.6, 2.4):
            rng = np.random.default_rng(0)
            items = [(n, (blur_sym(c, sigma) + rng.normal(0, 0.01, c.shape)).astype(np.float32), c)
                     for n, c in load_set("CBSD68", limit)]
            yield "CBSD68", f"blur{sigma}", items, {}, {"sigma": sigma}
    elif kind == "filter":
        items = [(n, c, sobel(c)) for n, c in load_set("BSD100", limit)]
        yield "BSD100", "sobel", items, {}, {}


def score(model: str, items, score_kw, options) -> tuple[float, float, float]:
    restorer = load_restorer(model, device="cpu", options=options)
    ps, ss, secs, pixels = [], [], 0.0, 0
    for _, degraded, reference in items:
        start = time.process_time()
        out = restore_whole(restorer, degraded)
        secs += time.process_time() - start
        pixels += out.shape[0] * out.shape[1]
        if out.shape[2] != reference.shape[2]:
            out = out.mean(axis=2, keepdims=True) if reference.shape[2] == 1 else np.repeat(out, 3, 2)
        ps.append(psnr(q8(out), reference, **score_kw))
        ss.append(ssim(q8(out), reference, **score_kw))
    return float(np.mean(ps)), float(np.mean(ss)), secs / (pixels / 1e6)


def models_by_kind(explicit: list[str] | None) -> dict[str, list[tuple[str, int, str]]]:
    """Learned models per benchmark kind, as (id, scale, level map kind or '')."""
    from engine.checkpoints import find_model, list_models

    entries = [(m, find_model(m)) for m in explicit] if explicit else \
        [(e.id, e) for e in list_models()]
    out: dict[str, list[tuple[str, int, str]]] = {k: [] for k in BASELINES}
    for ref, e in entries:   # a folder path given on the command line stays a path
        if e is not None and TASK_KIND.get(e.task):
            level = (e.card.get("kwargs") or {}).get("level", "none")
            out[TASK_KIND[e.task]].append((ref, int(e.card.get("scale", 1)),
                                           level if level in ("noise", "blur") else ""))
    return out


# (model, set, protocol, row variant, target PSNR, what the target is)
TARGETS = [
    ("denoise-color", "CBSD68", "sigma15", "", 33.5, "CBM3D 33.52"),
    ("denoise-color", "CBSD68", "sigma25", "", 30.8, "CBM3D 30.71"),
    ("denoise-color", "CBSD68", "sigma50", "", 27.4, "CBM3D 27.38"),
    ("denoise-color", "Set12 01", "sigma25", "", 29.0, "grey photo; public DnCNN-25 29.70"),
    ("sr-x2", "Set5", "x2", "", 37.0, "FSRCNN 37.00"),
    ("sr-x2", "Set14", "x2", "", 32.6, "FSRCNN 32.63"),
    ("sr-x4", "Set5", "x4", "", 30.7, "FSRCNN 30.72"),
    ("sr-x4", "Set14", "x4", "", 27.6, "FSRCNN 27.61"),
    ("deblur", "CBSD68", "blur1.6", "", "wiener+1", "non-blind Wiener + 1 dB (blind model)"),
    ("deblur", "CBSD68", "blur2.4", "", "wiener+1", "non-blind Wiener + 1 dB (blind model)"),
    ("deblur", "CBSD68", "blur1.6", " (sigma given)", "wiener+2", "Wiener + 2 dB (both non-blind)"),
    ("deblur", "CBSD68", "blur2.4", " (sigma given)", "wiener+2", "Wiener + 2 dB (both non-blind)"),
    ("sobel-edges", "BSD100", "sobel", "", 30.0, "original pix2pix 28.26"),
    ("realsr-x2", "Set14", "x2-real", "", "lanczos+0.3", "Lanczos + 0.3 dB (camera-like LR)"),
    ("realsr-x2", "BSD100", "x2-real", "", "lanczos+0.3", "Lanczos + 0.3 dB (camera-like LR)"),
]


def target_rows(results: dict) -> list[str]:
    """The 'vs target' table: our figure, the target, the gap, and how the model was trained."""
    from engine.checkpoints import find_model

    rows = ["| model | set | protocol | target | ours | gap | trained |", "|---|---|---|---|---|---|---|"]
    for model, ds, proto, variant, target, what in TARGETS:
        ours = results.get((model + variant, ds, proto))
        if isinstance(target, str):   # "method+dB": the classical filter on the same images
            method, delta = target.split("+")
            base = results.get((method, ds, proto))
            target = None if base is None else base + float(delta)
        entry = find_model(model)
        card = entry.card if entry else {}
        trained = (f"{card.get('train_minutes', '?')} min, {card.get('steps', '?')} steps"
                   if card else "not installed")
        if ours is None or target is None:
            rows.append(f"| {model}{variant} | {ds} | {proto} | {what} | — | — | {trained} |")
            continue
        gap = ours - target
        mark = "met" if gap >= 0 else f"{gap:+.2f} dB"
        rows.append(f"| {model}{variant} | {ds} | {proto} | >= {target:.2f} ({what}) | {ours:.2f} "
                    f"| {mark} | {trained} |")
    return rows


def update_cards(results: dict) -> None:
    """Write each shipped model's benchmark figures into its card (``benchmarks``)."""
    from engine.atomic import write_json
    from engine.checkpoints import find_model

    per_model: dict[str, dict[str, float]] = {}
    for (method, ds, proto), value in results.items():
        model, _, variant = method.partition(" (")
        per_model.setdefault(model, {})[f"{ds} {proto}" + (f" ({variant}" if variant else "")] = \
            round(value, 2)
    for model, figures in per_model.items():
        entry = find_model(model)
        if entry is None or not entry.shipped:
            continue
        write_json(entry.path / "card.json", {**entry.card, "benchmarks": figures})


def kind_of(proto: str) -> str:
    return ("realsr" if proto.endswith("-real") else "sr" if proto[:1] == "x" else
            "denoise" if proto.startswith("sigma") else "deblur" if proto.startswith("blur")
            else "filter")


def rows_of(table: Path) -> dict[str, list]:
    """The rows an earlier run wrote into ``table`` (docs/quality.md), by kind: without a
    cache (a fresh checkout) the kinds not rerun keep what the docs show."""
    done: dict[str, list] = {}
    lines = table.read_text(encoding="utf-8").splitlines() if table.exists() else []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[3].replace(".", "", 1).isdigit():
            ds, proto, label, p, s, spm, published = cells
            done.setdefault(kind_of(proto), []).append(
                [ds, proto, label, float(p), float(s), float(spm), published])
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", help="library model ids (default: all installed)")
    parser.add_argument("--limit", type=int, help="images per set (quick runs)")
    parser.add_argument("--kinds", nargs="*", default=list(BASELINES), choices=list(BASELINES))
    parser.add_argument("--out", default=str(ROOT / "docs" / "quality.md"))
    parser.add_argument("--cache", default=str(ROOT / "build" / "quality-rows.json"),
                        help="full-set rows of earlier runs: kinds not rerun keep theirs")
    parser.add_argument("--update-cards", action="store_true",
                        help="write the figures into the shipped models' cards")
    args = parser.parse_args()
    learned = models_by_kind(args.models)
    lines = ["# Quality benchmark", "",
             f"Made by `python bench/quality.py{' --limit ' + str(args.limit) if args.limit else ''}` "
             f"({time.strftime('%Y-%m-%d')}); CPU seconds per output megapixel (process time, "
             "2 cores). Published figures from SEED-NOTES.md. Level-map models run blind unless "
             "the row says \"sigma given\".", "",
             "| set | protocol | method | PSNR | SSIM | s/MP | published PSNR |",
             "|---|---|---|---|---|---|---|"]
    cache = Path(args.cache)
    done = {} if args.limit else json.loads(cache.read_text()) if cache.exists() else \
        rows_of(Path(args.out))
    for kind in args.kinds:
        rows = []
        for ds, proto, items, score_kw, opts in cases(kind, args.limit):
            published = ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED.get((ds, proto), {}).items())
            scale = opts.get("scale", 1)
            runs = [(m, m, opts) for m in BASELINES[kind]]
            for model, s, level in learned[LEARNED_KIND.get(kind, kind)]:
                if s != scale:
                    continue
                runs.append((model, model, {}))
                if level and "sigma" in opts:
                    runs.append((f"{model} (sigma given)", model, {"sigma": opts["sigma"]}))
            for label, model, model_opts in runs:
                p, s, spm = score(model, items, score_kw, model_opts)
                rows.append([ds, proto, label, p, s, spm, published])
                print(f"| {ds} | {proto} | {label} | {p:.2f} | {s:.4f} | {spm:.2f} | {published} |",
                      flush=True)
        done[kind] = rows
    if not args.limit:   # full-set rows of the kinds not rerun this time stay in the table
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(done, indent=1))
    results: dict[tuple[str, str, str], float] = {}
    for kind in BASELINES:
        for ds, proto, label, p, s, spm, published in done.get(kind, []):
            results[(label, ds, proto)] = p
            lines.append(f"| {ds} | {proto} | {label} | {p:.2f} | {s:.4f} | {spm:.2f} | {published} |")
    lines += ["", "## Against the targets", "",
              "Full sets unless the header says --limit. \"trained\": CPU training time and steps "
              "of the shipped model (its card).", "", *target_rows(results)]
    print("\n".join(lines[-len(TARGETS) - 2:]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.update_cards:
        update_cards(results)


if __name__ == "__main__":
    main()
