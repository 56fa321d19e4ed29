"""Optimizers, the learning-rate schedule (warmup then decay) and EMA weights.

The schedule is a pure function of the step (``lr_factor``), so it needs no
state of its own; a watchdog's lr cuts are a separate multiplier kept in the
train state.
"""
from __future__ import annotations

import math

import torch

from .config import OptimConfig, ScheduleConfig


def build_optimizer(params, cfg: OptimConfig, lr: float | None = None,
                    betas=None) -> torch.optim.Optimizer:
    kwargs = dict(lr=lr if lr is not None else cfg.lr, betas=tuple(betas or cfg.betas),
                  weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return cls([p for p in params if p.requires_grad], **kwargs)


def lr_factor(step: int, total: int, sched: ScheduleConfig, base_lr: float) -> float:
    """Multiplier of the base lr at ``step`` (0-based): linear warmup, then the decay."""
    if sched.warmup and step < sched.warmup:
        return (step + 1) / sched.warmup
    floor = min(1.0, sched.min_lr / base_lr)
    t = step - sched.warmup
    span = max(1, total - sched.warmup)
    if sched.decay == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, span) / span))
    if sched.decay == "step":
        return max(floor, sched.gamma ** (t // sched.step_every))
    if sched.decay == "exponential":
        if sched.gamma <= 0:  # reach min_lr exactly at the end
            return floor ** (min(t, span) / span)
        return max(floor, sched.gamma ** (t / sched.step_every))
    return 1.0


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def grad_norm(params, max_norm: float) -> torch.Tensor:
    """Total gradient norm; clips to ``max_norm`` when it is > 0."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return torch.zeros(())
    limit = max_norm if max_norm > 0 else float("inf")
    return torch.nn.utils.clip_grad_norm_(params, limit, foreach=True)


class EMA:
    """Exponential moving average of a module's parameters (buffers are copied).

    The decay ramps up as min(decay, (1 + n) / (10 + n)) over the first updates,
    so short runs do not publish nearly untrained weights.
    """

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        floats, targets = [], []
        for key, value in module.state_dict().items():
            shadow = self.shadow[key]
            if value.dtype.is_floating_point:
                floats.append(value.detach())
                targets.append(shadow)
            else:
                shadow.copy_(value)
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        if floats:
            torch._foreach_lerp_(targets, floats, 1.0 - decay)

    def state_dict(self) -> dict:
        return dict(self.shadow)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            self.shadow[key].copy_(value)
