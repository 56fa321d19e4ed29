"""`restorelab finetune MODEL --examples DIR [--minutes N] [--steps N] [--mix 0.5]`."""
from __future__ import annotations

import argparse

from .common import run_training

EXAMPLES_HELP = ("folder of examples: NAME.png with NAME.clean.png beside it is a pair (input, "
                 "clean reference); a NAME.png alone is a crop of your photos, trained with the "
                 "model's own degradation recipe as its input and the crop as its target")


def add_parser(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a model on your own examples",
                       description="Fine-tune MODEL on a folder of examples, mixed with the "
                                   "model's base training set so it does not forget. The new "
                                   "model's card names its parent and its examples; every "
                                   "validation keeps a checkpoint (the run's timeline).")
    p.add_argument("model", metavar="MODEL", help="the model to start from (see `restorelab models list`)")
    p.add_argument("--examples", required=True, metavar="DIR", help=EXAMPLES_HELP)
    p.add_argument("--minutes", type=float, default=3.0,
                   help="stepping-time budget in minutes (default 3; 0 = --steps only)")
    p.add_argument("--steps", type=int, default=300, help="at most this many steps (default 300)")
    p.add_argument("--mix", type=float, default=0.5,
                   help="share of each batch drawn from the examples, 0..1 (default 0.5)")
    p.add_argument("--lr-scale", type=float, default=0.1,
                   help="learning rate as a multiple of the parent's (default 0.1)")
    p.add_argument("--validations", type=int, default=6,
                   help="validations, each kept as a timeline checkpoint (default 6)")
    p.add_argument("--name", default="", help="experiment and model name (default MODEL-ft)")
    p.add_argument("--device", default="", help="cpu, cuda, mps or auto (default: the parent's config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the run config, e.g. --set data.batch=4")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def spec_from(args: argparse.Namespace):
    from training.finetune import FinetuneSpec

    return FinetuneSpec(args.model, args.examples, minutes=args.minutes, steps=args.steps,
                        mix=args.mix, lr_scale=args.lr_scale, validations=args.validations,
                        name=args.name, device=args.device, overrides=list(args.overrides))


def run(args: argparse.Namespace) -> int:
    from training.finetune import finetune_job

    spec = spec_from(args)
    return run_training(finetune_job, spec, args, device=spec.device or "auto",
                        title=f"finetune {spec.model}", summary=summary)


def summary(_status: str, result: dict) -> str:
    timeline = result.get("timeline", [])
    best = max((r["psnr"] for r in timeline if r.get("psnr") is not None), default=float("nan"))
    return (f"model '{result.get('model')}' (parent {result.get('parent')}): examples "
            f"{result.get('parent_psnr', float('nan')):.2f} -> {best:.2f} dB at best; "
            f"{len(timeline)} checkpoints in {result.get('path')}")
