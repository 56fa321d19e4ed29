"""`restorelab train CONFIG.toml | --preset NAME [--set key=value ...] [--resume RUN]`."""
from __future__ import annotations

import argparse
import sys

from .common import print_json, run_training, table


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model from a TOML config or a preset",
                       description="Train a model. Every run becomes an experiment "
                                   "(see `restorelab experiments list`); the finished model "
                                   "appears in `restorelab models list`.")
    p.add_argument("config", nargs="?", help="a run config (TOML); see docs/training.md")
    p.add_argument("--preset", help="a built-in preset instead of a config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set schedule.steps=100 (repeatable)")
    p.add_argument("--resume", metavar="RUN", help="continue an experiment (number or name)")
    p.add_argument("--name", help="experiment name (default: the config's name)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto (same as --set device=...)")
    p.add_argument("--list-presets", action="store_true", help="list the built-in presets")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def build_spec(args: argparse.Namespace):
    """The TrainSpec the arguments describe (no torch needed for this part)."""
    from training.config import RunConfig, load_raw
    from training.job import TrainSpec
    from training.resumable import resume_spec

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"device={args.device!r}")
    if args.resume:
        if args.config or args.preset:
            print("note: --resume uses the experiment's saved config; CONFIG/--preset ignored",
                  file=sys.stderr)
        return resume_spec(args.resume, overrides)
    if not args.config and not args.preset:
        raise SystemExit("restorelab train: give CONFIG.toml, --preset NAME or --resume RUN "
                         "(--list-presets shows the presets)")
    raw = load_raw(args.config, preset=args.preset, overrides=overrides)
    return TrainSpec(RunConfig.from_dict(raw), experiment_name=args.name)


def list_presets(as_json: bool) -> int:
    from training.config import list_presets as presets

    found = presets()
    if as_json:
        print_json(found)
    else:
        print(table([[k, v] for k, v in found.items()], ["preset", "description"]))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_presets:
        return list_presets(args.json)
    if args.config and args.preset:
        raise SystemExit("restorelab train: give CONFIG.toml or --preset, not both")
    spec = build_spec(args)
    ft = spec.config.finetune
    if spec.resume and ft.examples:
        print(f"note: a fine-tune of {ft.parent}: the examples in {ft.examples} are mixed in "
              f"again ({ft.mix:.0%} of each batch)", file=sys.stderr)
    if args.print_config:
        print(spec.config.to_toml(), end="")
        return 0
    from training.job import train_job
    from training.resumable import resume_job

    return run_training(resume_job if spec.resume else train_job, spec, args,
                        device=spec.config.device,
                        title=f"train {spec.config.name}", summary=summary)


def summary(status: str, result: dict) -> str:
    if status == "stopped":
        return (f"stopped at step {result.get('step')}; continue with "
                f"`restorelab train --resume {result.get('experiment')}`")
    if status == "done":
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in result.get("metrics", {}).items())
        return f"experiment {result.get('experiment')}: model '{result.get('model')}' {metrics}"
    return ""
