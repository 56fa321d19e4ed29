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


def test_a_run_killed_as_soon_as_it_was_created_reads_interrupted(capsys):
    """A kill between the experiment's creation and its first heartbeat leaves run.json as
    create() wrote it: that must already name the process, or the run shows 'created' forever."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from desktop.cli import main

    root = Path(__file__).resolve().parents[2]
    code = "from training import experiments; experiments.create({'task': 'denoise'}, 'gone')"
    subprocess.run([sys.executable, "-c", code], cwd=root, env=dict(os.environ), check=True)
    exp = experiments.find(1)
    assert exp.meta["status"] == "created" and exp.meta["pid"] != os.getpid()
    assert exp.status == "interrupted"
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    assert "interrupted 0/0" in out and "before its first checkpoint" in out
    # the process that creates a run is the one that runs it
    mine = experiments.create({"task": "denoise"}, "here")
    assert mine.meta["pid"] == os.getpid() and mine.status == "created"


def _scripted_validations(monkeypatch, values) -> dict:
    """Validations of the next run score ``values`` (dB) in turn; returns {psnr: the published
    weights at that validation}, filled as the run goes."""
    from training import job

    scores, seen = iter(values), {}
    real_build = job.build_loop

    def scripted(*args, **kwargs):
        loop = real_build(*args, **kwargs)
        real_validate = loop.validate

        def validate(pairs):
            metrics, previews = real_validate(pairs)
            psnr = next(scores)
            seen[psnr] = {k: v.clone() for k, v in loop.final_weights().items()}
            return {**metrics, "val/psnr": psnr}, previews

        loop.validate = validate
        return loop

    monkeypatch.setattr(job, "build_loop", scripted)
    return seen


SCRIPTED_RUN = ["schedule.steps=6", "val.every=2", "data.crop=16", "data.batch=2", "val.crop=16",
                "model.kwargs={depth = 3, width = 8}", "optim.lr=0.01"]


def test_the_best_validation_is_kept_beside_the_last_and_registered(images, monkeypatch):
    """Validations at steps 2, 4, 6 score 30, 35, 25 dB: the run keeps checkpoints/best (step 4)
    and checkpoints/last (step 6), and registers step 4's weights with a card that says so."""
    import torch

    from engine.checkpoints import find_model, load_train_state, load_weights, read_card
    from engine.jobs import drive
    from training.job import TrainSpec, train_job

    seen = _scripted_validations(monkeypatch, [30.0, 35.0, 25.0])
    cfg = load_run(preset="smoke", overrides=[f"data.train={images}", *SCRIPTED_RUN])
    events = list(drive(train_job, TrainSpec(cfg)))
    result = events[-1].result
    assert result["status"] == "done" and result["metrics"]["psnr"] == 35.0

    exp = experiments.find(result["experiment"])
    folders = exp.path / "checkpoints"
    assert read_card(folders / "best")["step"] == 4
    assert int(load_train_state(folders / "last")["step"]) == 6   # resuming goes on from the last
    entry = find_model(result["model"])
    assert entry.card["weights"] == {"checkpoint": "best", "step": 4}
    assert entry.card["best"] == {"step": 4, "psnr": 35.0} and entry.card["steps"] == 6
    assert entry.card["metrics"]["psnr"] == 35.0 and exp.summary()["results"]["psnr"] == 35.0
    _, _, registered = load_weights(entry.path)
    assert all(torch.equal(registered[k], seen[35.0][k]) for k in registered)
    assert not all(torch.equal(registered[k], seen[25.0][k]) for k in registered)
    assert any("registering the best checkpoint (step 4" in getattr(e, "text", "") for e in events)


def test_the_research_report_measures_the_registered_best_weights(images, monkeypatch):
    """The last validation (25 dB) is worse than step 4's (35 dB): the model registered is
    step 4's, and so are the weights the research report measured (its val_mse on the card)."""
    import torch

    from engine.checkpoints import find_model, load_weights
    from engine.jobs import drive
    from training.job import TrainSpec, train_job
    from training.research import report

    seen = _scripted_validations(monkeypatch, [30.0, 35.0, 25.0])
    measured = []
    real_losses = report.MEASURES["losses"]

    def spy(ctx):
        measured.append({k: v.detach().cpu().clone() for k, v in ctx.eval_net().state_dict().items()})
        return real_losses(ctx)

    monkeypatch.setitem(report.MEASURES, "losses", spy)
    cfg = load_run(preset="smoke", overrides=[f"data.train={images}", *SCRIPTED_RUN,
                                              "research.report=['losses']"])
    result = list(drive(train_job, TrainSpec(cfg)))[-1].result
    assert result["status"] == "done", result
    entry = find_model(result["model"])
    assert entry.card["weights"]["checkpoint"] == "best" and len(measured) == 1
    _, _, registered = load_weights(entry.path)
    assert all(torch.equal(measured[0][k], registered[k]) for k in registered)
    assert all(torch.equal(measured[0][k], seen[35.0][k].cpu()) for k in registered)
    assert not all(torch.equal(measured[0][k], seen[25.0][k].cpu()) for k in registered)
    saved = json.loads((experiments.find(result["experiment"]).path / "report.json").read_text())
    assert entry.card["metrics"]["val_mse"] == saved["results"]["val_mse"] > 0


def test_an_interrupted_run_names_the_step_its_last_checkpoint_holds():
    """Killed between writing a checkpoint and updating run.json: run.json says step 4, the
    checkpoint (what a resume continues from) holds step 5; the journal says 5."""
    import subprocess
    import sys

    cfg = load_run(preset="smoke").to_dict()
    exp = experiments.create(cfg, "late", dataset="tiny")
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    exp.update(status="running", step=4, total=10, pid=proc.pid)
    exp.checkpoint.mkdir(parents=True)
    (exp.checkpoint / "card.json").write_text(json.dumps({"step": 5, "experiment": 1}))
    (exp.checkpoint / "train_state.pt").write_bytes(b"state")
    row = experiments.find(1).summary()
    assert row["status"] == "interrupted" and row["step"] == 5
    assert "interrupted at step 5;" in row["hint"]
    exp.update(status="done", step=10)     # a finished run keeps what run.json says
    assert experiments.find(1).summary()["step"] == 10
