"""A research preset runs from the Train page and its report lands in the journal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import load_run

RUN_S = 120_000


def test_the_kernel_recovery_preset_runs_from_the_train_page(window, qtbot):
    if not Path(load_run(preset="r000a-deconv-kernel").data.train).exists():
        pytest.skip("the shared images are not here")
    window.show_page("Train")
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.form.ready, timeout=RUN_S)
    page.use_preset("r000a-deconv-kernel")
    assert page.form.values()["research"]["report"] == ["kernel", "losses"]   # kept by the form
    page.form.steps.setValue(40)
    assert page.start()
    qtbot.waitUntil(lambda: page.dashboard.state not in ("starting", "running"), timeout=RUN_S)
    assert page.dashboard.state == "done", page.dashboard.error_label.text()
    from training.experiments import list_experiments

    exp = list_experiments()[-1]
    results = json.loads((exp.path / "run.json").read_text())["results"]
    assert results["orig_kernel_error"] == 0.01 and 0 <= results["kernel_error"] < 1
    assert "learned kernel" in exp.notes
