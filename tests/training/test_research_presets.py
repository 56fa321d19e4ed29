"""The research presets (training/presets/r*.toml, docs/experiments.md).

Every preset runs a couple of steps on tiny data (its folders, sizes and generated
sets shrunk by overrides); the 000 kernel-recovery preset runs to completion at
its default size and must find the blur kernel.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.checkpoints import list_models
from engine.events import Failed, Finished
from engine.imageio import write_image
from engine.jobs import drive
from training.config import PRESETS_DIR, load_run
from training.job import TrainSpec, train_job

RESEARCH = sorted(p.stem for p in PRESETS_DIR.glob("r[0-9]*.toml"))
EXPECTED = {"r000a-deconv-kernel", "r000b-deconv-box", "r000b-deconv-gauss", "r000c-sr-deconv",
            "r000c-sr-conv", "r000d-classify-deconv", "r000d-classify-conv", "r001a-ae", "r001b-dae",
            "r001c-dae-groupnorm", "r002a-sobel-ae", "r002b-sobel-pix2pix", "r002c-random-filter",
            "r003a-dense-transposed", "r003b-dense-pixelshuffle", "r003c-dense-mse",
            "r003d-dense-msssim", "r004a-rdn-x2", "r004b-rdn-blurpool", "r004c-realsr-gan"}
FIXED_SIZE = {"dae", "dae-groupnorm"}   # 100 px nets: keep their crop


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for i in range(5):
        img = rng.random((104, 104, 3)).astype(np.float32)
        write_image(folder / f"im{i}.png", (img + np.linspace(0, 1, 104)[:, None, None]) / 2)
    return folder


def tiny(name: str, images) -> list[str]:
    cfg = load_run(preset=name)
    crop = cfg.data.crop if cfg.model.arch in FIXED_SIZE else min(cfg.data.crop, 32)
    out = ["schedule.steps=2", "schedule.epochs=0", "schedule.warmup=0", "data.batch=2",
           "data.workers=0", "data.max_images=0", "data.val_count=2", "val.every=0",
           "checkpoint.every=0", f"data.crop={crop}", f"val.crop={crop}",
           "research.count=20", "research.size=32", f"research.source={images}"]
    if not cfg.research.generate or cfg.research.generate == "realsr":
        out += [f"data.train={images}", "data.val=''"]
    return out


def test_every_research_preset_is_there_and_documented():
    assert EXPECTED <= set(RESEARCH)
    doc = (PRESETS_DIR.parents[1] / "docs" / "experiments.md").read_text(encoding="utf-8")
    for name in RESEARCH:
        cfg = load_run(preset=name)
        assert cfg.description and cfg.research.report, name
        assert f"--preset {name}" in doc, f"docs/experiments.md has no command for {name}"


@pytest.mark.parametrize("name", RESEARCH)
def test_research_preset_runs_a_few_steps(name, images):
    cfg = load_run(preset=name, overrides=tiny(name, images))
    final = list(drive(train_job, TrainSpec(cfg)))[-1]
    assert not isinstance(final, Failed), final.detail
    assert isinstance(final, Finished) and final.status == "done"
    meta = json.loads(open(f"{final.result['path']}/run.json").read())
    results = meta["results"]
    for key, value in cfg.research.reported.items():   # the original's figure sits beside ours
        assert results[f"orig_{key}"] == value
    expect = {"losses": "val_mse", "nyquist": "nyquist_energy", "dense": "mask_iou",
              "anomaly": "anomaly_auroc", "train_accuracy": "train_accuracy", "kernel": "out_scale"}
    for measure in cfg.research.report:
        if measure in expect and (measure != "kernel" or cfg.model.kwargs.get("learn_scale")):
            assert np.isfinite(results[expect[measure]]), (measure, results)


def test_the_gan_recipe_rolls_back_a_nan(images):
    """004's recipe survives a NaN loss: back to the last good state, lower lr, go on."""
    from engine.events import Rollback

    cfg = load_run(preset="r004c-realsr-gan", overrides=[*tiny("r004c-realsr-gan", images),
                                                         "schedule.steps=3", "watchdog.inject_nan=[2]"])
    events = list(drive(train_job, TrainSpec(cfg)))
    assert isinstance(events[-1], Finished) and events[-1].result["step"] == 3
    assert [e.step for e in events if isinstance(e, Rollback)] == [0]   # the start was the last good state


def test_kernel_recovery_preset_finds_the_blur_kernel():
    """000 (a) at its default size: MSE to ~0 and the learned kernel within 0.02 of h."""
    cfg = load_run(preset="r000a-deconv-kernel")
    final = list(drive(train_job, TrainSpec(cfg)))[-1]
    assert isinstance(final, Finished), getattr(final, "detail", "")
    results = json.loads(open(f"{final.result['path']}/run.json").read())["results"]
    assert results["kernel_error"] < 0.02 and results["val_mse"] < 1e-4
    card = {m.id: m for m in list_models()}[final.result["model"]].card
    learned = np.array(card["research"]["kernel"])
    assert np.abs(learned - [[1, .2, 0, 0], [.2, 0, 0, 0]]).max() < 0.02   # the card shows it
    assert "learned kernel" in open(f"{final.result['path']}/notes.md").read()
