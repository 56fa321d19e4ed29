"""The Backend option: what runs the net, forced or measured; it reaches the engine and stays."""
from __future__ import annotations

import numpy as np

from engine.events import Log
from engine.jobs import drive


def test_a_forced_backend_reaches_the_engine_and_is_remembered(window, tmp_path, images, qtbot):
    from desktop.restore.jobs import restore_item_job

    path = images.write_png(tmp_path / "photo.png", images.gradient(24, 28))
    page = window.restore_page
    item = page.add_paths([path])[0]
    assert page.picker.select("denoise-color")
    box = page.options.backend
    assert box.isEnabled() and box.currentData() == "auto"
    assert page.restore_spec(item, "denoise-color").backend == "auto"

    box.setCurrentIndex(box.findData("onnxruntime"))
    assert window.settings.get("backend") == "onnxruntime"        # saved with the options
    spec = page.restore_spec(item, "denoise-color")
    assert spec.backend == "onnxruntime"
    events = list(drive(restore_item_job, spec))
    lines = [e.text for e in events if isinstance(e, Log)]
    assert any(t.startswith("backend: onnxruntime") for t in lines), lines
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    assert np.isfinite(item.result.pixels).all()

    assert page.picker.select("bicubic")                          # classical: nothing to choose
    assert not box.isEnabled()
