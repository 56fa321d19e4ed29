"""Data-parallel training under torchrun (DistributedDataParallel).

    torchrun --nproc-per-node 4 -m training.run CONFIG.toml [--set key=value ...]
    torchrun --nnodes 2 --node-rank 0 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
             --nproc-per-node 8 -m training.run CONFIG.toml

Every process runs the same ``train_job``; the loop wraps its nets in DDP and
each rank reads its own slice of every batch (``data.batch`` is per process).
Rank 0 alone writes the experiment, checkpoints and the final model. Backend:
NCCL on CUDA, gloo on the CPU. Each rank prints one JSON line at the end with
its parameters' sha256, so ranks can be checked for agreement.
Without torchrun it simply trains in this one process.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import torch
import torch.distributed as dist

from engine.events import Failed, Finished, Log, Progress, Rollback
from engine.jobs import Control, drive

from .config import load_run
from .job import TrainSpec, train_job
from .resumable import resume_job, resume_spec


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.run", description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?")
    p.add_argument("--preset")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--resume", metavar="RUN")
    p.add_argument("--name")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if args.resume:
        spec = resume_spec(args.resume, args.overrides)
    else:
        spec = TrainSpec(load_run(args.config, preset=args.preset, overrides=args.overrides),
                         experiment_name=args.name)
    cfg = spec.config
    use_cuda = torch.cuda.is_available() and cfg.device in ("auto", "cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        cfg = dataclasses.replace(cfg, device=f"cuda:{local_rank}")
    elif cfg.device == "auto":
        cfg = dataclasses.replace(cfg, device="cpu")
    spec = dataclasses.replace(spec, config=cfg)
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    code = 1
    try:
        job = resume_job if spec.resume else train_job   # a resumed fine-tune keeps its timeline
        for event in drive(job, spec, Control(), title="train"):
            if isinstance(event, Finished):
                print(json.dumps({**(event.result or {}), "status": event.status}), flush=True)
                code = 0
            elif isinstance(event, Failed):
                print(f"rank {rank}: error: {event.message}", file=sys.stderr, flush=True)
            elif rank == 0 and isinstance(event, (Log, Rollback)):
                print(getattr(event, "text", event), file=sys.stderr, flush=True)
            elif rank == 0 and isinstance(event, Progress) and event.stage.startswith("step") \
                    and (event.done % 50 == 0 or event.done == event.total):
                print(event.stage, file=sys.stderr, flush=True)
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return code


if __name__ == "__main__":
    sys.exit(main())
