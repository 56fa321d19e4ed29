"""Stop + resume continues exactly where an uninterrupted run would be."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import ConfigError
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


def test_a_resumed_finetune_trains_on_its_examples_again(tmp_path, capsys):
    """`restorelab train --resume` of a stopped fine-tune: the same examples, mix and split,
    from the saved step on, and the re-registered model still names parent and examples."""
    from desktop.cli import main
    from engine.checkpoints import find_model
    from training.datasets import build_data
    from training.finetune import FinetuneSpec, build_finetune_data, finetune_job, scan_examples

    base, examples = tmp_path / "base", tmp_path / "examples"
    base.mkdir(), examples.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(base / f"{i}.png", rng.random((20, 24, 3)).astype(np.float32))
    for i in range(2):   # flat colours: every example crop is told apart from a base crop
        write_image(examples / f"ex{i}.png", np.full((20, 20, 3), 0.9, np.float32))
        write_image(examples / f"ex{i}.clean.png", np.full((20, 20, 3), 0.8, np.float32))
    parent_cfg = load_run(preset="smoke", overrides=[f"data.train={base}", "schedule.steps=2",
                                                     "data.crop=16", "data.batch=2", "val.crop=16",
                                                     "model.kwargs={depth = 3, width = 8}"])
    parent = list(drive(train_job, TrainSpec(parent_cfg)))[-1].result["model"]

    control, seen, final = Control(), [], None
    spec = FinetuneSpec(parent, str(examples), minutes=0, steps=6, mix=0.5, validations=2,
                        device="cpu")
    for event in drive(finetune_job, spec, control):
        if isinstance(event, Metric) and event.name == "loss/total":
            seen.append(event.step)
            if event.step == 3:
                control.stop()
        final = event
    assert isinstance(final, Finished) and final.status == "stopped", getattr(final, "detail", final)
    assert seen == [1, 2, 3]
    number = final.result["experiment"]

    resumed = resume_spec(str(number))
    cfg = resumed.config
    assert cfg.finetune.examples == str(examples.resolve()) and cfg.finetune.mix == 0.5
    val_crop = cfg.val.crop or 2 * cfg.data.crop
    data = resumed.data(cfg.data, cfg.seed, val_crop)
    plain = build_data(cfg.data, cfg.seed, val_crop)   # what a resume rebuilt before
    assert data.summary["kind"] == "finetune" and len(data.val) == 2 != len(plain.val)
    original, _ = build_finetune_data(cfg, scan_examples(examples), 0.5, val_crop)
    targets = [data.train[(i % len(data.train), i)][1] for i in range(40)]
    for i, target in enumerate(targets):   # the very stream the fine-tune trained on
        assert torch.equal(target, original.train[(i % len(data.train), i)][1])
    from_examples = sum(bool(torch.allclose(t, torch.full_like(t, 0.8), atol=0.01)) for t in targets)
    assert 8 < from_examples < 32, from_examples   # about half of them, at mix 0.5

    code = main(["train", "--resume", str(number), "--device", "cpu", "-q", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and "fine-tune of" in captured.err
    import json

    result = json.loads(captured.out)
    assert result["step"] == 6 and result["experiment"] == number
    steps = [json.loads(line).get("step") for line in
             open(final.result["path"] + "/metrics.jsonl") if '"loss/total"' in line]
    assert steps == [1, 2, 3, 4, 5, 6]    # went on from the saved step
    card = find_model(result["model"]).card
    assert card["parent"] == parent and len(card["examples"]) == 2
    assert card["dataset"].startswith("2 examples (2 pairs)")

    examples.rename(tmp_path / "moved")   # gone: the resume says what to do, not base-only
    with pytest.raises(ConfigError, match="finetune.examples=''"):
        resume_spec(str(number), ["schedule.steps=8"])
    assert resume_spec(str(number), ["schedule.steps=8", "finetune.examples=''"]).data is None
