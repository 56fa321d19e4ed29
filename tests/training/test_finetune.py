"""Fine-tuning on the user's own examples: a model that never saw a stripe pattern learns to
remove it from a few pairs; the run keeps a timeline and the card names parent and examples."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.cli import main
from engine.checkpoints import find_model
from engine.errors import ConfigError
from engine.events import Failed, Finished, Metric
from engine.imageio import write_image
from engine.jobs import drive
from training.config import load_run
from training.finetune import FinetuneSpec, finetune_job, scan_examples, score
from training.job import TrainSpec, train_job

TINY = ["schedule.steps=3", "data.crop=16", "data.batch=4", "val.crop=16",
        "model.kwargs={depth = 3, width = 12}"]


def stripes(img: np.ndarray) -> np.ndarray:
    """The pattern the parent never saw: every fourth column brighter."""
    out = img.copy()
    out[:, ::4] += 0.25
    return np.clip(out, 0, 1)


def smooth_image(rng, size=32) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    a, b, c = rng.random(3)
    img = np.stack([0.3 + 0.4 * a * x, 0.3 + 0.4 * b * y, 0.3 + 0.2 * c * (x + y)], axis=2)
    return img.astype(np.float32)


@pytest.fixture
def parent(images):
    """A tiny denoiser trained a few steps on Gaussian noise (never on stripes)."""
    cfg = load_run(preset="smoke", overrides=[f"data.train={images}", *TINY])
    final = list(drive(train_job, TrainSpec(cfg)))[-1]
    assert isinstance(final, Finished), getattr(final, "detail", final)
    return final.result["model"]


@pytest.fixture
def striped(tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        clean = smooth_image(rng)
        write_image(folder / f"ex{i}.png", stripes(clean))
        write_image(folder / f"ex{i}.clean.png", clean)
    return folder


def example_pairs(folder):
    from training.datasets import load_pixels

    return [(load_pixels(e.input), load_pixels(e.clean)) for e in scan_examples(folder)]


def test_finetune_learns_the_examples_pattern(parent, striped):
    spec = FinetuneSpec(parent, str(striped), minutes=0, steps=30, lr_scale=3.0, validations=3,
                        device="cpu")
    events = list(drive(finetune_job, spec))
    final = events[-1]
    assert isinstance(final, Finished) and final.status == "done", getattr(final, "detail", final)
    result = final.result
    pairs = example_pairs(striped)
    before = score(find_model(parent).path, pairs)
    after = score(find_model(result["model"]).path, pairs)
    assert after > before + 1.0, (before, after)
    assert result["parent_psnr"] < max(r["psnr"] for r in result["timeline"])

    steps = [r["step"] for r in result["timeline"]]
    assert len(steps) >= 2 and steps == sorted(steps) and steps[-1] == 30
    assert all(r["psnr"] is not None for r in result["timeline"])
    val = [e for e in events if isinstance(e, Metric) and e.name == "val/psnr"]
    assert val[0].step == 0 and val[0].value == pytest.approx(result["parent_psnr"])

    card = find_model(result["model"]).card
    assert card["parent"] == parent
    assert sorted(e["input"] for e in card["examples"]) == [f"ex{i}.png" for i in range(6)]
    assert {e["kind"] for e in card["examples"]} == {"pair"}
    assert card["training"]["model"]["init"]


def test_lone_crops_train_with_the_parents_recipe_from_the_cli(parent, tmp_path, capsys):
    folder = tmp_path / "crops"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(2):
        write_image(folder / f"crop{i}.png", smooth_image(rng, 24))
    code = main(["finetune", parent, "--examples", str(folder), "--steps", "4", "--minutes", "0",
                 "--mix", "0.5", "--device", "cpu", "-q", "--json"])
    assert code == 0
    import json

    result = json.loads(capsys.readouterr().out)
    card = find_model(result["model"]).card
    assert card["parent"] == parent and {e["kind"] for e in card["examples"]} == {"crop"}
    assert len(result["timeline"]) >= 2


def test_bad_examples_folders_say_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        scan_examples(tmp_path / "nope")
    (tmp_path / "a.clean.png").write_bytes(b"")
    write_image(tmp_path / "a.clean.png", np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ConfigError, match="no input"):
        scan_examples(tmp_path)
    events = list(drive(finetune_job, FinetuneSpec("no-such-model", str(tmp_path))))
    assert isinstance(events[-1], Failed) and "no model named" in events[-1].message


def test_a_chosen_timeline_checkpoint_becomes_a_model(parent, striped):
    from training.finetune import register_checkpoint

    spec = FinetuneSpec(parent, str(striped), minutes=0, steps=4, validations=2, device="cpu")
    result = list(drive(finetune_job, spec))[-1].result
    first = result["timeline"][0]
    entry = register_checkpoint(result["model"], first["path"])
    assert entry.id == f"{result['model']}-step{first['step']}"
    assert entry.card["parent"] == parent and len(entry.card["examples"]) == 6
    assert entry.card["steps"] == first["step"] and entry.card["metrics"]["psnr"] == first["psnr"]


def test_the_cli_summary_names_the_best_checkpoint():
    from desktop.commands.finetune import summary

    result = {"model": "m-ft", "parent": "m", "parent_psnr": 28.0, "path": "/runs/7",
              "timeline": [{"psnr": 29.5}, {"psnr": None}, {"psnr": 30.25}, {"psnr": 29.0}]}
    assert summary("done", result) == ("model 'm-ft' (parent m): examples 28.00 -> 30.25 dB at "
                                       "best; 4 checkpoints in /runs/7")


def test_a_resumed_finetune_goes_on_adding_to_its_timeline(parent, striped, capsys):
    """A fine-tune of 4 steps resumed to 8 with `restorelab train --resume`, then to 12 from the
    window's Train page: the timeline gains the resumed steps, each with its validation PSNR."""
    import json

    from desktop.train.jobs import RunRequest, train_run_job
    from training.finetune import timeline

    spec = FinetuneSpec(parent, str(striped), minutes=0, steps=4, validations=2, device="cpu")
    first = list(drive(finetune_job, spec))[-1]
    assert isinstance(first, Finished) and first.status == "done", getattr(first, "detail", first)
    number, folder = first.result["experiment"], first.result["path"]
    assert [r["step"] for r in timeline(folder)] == [2, 4]

    code = main(["train", "--resume", str(number), "--set", "schedule.steps=8", "--device", "cpu",
                 "-q", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["step"] == 8
    assert [r["step"] for r in result["timeline"]] == [2, 4, 6, 8]

    final = list(drive(train_run_job, RunRequest(resume=str(number),
                                                 overrides=("schedule.steps=12",))))[-1]
    assert isinstance(final, Finished) and final.status == "done", getattr(final, "detail", final)
    line = timeline(folder)
    assert [r["step"] for r in line] == [2, 4, 6, 8, 10, 12]
    assert final.result["timeline"] == line
    assert all(isinstance(r["psnr"], float) and r["psnr"] > 0 for r in line), line
    journal = {row["step"]: row["val/psnr"] for row in map(json.loads, open(f"{folder}/metrics.jsonl"))
               if "val/psnr" in row}
    assert all(r["psnr"] == pytest.approx(journal[r["step"]]) for r in line[2:])
