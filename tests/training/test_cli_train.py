"""`restorelab train`: presets, overrides, the progress bar, resume."""
from __future__ import annotations

import json

from desktop.cli import main


def test_list_presets(capsys):
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in ("smoke", "denoise-dncnn", "sr-x2-fsrcnn", "deblur-nafnet"):
        assert name in out


def test_print_config_applies_overrides(capsys):
    assert main(["train", "--preset", "smoke", "--set", "schedule.steps=7", "--print-config"]) == 0
    assert "steps = 7" in capsys.readouterr().out


def test_train_smoke_preset_then_resume_longer(images, capsys):
    args = ["train", "--preset", "smoke", "--set", "schedule.steps=3", "--set", f"data.train={images}",
            "--set", "data.crop=16", "--set", "val.crop=16", "--set", "data.batch=2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "experiment 1: model 'smoke-0001'" in captured.out
    assert "step 3/3" in captured.err and "it/s" in captured.err and "loss/total=" in captured.err
    assert main(["models", "list", "--json"]) == 0
    assert "smoke-0001" in [m["id"] for m in json.loads(capsys.readouterr().out)]
    # a finished run continues only when given more steps
    assert main(["train", "--resume", "1"]) == 2
    assert "already ran 3 steps" in capsys.readouterr().err
    assert main(["train", "--resume", "1", "--set", "schedule.steps=4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 4


def test_config_file_and_errors(images, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('name = "mine"\n[data]\ntrain = "images"\ncrop = 16\nbatch = 2\n'
                      'recipe = [{type = "gaussian_noise", sigma = 5}]\n'
                      '[model]\narch = "dncnn"\nkwargs = {depth = 2, width = 4}\n'
                      '[schedule]\nsteps = 1\n[val]\ncrop = 16\n')
    assert main(["train", str(config), "-q", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "mine-0001"
    assert main(["train", "--preset", "smoke", "--set", "optim.lrr=1"]) == 2
    assert "did you mean 'lr'" in capsys.readouterr().err


def test_the_last_line_says_how_a_run_ended():
    from desktop.commands.train import summary

    assert summary("stopped", {"step": 7, "experiment": 3}) == (
        "stopped at step 7; continue with `restorelab train --resume 3`")
    assert summary("done", {"experiment": 3, "model": "m-0003", "metrics": {"psnr": 31.234567}}) \
        == "experiment 3: model 'm-0003' psnr 31.23"
    assert summary("aborted", {"step": 2}) == ""   # nothing saved worth a line
