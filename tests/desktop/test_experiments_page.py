"""Experiments page: the journal as a table, notes saved to the run, curves of runs overlaid."""
from __future__ import annotations

import pytest


def fake_run(name: str, losses: list[float], dataset: str = "photos", lr: float = 1e-3,
             status: str = "done"):
    """An experiment folder as a training run leaves it (no training needed)."""
    from training.config import RunConfig
    from training.experiments import create

    cfg = RunConfig(name=name)
    cfg.optim.lr = lr
    exp = create(cfg.to_dict(), name, f"{name} description", dataset)
    exp.log(1, {"loss/total": losses[0], "loss/l1": losses[0], "lr": lr})
    exp.log(2, {"loss/total": 99.0, "loss/l1": 99.0, "lr": lr})            # undone below
    exp.log(2, {"event": "rollback", "reason": "loss is NaN", "to_step": 1})
    for step, loss in enumerate(losses[1:], 2):
        exp.log(step, {"loss/total": loss, "loss/l1": loss, "lr": lr / 2})
    exp.log(len(losses), {"val/psnr": 30.0 + len(losses), "val/ssim": 0.9})
    exp.update(status=status, step=len(losses), total=len(losses),
               results={"psnr": 30.0 + len(losses), "ssim": 0.9})
    return exp


@pytest.fixture
def runs():
    return [fake_run("alpha", [0.5, 0.4, 0.3]), fake_run("beta", [0.6, 0.5, 0.45, 0.4], lr=2e-3)]


def open_page(window):
    window.show_page("Experiments")
    return window.pages["Experiments"]


def cell(page, row, col):
    return page.table.item(row, col).text()


def test_the_journal_lists_every_run(window, runs):
    page = open_page(window)
    assert page.table.rowCount() == 2
    assert [cell(page, r, 1) for r in range(2)] == ["beta", "alpha"]        # newest first
    assert cell(page, 1, 0) == "1" and cell(page, 1, 3) == "photos"
    assert cell(page, 1, 4) == "alpha description" and "done 3/3" in cell(page, 1, 5)
    assert "psnr 33" in cell(page, 1, 6)
    assert cell(page, 1, 2)                                                 # a date


def test_notes_are_saved_to_the_experiment(window, runs):
    from training.experiments import find

    page = open_page(window)
    page.select_numbers({1})
    assert page.notes.isEnabled() and not page.save_button.isEnabled()
    page.notes.setPlainText("lower lr next time")
    assert page.save_button.isEnabled()
    page.save_button.click()
    assert find(1).notes.strip() == "lower lr next time"
    assert "saved" in window.statusBar().currentMessage()
    page.select_numbers({2})
    assert page.notes.toPlainText() == ""
    page.select_numbers({1})
    assert page.notes.toPlainText() == "lower lr next time"


def test_compare_overlays_the_curves_of_selected_runs(window, qtbot, runs):
    page = open_page(window)
    page.select_numbers({1, 2})
    assert len(page.selected()) == 2
    qtbot.waitUntil(lambda: len(page.cache) == 2, timeout=30000)
    assert page.metric_box.currentText() == "loss/total"
    assert page.draw() == 2
    items = page.plot.getPlotItem().listDataItems()
    assert sorted(len(i.xData) for i in items) == [3, 4]
    assert max(max(i.yData) for i in items) < 1              # the rolled-back step is gone
    page.metric_box.setCurrentText("val/psnr")
    assert page.draw() == 2
    page.log_check.setChecked(True)
    assert page.plot.getPlotItem().ctrl.logYCheck.isChecked()
    # two runs: the config differences too
    fields = [page.diff.item(r, 0).text() for r in range(page.diff.rowCount())]
    assert "config.optim.lr" in fields and "name" in fields


def test_resume_goes_to_the_train_page_and_errors_show(window, qtbot, runs):
    page = open_page(window)
    page.select_numbers({1})
    assert not page.resume_button.isEnabled()        # no checkpoint to continue from
    assert "Resume" not in page.detail.text()
    ckpt = runs[0].checkpoint
    ckpt.mkdir(parents=True)
    (ckpt / "train_state.pt").write_bytes(b"not a checkpoint")
    page.refresh()
    page.select_numbers({1})
    assert page.resume_button.isEnabled()
    assert "Resume… continues it from its last checkpoint to step 6" in page.detail.text()
    page.resume_button.click()
    assert window.current_page_name() == "Train"
    train = window.pages["Train"]
    qtbot.waitUntil(lambda: train.dashboard.state == "failed", timeout=60000)
    assert train.dashboard.error_label.text()


def dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_died_shows_interrupted_and_offers_resume(window, qtbot, runs):
    """run.json still says 'running' after a SIGKILL: the page reads the dead pid, says at which
    step the run stopped and offers Resume…; one killed before any checkpoint says so."""
    kept, lost = runs
    kept.checkpoint.mkdir(parents=True)
    (kept.checkpoint / "train_state.pt").write_bytes(b"a checkpoint")
    kept.update(status="running", step=2, total=10, pid=dead_pid())
    lost.update(status="running", step=0, total=10, pid=dead_pid())
    page = open_page(window)
    assert [cell(page, r, 5) for r in range(2)] == ["interrupted 0/10", "interrupted 2/10"]
    assert "nothing to resume" in page.table.item(0, 5).toolTip()
    page.select_numbers({kept.number})
    assert page.resume_button.isEnabled()
    assert "Interrupted at step 2" in page.detail.text()
    assert "continues it from its last checkpoint to step 10" in page.detail.text()
    page.select_numbers({lost.number})
    assert not page.resume_button.isEnabled()
    assert "before its first checkpoint" in page.detail.text()
    assert "0002-beta" in page.detail.text() and "config.toml" in page.detail.text()


# -- "Open model in Restore" after the model was renamed (or deleted) ------------------------
@pytest.fixture
def trained(runs):
    """Run #1 made the model 'alpha-0001' (its card remembers the experiment)."""
    from engine.paths import models_dir
    from test_models_page import fake_model

    fake_model(models_dir(), "alpha-0001", title="alpha-0001", experiment=runs[0].number)
    runs[0].update(model="alpha-0001")
    return runs[0]


def test_renaming_in_the_models_page_keeps_open_model_working(window, trained):
    from training.experiments import Experiment

    window.show_page("Models")
    models = window.models_page
    assert models.select("alpha-0001") and models.rename_selected("Alpha, tuned")
    assert Experiment(trained.path).meta["model"] == "Alpha-tuned"   # the journal followed
    page = open_page(window)
    page.select_numbers({trained.number})
    assert "Alpha-tuned" in page.detail.text()
    page.open_button.click()
    assert window.current_page_name() == "Restore"
    assert window.restore_page.picker.current_id() == "Alpha-tuned"


def test_a_model_renamed_elsewhere_is_found_by_its_experiment(window, trained):
    from engine.checkpoints import rename_model
    from training.experiments import Experiment

    rename_model("alpha-0001", "renamed outside")          # e.g. `restorelab models rename`
    page = open_page(window)
    page.select_numbers({trained.number})
    assert page.open_model()
    assert window.current_page_name() == "Restore"
    assert window.restore_page.picker.current_id() == "renamed-outside"
    assert Experiment(trained.path).meta["model"] == "renamed-outside"


def test_a_deleted_model_says_so(window, trained):
    from engine.checkpoints import delete_model

    delete_model("alpha-0001")
    page = open_page(window)
    page.select_numbers({trained.number})
    assert not page.open_model()
    assert window.current_page_name() == "Experiments"
    assert "deleted" in page.notice.text() and "alpha-0001" in page.notice.text()
    assert "deleted" in window.statusBar().currentMessage()
