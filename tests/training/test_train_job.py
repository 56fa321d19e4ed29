"""The training job end to end on tiny synthetic data: events, experiment folder, model library."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.checkpoints import build_model, list_models
from engine.events import Failed, Finished, Metric, Preview, Progress, Saved
from engine.imageio import write_image
from engine.jobs import drive
from training.config import ScheduleConfig, load_run
from training.job import TrainSpec, train_job
from training.optim import lr_factor

TINY = ["schedule.steps=3", "data.crop=16", "data.batch=2", "val.crop=16",
        "model.kwargs={depth = 3, width = 8}"]


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(folder / f"im{i}.png", rng.random((24, 28, 3)).astype(np.float32))
    return folder


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
