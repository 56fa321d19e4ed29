"""Model folders: save/load round trip, atomic writes, library listing, delete/rename."""
from __future__ import annotations

import json

import pytest
import torch

from engine import checkpoints, paths
from engine.errors import ModelError
from engine.models import load_restorer


def tiny_dncnn():
    from engine import registry

    spec = registry.get("dncnn")
    kwargs = spec.kwargs({"depth": 3, "width": 8})
    return spec.build(**kwargs), kwargs


def test_save_and_load_round_trip_keeps_arch_kwargs_and_outputs():
    net, kwargs = tiny_dncnn()
    entry = checkpoints.save_model("My Denoiser", net.state_dict(), "dncnn", kwargs,
                                   {"task": "denoise", "metrics": {"psnr": 30.1}})
    assert entry.path.parent == paths.models_dir()
    card = json.loads((entry.path / "card.json").read_text())
    assert card["arch"] == "dncnn" and card["kwargs"] == kwargs and len(card["sha256"]) == 64
    module, spec, loaded_kwargs = checkpoints.build_model(entry.path)
    assert loaded_kwargs == kwargs
    x = torch.rand(1, 3, 17, 19)
    with torch.no_grad():
        assert torch.equal(module(x), net.eval()(x))
    assert [m.id for m in checkpoints.list_models() if not m.shipped] == [entry.id]


def test_failed_write_leaves_the_previous_model_intact(monkeypatch):
    net, kwargs = tiny_dncnn()
    entry = checkpoints.save_model("keep", net.state_dict(), "dncnn", kwargs, {"task": "denoise"})
    before = (entry.path / "model.safetensors").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "write_json", disk_full)
    with pytest.raises(OSError):
        checkpoints.save_model("keep", {k: v * 0 for k, v in net.state_dict().items()}, "dncnn",
                               kwargs, {"task": "denoise"})
    assert (entry.path / "model.safetensors").read_bytes() == before
    leftovers = [p.name for p in paths.models_dir().iterdir() if p.name != "keep"]
    assert leftovers == []


def test_wrong_files_give_clear_errors(tmp_path):
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "model.safetensors").write_bytes(b"this is not safetensors")
    with pytest.raises(ModelError, match="not a readable safetensors"):
        checkpoints.load_weights(bogus)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    save_file({"w": torch.zeros(2)}, str(foreign / "model.safetensors"))
    with pytest.raises(ModelError, match="not saved by RestoreLab"):
        checkpoints.load_weights(foreign)
    with pytest.raises(ModelError, match="no model or method"):
        load_restorer("does-not-exist")
    with pytest.raises(ModelError, match="architecture, not a trained model"):
        load_restorer("dncnn")


def test_delete_and_rename_user_models_but_never_shipped(monkeypatch, tmp_path):
    net, kwargs = tiny_dncnn()
    checkpoints.save_model("a", net.state_dict(), "dncnn", kwargs, {"task": "denoise"})
    renamed = checkpoints.rename_model("a", "b")
    assert renamed.id == "b" and checkpoints.find_model("a") is None
    checkpoints.delete_model("b")
    assert [m for m in checkpoints.list_models() if not m.shipped] == []
    shipped_root = tmp_path / "shipped"
    checkpoints.save_model("ship", net.state_dict(), "dncnn", kwargs, {"task": "denoise"},
                           root=shipped_root)
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: shipped_root)
    assert [m.shipped for m in checkpoints.list_models()] == [True]
    with pytest.raises(ModelError, match="cannot be deleted"):
        checkpoints.delete_model("ship")


def test_train_state_loads_with_weights_only(tmp_path):
    state = {"step": 7, "rng": torch.get_rng_state(), "opt": {"lr": 0.1}}
    checkpoints.save_train_state(tmp_path, state)
    loaded = checkpoints.load_train_state(tmp_path)
    assert loaded["step"] == 7 and torch.equal(loaded["rng"], state["rng"])
