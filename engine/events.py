"""Typed events that jobs yield. Small, frozen, and free of tensors (numbers, strings, numpy)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base class of every job event."""


@dataclass(frozen=True)
class Started(Event):
    job_id: int
    title: str


@dataclass(frozen=True)
class Progress(Event):
    done: float
    total: float
    stage: str = ""
    eta_s: float | None = None


@dataclass(frozen=True)
class Metric(Event):
    step: int
    name: str
    value: float


@dataclass(frozen=True)
class Preview(Event):
    step: int
    images: dict[str, np.ndarray] = field(default_factory=dict)  # name -> uint8 HWC


@dataclass(frozen=True)
class Log(Event):
    level: str  # "info" | "warning" | "error"
    text: str


@dataclass(frozen=True)
class Saved(Event):
    path: str
    kind: str = "file"  # "file" | "model" | "checkpoint"


@dataclass(frozen=True)
class ItemDone(Event):
    """One item of a batch finished (restore: one input file)."""
    index: int
    source: str
    output: str


@dataclass(frozen=True)
class ItemFailed(Event):
    """One item of a batch failed; the batch goes on."""
    index: int
    source: str
    message: str


@dataclass(frozen=True)
class Rollback(Event):
    """The training watchdog went back to the last good checkpoint."""
    step: int
    reason: str
    new_lr: float


@dataclass(frozen=True)
class Finished(Event):
    job_id: int
    status: str  # "done" | "stopped" | "aborted"
    result: Any = None


@dataclass(frozen=True)
class Failed(Event):
    job_id: int
    message: str  # for a person: what went wrong and what to do
    detail: str = ""  # traceback, for logs and bug reports
