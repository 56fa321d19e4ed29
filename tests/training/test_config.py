"""Run configs: presets, overrides, checks, path resolution."""
from __future__ import annotations

import pytest

from engine.errors import ConfigError
from training.config import (PRESETS_DIR, RunConfig, apply_overrides, list_presets, load_raw, load_run,
                             parse_value)

REQUIRED = {"smoke", "denoise-dncnn", "sr-x2-fsrcnn", "deblur-nafnet"}


def test_presets_are_listed_and_all_parse():
    found = list_presets()
    assert REQUIRED <= set(found)
    assert all(found[name] for name in REQUIRED), "every shipped preset has a description"
    for name in found:   # also presets others add later
        cfg = load_run(preset=name)
        assert cfg.schedule.steps > 0 or cfg.schedule.epochs > 0


def test_smoke_preset_defaults():
    cfg = load_run(preset="smoke")
    assert (cfg.model.arch, cfg.schedule.steps, cfg.data.crop, cfg.data.batch) == ("dncnn", 10, 32, 4)
    assert cfg.data.train.endswith("shared/data/train")   # ../shared relative to the repo root
    assert cfg.data.recipe[0]["type"] == "gaussian_noise"


def test_overrides_parse_toml_values(tmp_path):
    cfg = load_run(preset="smoke", overrides=[
        "schedule.steps=3", "optim.betas=[0.5, 0.999]", "data.recipe=[{type='gaussian_blur', sigma=2}]",
        f"data.train={tmp_path}", "description=hello world", "loss.mse=0.5"])
    assert cfg.schedule.steps == 3 and cfg.optim.betas == [0.5, 0.999]
    assert cfg.data.recipe == [{"type": "gaussian_blur", "sigma": 2}]
    assert cfg.data.train == str(tmp_path) and cfg.description == "hello world"
    assert cfg.loss == {"l1": 1.0, "mse": 0.5}
    assert parse_value("1e-3") == 1e-3 and parse_value("abc") == "abc" and parse_value("true") is True
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}


def test_relative_paths_follow_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "run.toml").write_text('[data]\ntrain = "images"\n')
    monkeypatch.chdir(tmp_path)
    raw = load_raw(tmp_path / "cfg" / "run.toml", overrides=["data.val=valset"])
    assert raw["data"]["train"] == str(tmp_path / "cfg" / "images")
    assert raw["data"]["val"] == str(tmp_path / "valset")   # overrides: relative to the cwd


@pytest.mark.parametrize("override, message", [
    ("schedule.stepz=3", "did you mean 'steps'"),
    ("data.crop='big'", "data.crop' must be int"),
    ("loop='magic'", "loop"),
    ("data.crop=30", "multiple of data.scale"),   # with scale 4 below
    ("optim.betas=[0.9]", "betas"),
    ("schedule.clock='gpu'", "schedule.clock is 'wall' or 'cpu'"),
])
def test_bad_configs_say_what_is_wrong(override, message):
    extra = ["data.scale=4", "data.recipe=[{type='downscale', scale=4}]"] if "30" in override else []
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_run(preset="smoke", overrides=[override, *extra])


def test_round_trip_through_toml():
    import tomllib

    cfg = load_run(preset="sr-x2-fsrcnn")
    again = RunConfig.from_dict(tomllib.loads(cfg.to_toml()))
    assert again == cfg


def test_missing_preset_lists_known_ones():
    with pytest.raises(ConfigError, match="smoke"):
        load_run(preset="nope")
    assert (PRESETS_DIR / "smoke.toml").exists()


def test_the_documented_example_is_a_valid_complete_config():
    import re
    import tomllib
    from dataclasses import fields

    text = (PRESETS_DIR.parents[1] / "docs" / "training.md").read_text(encoding="utf-8")
    raw = tomllib.loads(re.search(r"```toml\n(.*?)```", text, re.S).group(1))
    cfg = RunConfig.from_dict(raw)
    assert cfg.name == "denoise-small"
    for f in fields(RunConfig):   # every key is documented
        assert f.name in raw
        value = getattr(cfg, f.name)
        if hasattr(value, "__dataclass_fields__"):
            assert set(raw[f.name]) == {g.name for g in fields(value)}, f.name
