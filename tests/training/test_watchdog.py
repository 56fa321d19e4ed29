"""The watchdog rolls back on NaN/exploding losses, lowers the lr, and gives up after N times."""
from __future__ import annotations

import numpy as np
import pytest

from engine.events import Failed, Finished, Metric, Rollback
from engine.jobs import drive
from training.config import WatchdogConfig, load_run
from training.job import TrainSpec, train_job
from training.watchdog import TrainingDiverged, Watchdog


def train(images, *overrides):
    cfg = load_run(preset="smoke", overrides=[
        f"data.train={images}", "schedule.steps=5", "data.crop=16", "data.batch=2", "val.crop=16",
        "model.kwargs={depth = 3, width = 8}", "watchdog.snapshot_every=2", *overrides])
    return list(drive(train_job, TrainSpec(cfg)))


def test_nan_rolls_back_lowers_lr_and_continues(images):
    events = train(images, "watchdog.inject_nan=[4]", "watchdog.lr_factor=0.1")
    rollbacks = [e for e in events if isinstance(e, Rollback)]
    assert len(rollbacks) == 1
    assert rollbacks[0].step == 2 and "nan" in rollbacks[0].reason   # back to the step-2 snapshot
    assert rollbacks[0].new_lr == pytest.approx(1e-4)
    lrs = [(e.step, e.value) for e in events if isinstance(e, Metric) and e.name == "lr"]
    assert lrs[-1] == (5, pytest.approx(1e-4))
    assert isinstance(events[-1], Finished) and events[-1].status == "done"


def test_too_many_rollbacks_stop_with_a_clear_reason(images):
    events = train(images, "watchdog.inject_nan=[2, 3, 4]", "watchdog.max_rollbacks=2")
    assert sum(isinstance(e, Rollback) for e in events) == 2
    final = events[-1]
    assert isinstance(final, Failed) and "diverged" in final.message and "lower optim.lr" in final.message


def test_exploding_loss_counts_as_bad():
    from training.loops import bad_loss

    assert bad_loss(1e6, 50) and bad_loss(float("inf"), 0) and not bad_loss(3.0, 50)
    dog = Watchdog(WatchdogConfig(max_rollbacks=1, lr_factor=0.5, snapshot_every=10))
    dog.keep(0, {"w": np.zeros(1)}, force=True)
    dog.keep(5, {"w": np.ones(1)})          # not due: the step-0 state stays
    assert dog.rollback(7, "loss exploded").step == 0 and dog.lr_scale == 0.5
    with pytest.raises(TrainingDiverged):
        dog.rollback(8, "again")
