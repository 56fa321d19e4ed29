"""The training watchdog: roll back instead of dying on a NaN or exploding loss.

It keeps a copy (on the CPU) of the last good training state, refreshed every
``snapshot_every`` steps and at every checkpoint. When a loop reports a bad
loss, :meth:`Watchdog.rollback` hands back that state and a lower learning
rate multiplier; after ``max_rollbacks`` it raises :class:`TrainingDiverged`.
With ``snapshot_every = 0`` no copies are kept in memory and the rollback
target is the last checkpoint on disk (``fallback``), or the starting state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.errors import RestoreLabError

from .config import WatchdogConfig
from .loops import tree_to


class TrainingDiverged(RestoreLabError):
    """The loss kept blowing up although the learning rate was lowered."""


@dataclass
class Snapshot:
    step: int
    state: dict[str, Any]


class Watchdog:
    def __init__(self, cfg: WatchdogConfig, fallback: Callable[[], Snapshot | None] | None = None) -> None:
        self.cfg = cfg
        self.fallback = fallback
        self.snapshot: Snapshot | None = None
        self.rollbacks = 0
        self.lr_scale = 1.0
        self._poisoned: set[int] = set()

    def keep(self, step: int, state: dict[str, Any] | Callable[[], dict], force: bool = False) -> None:
        """Remember a good state (when due, or ``force``: at the start and at checkpoints).
        ``state`` may be a function, called only when a copy is due."""
        every = self.cfg.snapshot_every
        if force and (every > 0 or self.snapshot is None) or (every > 0 and step % every == 0):
            self.snapshot = Snapshot(step, tree_to(state() if callable(state) else state, "cpu"))

    def poison(self, step: int) -> bool:
        """True once for each step listed in ``inject_nan`` (a test hook)."""
        if step in self.cfg.inject_nan and step not in self._poisoned:
            self._poisoned.add(step)
            return True
        return False

    def rollback(self, step: int, reason: str) -> Snapshot:
        """The state to go back to; lowers the lr multiplier. Raises after too many."""
        self.rollbacks += 1
        if self.rollbacks > self.cfg.max_rollbacks:
            raise TrainingDiverged(
                f"training diverged at step {step} ({reason}) after {self.cfg.max_rollbacks} "
                f"rollbacks; lower optim.lr, add optim.grad_clip, or check the data")
        self.lr_scale *= self.cfg.lr_factor
        snap = None
        if self.cfg.snapshot_every <= 0 and self.fallback is not None:
            snap = self.fallback()
        snap = snap or self.snapshot
        if snap is None:
            raise TrainingDiverged(f"step {step}: {reason}, and there is no good state to go back to")
        return snap

    def state_dict(self) -> dict:
        return {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict) -> None:
        self.rollbacks = int(state.get("rollbacks", 0))
        self.lr_scale = float(state.get("lr_scale", 1.0))
