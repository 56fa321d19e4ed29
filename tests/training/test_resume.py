"""Stop + resume continues exactly where an uninterrupted run would be."""
from __future__ import annotations

import numpy as np
import torch

from engine.events import Finished, Metric
from engine.imageio import write_image
from engine.jobs import Control, drive
from training.config import load_run
from training.job import TrainSpec, train_job
from training.resumable import resume_spec

OVERRIDES = ["schedule.steps=6", "deterministic=true", "data.crop=16", "data.batch=2", "val.crop=16",
             "model.kwargs={depth = 3, width = 8}", "optim.ema=0.9", "schedule.warmup=2",
             "schedule.decay='cosine'", "optim.grad_clip=0.5"]


def losses(spec, stop_at=None):
    control, out, final = Control(), {}, None
    for event in drive(train_job, spec, control):
        if isinstance(event, Metric) and event.name == "loss/total":
            out[event.step] = event.value
            if event.step == stop_at:
                control.stop()
        final = event
    assert isinstance(final, Finished), getattr(final, "detail", final)
    return out, final


def test_resume_equals_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(tmp_path / f"{i}.png", rng.random((20, 24, 3)).astype(np.float32))
    cfg = load_run(preset="smoke", overrides=[f"data.train={tmp_path}", *OVERRIDES])

    straight, _ = losses(TrainSpec(cfg))
    first, stopped = losses(TrainSpec(cfg), stop_at=3)
    assert stopped.status == "stopped" and sorted(first) == [1, 2, 3]
    number = stopped.result["experiment"]

    folder = stopped.result["path"] + "/checkpoints/last"
    state = torch.load(folder + "/train_state.pt", weights_only=True)   # tensors and plain data only
    assert state["step"] == 3 and state["cursor"] == 3

    second, done = losses(resume_spec(str(number)))
    assert sorted(second) == [4, 5, 6] and done.result["experiment"] == number
    resumed = {**first, **second}
    assert np.allclose([straight[k] for k in range(1, 7)], [resumed[k] for k in range(1, 7)],
                       rtol=0, atol=1e-6)
    lines = open(stopped.result["path"] + "/metrics.jsonl").read().count('"loss/total"')
    assert lines == 6
