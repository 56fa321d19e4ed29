"""Training throughput: our loop vs a bare PyTorch loop, and the data pipeline vs the model.

    python bench/train.py                              # denoise-dncnn preset, synthetic images
    python bench/train.py --preset sr-x2-fsrcnn --real # the preset's own training folder
    python bench/train.py --set data.batch=32 --set data.workers=4 --repeats 5

Both loops train the same model on the same batches from the same DataLoader
(our sampler, workers and degradations); the bare loop is a plain
forward / loss / backward / step with nothing else. Our loop adds what the
issue asks of it: per-step metrics and events, grad norm, the lr schedule,
the watchdog's checks, the JSON-lines log. Timings skip warm-up steps and
report medians over repeats. Runs go to a temporary RESTORELAB_HOME.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="denoise-dncnn")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--steps", type=int, default=40, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--real", action="store_true", help="use the preset's data (default: synthetic)")
    return p.parse_args()


def synthetic_images(folder: Path, n: int = 24, size: int = 128) -> Path:
    import numpy as np

    from engine.imageio import write_image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):   # smooth random fields, a little like photos
        small = rng.random((size // 8, size // 8, 3)).astype(np.float32)
        img = np.kron(small, np.ones((8, 8, 1), np.float32))
        write_image(folder / f"img{i:03d}.png", img)
    return folder


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def our_loop(cfg, steps: int, warmup: int) -> float:
    """Steps/s of train_job between the end of step ``warmup`` and of the last step."""
    from engine.events import Failed, Progress
    from engine.jobs import drive
    from training.job import TrainSpec, train_job

    marks = {}
    for event in drive(train_job, TrainSpec(cfg)):
        if isinstance(event, Progress) and event.stage.startswith("step"):
            marks[int(event.done)] = time.perf_counter()
        elif isinstance(event, Failed):
            raise SystemExit(f"training failed: {event.message}\n{event.detail}")
    total = warmup + steps
    return steps / (marks[total] - marks[warmup])


def bare_loop(cfg, steps: int, warmup: int) -> float:
    """The same model, optimizer, loss and DataLoader in a textbook loop."""
    import torch

    from engine import devices
    from training.datasets import build_data
    from training.loops import build_net
    from training.losses import CompositeLoss

    torch.manual_seed(cfg.seed)
    device = devices.resolve(cfg.device)
    data = build_data(cfg.data, cfg.seed, cfg.data.crop)
    inp, target = data.val[0]
    net, _ = build_net(cfg.model.arch, cfg.model.kwargs, inp.shape[2], target.shape[2], cfg.data.scale)
    net = net.to(device).train()
    loss_fn = CompositeLoss(cfg.loss).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas))
    batches = iter(data.loader(0, pin=device.startswith("cuda")))
    start = None
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        x, y = (t.to(device, non_blocking=True) for t in next(batches))
        loss, _ = loss_fn(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return steps / (time.perf_counter() - start)


def pipeline(cfg, batches: int) -> float:
    """Samples/s the DataLoader alone delivers."""
    from training.datasets import build_data

    data = build_data(cfg.data, cfg.seed, cfg.data.crop)
    loader = iter(data.loader(0))
    next(loader)   # workers started
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * cfg.data.batch / (time.perf_counter() - start)


def main() -> int:
    args = parse_args()
    os.environ.setdefault("RESTORELAB_HOME", tempfile.mkdtemp(prefix="restorelab-bench-"))
    from training.config import load_run

    overrides = [f"schedule.steps={args.warmup + args.steps}", "val.every=0", "checkpoint.every=0",
                 "schedule.warmup=0", "optim.ema=0", "optim.grad_clip=0", *args.overrides]
    if not args.real:
        folder = synthetic_images(Path(os.environ["RESTORELAB_HOME"]) / "bench-images")
        overrides.insert(0, f"data.train={folder}")
    cfg = load_run(preset=args.preset, overrides=overrides)
    from engine.devices import resolve

    cfg.device = resolve(cfg.device)
    ours, bare, feed = [], [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(cfg, args.steps, args.warmup))
        ours.append(our_loop(cfg, args.steps, args.warmup))
        feed.append(pipeline(cfg, args.steps))
    ours_m, bare_m, feed_m = (statistics.median(v) for v in (ours, bare, feed))
    batch = cfg.data.batch
    rows = [("bare PyTorch loop", f"{bare_m:.2f}", f"{bare_m * batch:.1f}", "1.00x"),
            ("RestoreLab train_job", f"{ours_m:.2f}", f"{ours_m * batch:.1f}", f"{ours_m / bare_m:.2f}x"),
            ("data pipeline alone", "-", f"{feed_m:.1f}", f"{feed_m / (ours_m * batch):.1f}x model")]
    print(f"preset {cfg.name}: {cfg.model.arch} {cfg.model.kwargs}, batch {batch}, crop {cfg.data.crop}, "
          f"workers {cfg.data.workers}, device {cfg.device}; medians of {args.repeats} x {args.steps} steps")
    widths = (22, 9, 10, 10)
    print("".join(h.ljust(w) for h, w in zip(("", "steps/s", "samples/s", "ratio"), widths)))
    for row in rows:
        print("".join(str(c).ljust(w) for c, w in zip(row, widths)))
    verdict = "ok" if ours_m >= 0.95 * bare_m else "BELOW the 0.95x target"
    fed = "keeps the model fed" if feed_m >= ours_m * batch else "is the bottleneck: raise data.workers"
    print(f"loop overhead: {verdict}; the data pipeline {fed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
