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


# -- a real process killed with SIGKILL -----------------------------------------------------
def _kill_when(run_json, ready, timeout=120.0):
    """Wait until run.json satisfies ``ready`` (the run's own process writes it), or fail."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            meta = json.loads(run_json.read_text())
        except (OSError, ValueError):
            meta = {}
        if ready(meta):
            return meta
        time.sleep(0.02)
    raise AssertionError(f"the run never got there: {run_json}")


@pytest.mark.slow   # a real training process
@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
def test_a_run_killed_with_sigkill_reads_interrupted_and_resumes(tmp_path, capsys):
    """SIGKILL (or power loss) writes nothing: the journal tells the dead run by the pid and
    heartbeat in run.json, says at which step, and the last checkpoint carries on."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from desktop.cli import main
    from engine import paths
    from engine.checkpoints import find_model, load_train_state, load_weights
    from training import experiments

    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(tmp_path / f"{i}.png", rng.random((20, 24, 3)).astype(np.float32))
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "desktop.cli", "train", "--preset", "smoke", "--device", "cpu",
           "-q", "--set", f"data.train={tmp_path}", "--set", "schedule.steps=100000",
           "--set", "checkpoint.every=1", "--set", "data.crop=16", "--set", "data.batch=2",
           "--set", "val.crop=16", "--set", "model.kwargs={depth = 2, width = 4}"]
    proc = subprocess.Popen(cmd, cwd=root, env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    run_json = paths.experiments_dir() / "0001-smoke" / "run.json"
    try:
        meta = _kill_when(run_json, lambda m: m.get("step", 0) >= 3 and m.get("pid"))
        assert meta["status"] == "running" and meta["pid"] == proc.pid and meta["heartbeat"]
    finally:
        proc.send_signal(signal.SIGKILL)   # mid-run, checkpoint writes every step
        err = proc.communicate()[1]
    assert proc.returncode == -signal.SIGKILL, err

    exp = experiments.find(1)
    assert exp.meta["status"] == "running"          # what the dead process left
    assert exp.status == "interrupted" and exp.resumable()
    step = int(load_train_state(exp.checkpoint)["step"])
    load_weights(exp.checkpoint)                    # whole files, not cut short
    assert step >= exp.meta["step"] >= 3
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    assert f"interrupted {step}/100000" in out                # the step a resume goes on from
    assert f"was interrupted at step {step};" in out
    assert "restorelab train --resume 1" in out
    # a checkpoint folder swap cut short is put back; at most a dead writer's temporary file
    assert not [p for p in exp.path.rglob(".*") if p.is_dir()]
    assert json.loads(run_json.read_text())["pid"] == proc.pid   # run.json is whole
    for line in (exp.path / "metrics.jsonl").read_text().splitlines()[:-1]:
        json.loads(line)                            # only the very last line may be cut short

    done = list(drive(train_job, resume_spec("1", [f"schedule.steps={step + 2}"])))[-1]
    assert isinstance(done, Finished) and done.status == "done", getattr(done, "detail", done)
    assert done.result["step"] == step + 2 and done.result["experiment"] == 1
    assert find_model(done.result["model"]).card["steps"] == step + 2
    steps = [r["step"] for r in experiments.find(1).metrics() if "loss/total" in r]
    assert steps == list(range(1, step + 3))        # the killed steps after it are redone once
    assert experiments.find(1).status == "done"
