"""The experiment journal: numbering, listing, notes, comparison, and its CLI."""
from __future__ import annotations

import json

import pytest

from engine.errors import ConfigError
from training import experiments
from training.config import load_run


def _make(name, steps, psnr):
    cfg = load_run(preset="smoke", overrides=[f"schedule.steps={steps}"]).to_dict()
    exp = experiments.create(cfg, name, description=f"{name} run", dataset="tiny")
    exp.update(status="done", step=steps, total=steps, results={"psnr": psnr})
    exp.log(1, {"loss/total": 0.5})
    return exp


def test_journal_numbers_lists_and_finds():
    a, b = _make("first", 10, 20.5), _make("second", 20, 22.25)
    assert (a.number, b.number) == (1, 2) and b.path.name == "0002-second"
    rows = [e.summary() for e in experiments.list_experiments()]
    assert [(r["number"], r["name"], r["dataset"], r["results"]["psnr"]) for r in rows] == \
        [(1, "first", "tiny", 20.5), (2, "second", "tiny", 22.25)]
    assert experiments.find("2").path == b.path and experiments.find("first").number == 1
    assert experiments.find(str(a.path)).number == 1
    with pytest.raises(ConfigError):
        experiments.find("99")
    experiments.set_notes(1, "baseline, too short")
    assert experiments.find(1).summary()["notes"] == "baseline, too short"
    rows = {f: (x, y) for f, x, y in experiments.compare(1, 2)}
    assert rows["results.psnr"] == (20.5, 22.25)
    assert rows["config.schedule.steps"] == (10, 20)
    assert "config.data.crop" not in rows        # only differences are listed
    assert a.metrics() == [{"step": 1, "loss/total": 0.5}]


def test_experiments_cli(capsys):
    from desktop.cli import main

    _make("alpha", 5, 19.0)
    _make("beta", 6, 21.0)
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "psnr 21" in out and "tiny" in out
    assert main(["experiments", "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["alpha", "beta"]
    assert main(["experiments", "note", "2", "best", "so", "far"]) == 0
    capsys.readouterr()
    assert main(["experiments", "show", "2"]) == 0
    out = capsys.readouterr().out
    assert "best so far" in out and "[schedule]" in out
    assert main(["experiments", "compare", "1", "2"]) == 0
    assert "schedule.steps" in capsys.readouterr().out
    assert main(["experiments", "show", "7"]) == 2
