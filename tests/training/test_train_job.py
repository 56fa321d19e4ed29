"""The training job end to end on tiny synthetic data: events, experiment folder, model library;
and runs that meet taken names, kills and dead processes."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from desktop.cli import main
from engine import checkpoints, registry
from engine.checkpoints import build_model, list_models
from engine.events import Failed, Finished, Log, Metric, Preview, Progress, Saved
from engine.imageio import write_image
from engine.jobs import drive
from training import experiments, job
from training.config import ScheduleConfig, load_run
from training.job import TrainSpec, train_job
from training.resumable import resume_spec
from training.optim import lr_factor

TINY = ["schedule.steps=3", "data.crop=16", "data.batch=2", "val.crop=16",
        "model.kwargs={depth = 3, width = 8}"]


def run(images, *overrides):
    cfg = load_run(preset="smoke", overrides=[f"data.train={images}", *TINY, *overrides])
    events = list(drive(train_job, TrainSpec(cfg)))
    final = events[-1]
    assert not isinstance(final, Failed), final.detail
    return events, final


def test_smoke_preset_trains_and_registers_a_model(images):
    events, final = run(images, "val.every=2", "optim.ema=0.9", "schedule.warmup=1")
    assert isinstance(final, Finished) and final.status == "done"
    result = final.result
    names = {e.name for e in events if isinstance(e, Metric)}
    assert {"loss/total", "loss/l1", "lr", "grad_norm", "throughput", "val/psnr", "val/ssim"} <= names
    progress = [e for e in events if isinstance(e, Progress) and e.stage.startswith("step")]
    assert [p.done for p in progress] == [1, 2, 3] and progress[-1].total == 3
    assert progress[0].eta_s is not None
    previews = [e for e in events if isinstance(e, Preview)]
    assert [p.step for p in previews] == [2, 3]
    for img in previews[-1].images.values():
        assert img.dtype == np.uint8 and img.shape == (16, 16, 3)  # one held-out image of 4
    assert any(isinstance(e, Saved) and e.kind == "model" for e in events)

    model = {m.id: m for m in list_models()}[result["model"]]
    assert model.card["experiment"] == result["experiment"]
    assert set(model.card["metrics"]) == {"psnr", "ssim"} and model.card["task"] == "denoise"
    assert model.card["training"]["schedule"]["steps"] == 3
    net, spec, kwargs = build_model(model.path)
    assert spec.id == "dncnn" and kwargs["depth"] == 3

    exp = result["path"]
    lines = [json.loads(x) for x in open(f"{exp}/metrics.jsonl")]
    assert [x["step"] for x in lines if "loss/total" in x] == [1, 2, 3]
    assert any("val/psnr" in x for x in lines)
    meta = json.load(open(f"{exp}/run.json"))
    assert meta["status"] == "done" and meta["results"]["psnr"] > 0 and meta["model"] == result["model"]


def test_lr_schedule_warmup_and_decays():
    sched = ScheduleConfig(steps=100, warmup=10, decay="cosine", min_lr=1e-4)
    assert lr_factor(0, 100, sched, 1e-3) == pytest.approx(0.1)
    assert lr_factor(10, 100, sched, 1e-3) == pytest.approx(1.0)
    assert lr_factor(100, 100, sched, 1e-3) == pytest.approx(0.1)   # min_lr / lr
    step = ScheduleConfig(warmup=0, decay="step", gamma=0.5, step_every=10, min_lr=0)
    assert lr_factor(25, 100, step, 1.0) == pytest.approx(0.25)
    expo = ScheduleConfig(warmup=0, decay="exponential", gamma=0, min_lr=1e-5)
    assert lr_factor(100, 100, expo, 1e-3) == pytest.approx(1e-2)


def test_adversarial_loop_with_stepper(images):
    events, final = run(images, "loop='adversarial'", "adversarial.disc='convdisc'",
                        "adversarial.disc_kwargs={base = 4, n_layers = 2}", "adversarial.stepper=10")
    names = {e.name for e in events if isinstance(e, Metric)}
    assert {"loss/gan", "loss/d", "d_stepped"} <= names
    stepped = [e.value for e in events if isinstance(e, Metric) and e.name == "d_stepped"]
    assert stepped == [1.0, 0.0, 0.0]   # D's loss < 10 after the first step: the stepper skips it
    assert final.result["model"]


def test_classify_loop_compares_first_layers(tmp_path):
    rng = np.random.default_rng(0)
    for c, level in (("dark", 0.3), ("bright", 1.0)):
        (tmp_path / c).mkdir()
        for i in range(4):
            write_image(tmp_path / c / f"{i}.png", (rng.random((12, 12, 3)) * level).astype(np.float32))
    for first in ("conv", "deconv"):
        cfg = load_run(preset="smoke", overrides=[
            f"data.train={tmp_path}", "data.kind='labelled'", "loop='classify'", "model.arch='classifier'",
            f"model.kwargs={{first_layer = '{first}', width = 4}}", "schedule.steps=2", "data.crop=8",
            "val.crop=8"])
        final = list(drive(train_job, TrainSpec(cfg)))[-1]
        assert isinstance(final, Finished), getattr(final, "detail", "")
        assert 0 <= final.result["metrics"]["accuracy"] <= 1


def test_bad_data_fails_with_a_clear_message(tmp_path):
    cfg = load_run(preset="smoke", overrides=[f"data.train={tmp_path / 'missing'}"])
    final = list(drive(train_job, TrainSpec(cfg)))[-1]
    assert isinstance(final, Failed) and "image folder not found" in final.message


# ------------------------------------------------ taken names, kills, dead processes

def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def finish(spec):
    events = list(drive(train_job, spec))
    assert isinstance(events[-1], Finished), getattr(events[-1], "message", events[-1])
    return events


def tiny_config(images):
    return load_run(preset="smoke", overrides=[f"data.train={images}", *TINY])


def test_a_run_never_replaces_a_model_of_its_name(images):
    spec = registry.get("dncnn")
    kwargs = spec.kwargs({"depth": 2, "width": 4})
    other = checkpoints.save_model("smoke-0001", spec.build(**kwargs).state_dict(), "dncnn", kwargs,
                                   {"task": "denoise", "note": "trained elsewhere"})
    seen = {}

    events = []
    for event in drive(train_job, TrainSpec(tiny_config(images))):
        events.append(event)
        if isinstance(event, Metric) and not seen:   # while it trains, run.json names its process
            exp = experiments.find(1)
            seen.update(pid=exp.meta.get("pid"), beat=exp.meta.get("heartbeat"))
    result = events[-1].result
    assert result["model"] == "smoke-0001-2"
    assert any(isinstance(e, Log) and "smoke-0001-2" in e.text for e in events)
    assert checkpoints.read_card(other.path)["note"] == "trained elsewhere"
    assert checkpoints.find_model("smoke-0001-2").card["experiment"] == 1
    assert seen["pid"] == os.getpid() and seen["beat"]


def test_resume_registers_the_model_of_a_run_killed_before_registering_it(images, monkeypatch, capsys):
    class Killed(BaseException):
        pass

    real = job.save_model

    def killed_at_registration(name, *args, root=None, **kwargs):
        if root is None:   # the user library: the run's model
            raise Killed()
        return real(name, *args, root=root, **kwargs)

    monkeypatch.setattr(job, "save_model", killed_at_registration)
    with pytest.raises(Killed):
        list(drive(train_job, TrainSpec(tiny_config(images))))
    monkeypatch.setattr(job, "save_model", real)
    exp = experiments.find(1)
    assert exp.meta["status"] == "running" and exp.meta["step"] == 3 and not exp.meta.get("model")
    exp.update(pid=dead_pid())   # what SIGKILL leaves: a pid that is gone

    assert experiments.find(1).status == "interrupted"
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    assert "interrupted 3/3" in out and "interrupted at step 3" in out
    assert "restorelab train --resume 1" in out

    events = finish(resume_spec("1"))
    result = events[-1].result
    assert result["model"] == "smoke-0001" and result["step"] == 3
    assert checkpoints.find_model("smoke-0001").card["steps"] == 3
    exp = experiments.find(1)
    assert exp.status == "done" and exp.meta["model"] == "smoke-0001"
    # now it is finished: going on needs more steps, and re-registers its own model
    with pytest.raises(Exception, match="already ran 3 steps"):
        resume_spec("1")
    events = finish(resume_spec("1", ["schedule.steps=4"]))
    assert events[-1].result["model"] == "smoke-0001"
    assert [m.id for m in checkpoints.list_models() if not m.shipped] == ["smoke-0001"]


def test_resume_before_the_first_checkpoint_says_what_to_do(capsys):
    cfg = load_run(preset="smoke").to_dict()
    exp = experiments.create(cfg, "smoke", dataset="tiny")
    exp.update(status="running", step=0, total=80, pid=dead_pid())
    assert main(["train", "--resume", "1"]) == 2
    err = capsys.readouterr().err
    assert "experiment 1 ('smoke')" in err and "first checkpoint" in err
    assert f"restorelab train \"{exp.path / 'config.toml'}\"" in err
    assert "no training state" not in err and "Traceback" not in err
    assert experiments.find(1).summary()["status"] == "interrupted"

    # a run whose process is alive is refused too, rather than trained twice at once
    exp.update(pid=os.getpid())
    assert main(["train", "--resume", "1"]) == 2
    assert "still running" in capsys.readouterr().err


def test_heartbeat_goes_on_and_a_stale_one_reads_interrupted():
    exp = experiments.create({"task": "denoise"}, "beat")
    exp.update(status="running")
    with exp.heartbeat(every=0.05):
        first = exp.meta["heartbeat"]
        time.sleep(1.2)
        assert exp.status == "running"
    assert exp.meta["heartbeat"] != first
    assert json.loads((exp.path / "run.json").read_text())["pid"] == os.getpid()
    # on another machine only the heartbeat tells
    old = (dt.datetime.now() - dt.timedelta(seconds=experiments.STALE_S + 5)).isoformat()
    exp.update(host="another-machine", heartbeat=old)
    assert experiments.find(1).status == "interrupted"
    exp.update(heartbeat=dt.datetime.now().isoformat(timespec="seconds"))
    assert experiments.find(1).status == "running"


def test_a_time_budget_validates_and_checkpoints_by_stepping_time(images, monkeypatch):
    """val.every_minutes: a run on a slow machine still validates (and keeps a checkpoint) as
    its stepping time passes, whatever its step count; here each step "takes" 0.5 s."""
    clock = iter(np.arange(0, 1000, 0.5))   # two calls a step

    class SlowTime:
        perf_counter = staticmethod(lambda: float(next(clock)))

    monkeypatch.setattr(job, "time", SlowTime)
    events, final = run(images, "schedule.steps=7", f"val.every_minutes={1 / 60}",
                        "checkpoint.every=0")
    validated = [e.step for e in events if isinstance(e, Metric) and e.name == "val/psnr"]
    saved = [e for e in events if isinstance(e, Saved) and e.kind == "checkpoint"]
    assert validated == [2, 4, 6, 7]       # every 1 s of stepping, then the final one
    assert len(saved) == 4


def test_a_cpu_clock_budget_counts_compute_not_waiting(images, monkeypatch):
    """schedule.clock = "cpu": time the process spent waiting (a shared machine) is not
    stepping time; here the wall clock runs 0.5 s a call while CPU time barely moves."""
    wall, cpu = iter(np.arange(0, 1000, 0.5)), iter(np.arange(0, 1000, 0.001))

    class SharedMachine:
        perf_counter = staticmethod(lambda: float(next(wall)))
        process_time = staticmethod(lambda: float(next(cpu)))

    monkeypatch.setattr(job, "time", SharedMachine)
    events, _ = run(images, "schedule.steps=7", f"val.every_minutes={1 / 60}",
                    "schedule.clock='cpu'", "checkpoint.every=0")
    validated = [e.step for e in events if isinstance(e, Metric) and e.name == "val/psnr"]
    assert validated == [7]                # under a second of CPU: only the final validation
