"""Training-step speed of candidate architectures on this CPU: fp32 vs bf16 autocast,
channels_last, torch.compile; one and two torch threads.

    python bench/train_speed.py [--threads 1] [--crop 64] [--batch 16] [--steps 6]

Prints a table of median seconds per step (fwd + bwd + Adam) and output megapixels
per second; MACs per pixel come from a forward hook count.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import registry  # noqa: E402

CANDIDATES = {   # name -> (arch, kwargs, input channels, scale)
    "dncnn 8x32 (shipped)": ("dncnn", dict(depth=8, width=32), 3, 1),
    "dncnn 17x64": ("dncnn", dict(depth=17, width=64), 3, 1),
    "resunet 32-64-128 b2": ("resunet", dict(widths=(32, 64, 128), blocks=2, level="noise", in_channels=4), 4, 1),
    "resunet 48-96-192 b2": ("resunet", dict(widths=(48, 96, 192), blocks=2, level="noise", in_channels=4), 4, 1),
    "resunet 32-64-128 b2 blur": ("resunet", dict(widths=(32, 64, 128), blocks=2, level="blur", in_channels=4), 4, 1),
    "nafnet w32": ("nafnet", dict(width=32), 3, 1),
    "rdn G0 32 x2 (shipped)": ("rdn", dict(G0=32, G=16, D=3, C=4, antialias="blurpool", global_skip="bicubic", scale=2), 3, 2),
}


def macs_per_pixel(net, x) -> float:
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            k = mod.weight.numel() // (mod.groups if isinstance(mod, torch.nn.Conv2d) else 1)
            ref = out if isinstance(mod, torch.nn.Conv2d) else inp[0]
            total += k * ref.shape[-1] * ref.shape[-2] * (mod.groups if isinstance(mod, torch.nn.Conv2d) else 1) \
                // (1 if isinstance(mod, torch.nn.Conv2d) else 1)
    hs = [m.register_forward_hook(hook) for m in net.modules()]
    with torch.no_grad():
        out = net(x[:1])
    for h in hs:
        h.remove()
    return total / (out.shape[-1] * out.shape[-2])


def bench_one(arch, kwargs, cin, scale, crop, batch, steps, mode):
    spec = registry.get(arch)
    net = spec.build(**spec.kwargs(kwargs)).train()
    lr_side = crop // scale
    x = torch.rand(batch, cin, lr_side, lr_side)
    y = torch.rand(batch, 3, crop, crop)
    macs = macs_per_pixel(net, x)
    if "cl" in mode:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model = torch.compile(net) if "compile" in mode else net
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled="bf16" in mode):
            out = model(x)
        loss = (out.float() - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    return macs, t, batch * crop * crop / t / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--only", nargs="*", help="candidate names containing these words")
    ap.add_argument("--modes", nargs="*", default=["fp32", "fp32+cl", "bf16+cl"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, batch {args.batch} x {args.crop}px, median of {args.steps} steps")
    print("| net | MACs/px | mode | s/step | MP/s | vs fp32 |")
    print("|---|---|---|---|---|---|")
    for name, (arch, kw, cin, scale) in CANDIDATES.items():
        if args.only and not any(w in name for w in args.only):
            continue
        base = None
        for mode in args.modes:
            try:
                macs, t, mps = bench_one(arch, kw, cin, scale, args.crop, args.batch, args.steps, mode)
            except Exception as err:  # a mode the build lacks (e.g. compile without a compiler)
                print(f"| {name} | | {mode} | failed: {str(err).splitlines()[0][:60]} | | |")
                continue
            base = base or t
            print(f"| {name} | {macs / 1e3:.0f}k | {mode} | {t:.3f} | {mps:.3f} | {base / t:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
