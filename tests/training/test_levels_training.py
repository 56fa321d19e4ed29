"""Level-map degradations, raw Sobel targets, best checkpoints, time budgets, and models whose
training goes on (a shipped model's resumable state)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.checkpoints import find_model, load_weights
from engine.events import Finished, Log
from engine.imageio import write_image
from engine.jobs import drive
from engine.levels import UNKNOWN
from engine.models import load_restorer
from training.config import load_run
from training.degradations import Recipe
from training.degradations.targets import SOBEL_UNIT
from training.job import TrainSpec, train_job
from training.resumable import resumable_state, resume_spec
from training import experiments


def pair(step: dict, seed: int, size: int = 48):
    clean = np.random.default_rng(100 + seed).random((size, size, 3)).astype(np.float32)
    return clean, *Recipe.from_list([step]).make_pair(clean, np.random.default_rng(seed))


def test_noise_with_level_appends_sigma_or_the_blind_value():
    values = set()
    for seed in range(40):
        clean, inp, target = pair({"type": "noise_with_level", "sigma": 30, "p_blind": 0.5,
                                   "p_grey": 0.0, "p_clip": 1.0, "p_jpeg": 0.0}, seed)
        assert inp.shape == (48, 48, 4) and target.shape == (48, 48, 3)
        level = inp[:, :, 3]
        assert level.min() == level.max()
        values.add(round(float(level[0, 0]), 5))
        assert 0 <= inp[:, :, :3].min() and inp[:, :, :3].max() <= 1      # clipped like a file
        assert np.allclose(inp[:, :, :3] * 255, np.rint(inp[:, :, :3] * 255), atol=1e-3)
        np.testing.assert_array_equal(target, clean)
    assert values == {round(UNKNOWN, 5), round(30 / 255, 5)}


def test_grey_samples_have_one_noise_plane_on_three_equal_channels():
    _, inp, target = pair({"type": "noise_with_level", "sigma": 25, "p_grey": 1.0}, 3)
    assert np.array_equal(target[..., 0], target[..., 1]) and np.array_equal(target[..., 1], target[..., 2])
    assert np.array_equal(inp[..., 0], inp[..., 2])
    assert np.std(inp[..., 0] - target[..., 0]) > 0.05


def test_blur_with_level_carries_a_jittered_sigma():
    sigmas = []
    for seed in range(30):
        _, inp, _ = pair({"type": "blur_with_level", "sigma": 2.0, "noise": 0, "jitter": 0.1}, seed)
        sigmas.append(float(inp[0, 0, 3]) * 4.0)
    assert 1.85 < np.mean(sigmas) < 2.15 and 0.05 < np.std(sigmas) < 0.4


def test_raw_sobel_target_is_the_magnitude_over_its_unit():
    from engine.classical import sobel_magnitude

    clean, _, target = pair({"type": "sobel_target", "normalise": False}, 0)
    np.testing.assert_allclose(target[:, :, 0], sobel_magnitude(clean, 1.3) / SOBEL_UNIT, atol=1e-6)


TINY = ["data.crop=16", "data.batch=2", "val.crop=16", "schedule.warmup=0"]


def run(spec):
    events = list(drive(train_job, spec))
    assert isinstance(events[-1], Finished), getattr(events[-1], "detail", events[-1])
    return events, events[-1].result


def sobel_config(images, *extra):
    return load_run(preset="ship-sobel", overrides=[
        f"data.train={images}", *TINY, "model.kwargs={widths = [4, 8], blocks = 1, out_channels = 1}",
        "threads=1", *extra])


def test_a_raw_sobel_model_restores_a_normalised_map(images):
    _, result = run(TrainSpec(sobel_config(images, "schedule.steps=4", "val.every=2")))
    entry = find_model(result["model"])
    assert entry.card["output_normalise"] == "max"
    out = load_restorer(entry.id, device="cpu")
    from engine.inference import InferenceOptions, restore_pixels

    gen = restore_pixels(out, np.random.default_rng(1).random((40, 40, 3)).astype(np.float32),
                         InferenceOptions())
    while True:
        try:
            next(gen)
        except StopIteration as end:
            edges = end.value
            break
    assert edges.shape == (40, 40, 1) and edges.max() == pytest.approx(1.0)


def test_best_validation_is_kept_and_registered(images):
    # a huge lr late in the run makes the last validation worse than an earlier one
    cfg = sobel_config(images, "schedule.steps=6", "val.every=2", "optim.lr=0.5",
                       "schedule.decay='none'", "optim.ema=0")
    events, result = run(TrainSpec(cfg))
    exp = experiments.find(str(result["experiment"]))
    log = [r for r in exp.metrics() if "val/psnr" in r]
    best = max(log, key=lambda r: r["val/psnr"])
    card = find_model(result["model"]).card
    assert (exp.path / "checkpoints" / "best").exists()
    assert card["best"]["step"] == best["step"]
    assert card["metrics"]["psnr"] == pytest.approx(best["val/psnr"], abs=1e-6)
    if best["step"] != 6:
        assert any(isinstance(e, Log) and "best checkpoint" in e.text for e in events)
    assert all("train_s" in r for r in log)


def test_a_time_budget_ends_the_run(images):
    cfg = sobel_config(images, "schedule.steps=100000", "schedule.minutes=0.02")
    _, result = run(TrainSpec(cfg))
    assert 1 <= result["step"] < 100000 and result["status"] == "done"


def test_a_model_with_a_resumable_state_trains_on(images, tmp_path):
    """What a shipped model keeps: its training goes on in a new experiment, anywhere."""
    import torch

    from engine.checkpoints import TRAIN_STATE
    import shutil

    _, result = run(TrainSpec(sobel_config(images, "schedule.steps=3", "val.every=3")))
    exp = experiments.find(str(result["experiment"]))
    shipped = tmp_path / "shipped" / "edges"
    shutil.copytree(find_model(result["model"]).path, shipped)
    torch.save(resumable_state(exp), shipped / TRAIN_STATE)

    spec = resume_spec(str(shipped), ["schedule.steps=5"])
    _, more = run(spec)
    assert more["step"] == 5 and more["experiment"] != result["experiment"]
    grown = experiments.find(str(more["experiment"]))
    assert grown.meta["parent"] == "edges"
    _, _, raw = load_weights(exp.checkpoint)
    assert set(raw) == set(load_weights(grown.checkpoint)[2])


def test_a_model_without_state_says_how_to_fine_tune(images, tmp_path):
    _, result = run(TrainSpec(sobel_config(images, "schedule.steps=2")))
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="model.init"):
        resume_spec(str(find_model(result["model"]).path), [])
    assert json.loads((find_model(result["model"]).path / "card.json").read_text())["steps"] == 2
