"""Fine-tuning an imported (spandrel) model: its card has no training config, so the fine-tune
makes one from the card; the result, and every timeline checkpoint, is an imported model again
(spandrel's own weights), restores through the engine and names its parent and examples."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from engine.checkpoints import build_model, find_model, load_weights
from engine.events import Failed, Finished, Log
from engine.imageio import write_image
from engine.importer import import_model
from engine.inference import InferenceOptions, restore_whole
from engine.jobs import drive
from engine.models import load_restorer
from tests.engine.test_community_models import _save   # tiny spandrel nets of each family
from tests.training.test_finetune import smooth_image, stripes   # the pattern parents never saw
from training.finetune import FinetuneSpec, finetune_job, register_checkpoint, score

FAST = ["data.crop=32", "data.batch=4"]


@pytest.fixture
def imported(tmp_path):
    """Import a tiny spandrel model of one family; its library id."""
    def make(kind: str) -> str:
        path, _ = _save(tmp_path, kind)
        return import_model(path).id
    return make


def striped_examples(folder: Path, scale: int) -> Path:
    """Six pairs: a striped input (at 1/scale) and its smooth clean reference."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        clean = smooth_image(rng)
        write_image(folder / f"ex{i}.png", stripes(clean)[::scale, ::scale])
        write_image(folder / f"ex{i}.clean.png", clean)
    return folder


def pairs_of(folder: Path):
    from training.datasets import load_pixels
    from training.finetune import scan_examples

    return [(load_pixels(e.input), load_pixels(e.clean)) for e in scan_examples(folder)]


def restored(model: str, img: np.ndarray) -> np.ndarray:
    return restore_whole(load_restorer(model, device="cpu"), img, InferenceOptions(tile=0))


def test_imported_sr_model_finetunes_and_stays_an_imported_model(imported, images, tmp_path, capsys):
    parent = imported("compact")   # Real-ESRGAN Compact x2, never trained
    examples = striped_examples(tmp_path / "examples", 2)
    spec = FinetuneSpec(parent, str(examples), minutes=0, steps=24, lr_scale=5.0, validations=3,
                        device="cpu", overrides=[f"data.train={images}", *FAST])   # a tiny base set
    events = list(drive(finetune_job, spec))
    final = events[-1]
    assert isinstance(final, Finished) and final.status == "done", getattr(final, "detail", final)
    made = [e.text for e in events if isinstance(e, Log) and "no training config" in e.text]
    assert made and "bicubic x2 downscale" in made[0] and "mixed with the base set" in made[0]

    model = final.result["model"]
    pairs = pairs_of(examples)
    before, after = score(find_model(parent).path, pairs), score(find_model(model).path, pairs)
    assert after > before + 1.0, (before, after)

    entry = find_model(model)
    arch, kwargs, state = load_weights(entry.path)
    assert arch == "imported" and kwargs == find_model(parent).card["kwargs"]
    assert set(state) == set(load_weights(find_model(parent).path)[2])   # spandrel's keys, no prefix
    card = entry.card
    assert card["parent"] == parent and len(card["examples"]) == 6
    assert card["architecture_name"] == find_model(parent).card["architecture_name"]
    assert card["training"]["model"]["arch"] == "imported"

    img = np.random.default_rng(3).random((20, 24, 3), dtype=np.float32)
    out = restored(model, img)
    assert out.shape == (40, 48, 3)
    assert np.abs(out - restored(parent, img)).max() > 1e-3

    first = final.result["timeline"][0]["path"]
    net, spec_, _ = build_model(Path(first))
    assert spec_.kind == "imported" and net.scale == 2
    step = register_checkpoint(model, first)
    assert restored(step.id, img).shape == (40, 48, 3)

    assert main(["models", "describe", model]) == 0
    out = capsys.readouterr().out
    assert card["architecture_name"] in out and "not described" not in out


def test_cli_finetunes_an_imported_denoiser_on_the_examples_alone(imported, tmp_path, capsys):
    parent = imported("dncnn")
    examples = striped_examples(tmp_path / "examples", 1)
    rc = main(["finetune", parent, "--examples", str(examples), "--steps", "20", "--minutes", "0",
               "--mix", "1", "--lr-scale", "5", "--validations", "2", "--device", "cpu",
               "--set", "data.crop=32", "--set", "data.batch=4", "--json", "-q"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    result = json.loads(captured.out)
    assert result["parent"] == parent and result["timeline"]
    assert max(r["psnr"] for r in result["timeline"]) > result["parent_psnr"] + 0.5
    card = find_model(result["model"]).card
    assert card["parent"] == parent and card["examples_dir"] == str(examples.resolve())
    recipe = card["training"]["data"]["recipe"]
    assert recipe == [{"type": "gaussian_noise", "sigma": [5, 50]}]   # blind AWGN for a denoiser
    img = np.random.default_rng(4).random((24, 24, 3), dtype=np.float32)
    assert np.abs(restored(result["model"], img) - restored(parent, img)).max() > 1e-3


def test_an_arch_that_cannot_train_fails_in_one_line(imported, tmp_path, monkeypatch, capsys):
    from engine.community import DescriptorNet

    parent = imported("compact")
    examples = striped_examples(tmp_path / "examples", 2)
    # an architecture whose forward runs in inference mode only (spandrel's own call does)
    monkeypatch.setattr(DescriptorNet, "_train_call", lambda self, x: self.descriptor(x))
    final = list(drive(finetune_job, FinetuneSpec(parent, str(examples), minutes=0, steps=2,
                                                  device="cpu", overrides=FAST)))[-1]
    assert isinstance(final, Failed)
    assert "cannot be trained here" in final.message and "\n" not in final.message
    assert main(["finetune", parent, "--examples", str(examples), "--steps", "2", "--minutes", "0",
                 "--device", "cpu", "-q"]) != 0
    err = capsys.readouterr().err
    assert "cannot be trained here" in err and "Traceback" not in err


def test_a_stopped_imported_finetune_resumes_from_its_checkpoint(imported, tmp_path, capsys):
    from engine.events import Metric
    from engine.jobs import Control

    parent = imported("compact")
    examples = striped_examples(tmp_path / "examples", 2)
    control, final = Control(), None
    spec = FinetuneSpec(parent, str(examples), minutes=0, steps=6, mix=1.0, validations=2,
                        device="cpu", overrides=FAST)
    for event in drive(finetune_job, spec, control):
        if isinstance(event, Metric) and event.name == "loss/total" and event.step == 3:
            control.stop()
        final = event
    assert isinstance(final, Finished) and final.status == "stopped", getattr(final, "detail", final)
    assert main(["train", "--resume", str(final.result["experiment"]), "--device", "cpu",
                 "-q", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["step"] == 6
    card = find_model(result["model"]).card
    assert card["parent"] == parent and card["architecture_name"] == find_model(parent).card[
        "architecture_name"]
    assert restored(result["model"], np.zeros((8, 8, 3), np.float32)).shape == (16, 16, 3)
