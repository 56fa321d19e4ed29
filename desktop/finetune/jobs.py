"""The fine-tune job as the window runs it (torch and the training package load on the worker)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FinetuneRequest:
    model: str
    examples: str
    minutes: float = 3.0
    steps: int = 300
    mix: float = 0.5
    lr_scale: float = 0.1
    device: str = ""


def finetune_run_job(req: FinetuneRequest, control):
    from training.finetune import FinetuneSpec, finetune_job

    return (yield from finetune_job(FinetuneSpec(**asdict(req)), control))


@dataclass(frozen=True)
class RegisterRequest:
    model: str        # the fine-tune's registered model
    checkpoint: str   # a timeline folder of its run


def register_checkpoint_job(req: RegisterRequest, control):
    from engine.events import Saved
    from training.finetune import register_checkpoint

    entry = register_checkpoint(req.model, req.checkpoint)
    yield Saved(str(entry.path), "model")
    return {"model": entry.id}
