"""The Train page: a short run trains live (curves, previews), pauses, stops, fails visibly."""
from __future__ import annotations

import numpy as np
import pytest

RUN_S = 120_000   # ms: generous, the machine may be busy training something else


@pytest.fixture
def clean_folder(tmp_path, images):
    """A few 48x48 clean images (smooth gradients with a little texture)."""
    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        img = images.gradient(48, 48, 3)[:, :, ::(1 if i % 2 else -1)]
        img = np.clip(img + 0.05 * rng.standard_normal(img.shape), 0, 1)
        images.write_png(folder / f"clean{i}.png", img.astype(np.float32))
    return folder


def open_train(window, qtbot):
    window.show_page("Train")
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.form.ready, timeout=RUN_S)
    return page


def smoke_form(page, folder, steps=6, every=3):
    from desktop.train.form import write

    page.use_preset("smoke")
    f = page.form
    f.folder.setText(str(folder))
    f.steps.setValue(steps)
    f.val_every.setValue(every)
    write(f.device, "cpu")
    assert page.validate(), f.error.text()


def test_a_short_run_shows_curves_and_previews_and_leaves_a_model(window, qtbot, clean_folder):
    page = open_train(window, qtbot)
    smoke_form(page, clean_folder)
    assert page.start()
    assert page.dashboard.state in ("starting", "running")
    qtbot.waitUntil(lambda: page.dashboard.state not in ("starting", "running"), timeout=RUN_S)
    assert page.dashboard.state == "done", page.dashboard.error_label.text()
    board = page.dashboard.curves
    qtbot.waitUntil(lambda: board.points("val/psnr") >= 2, timeout=2000)   # next redraw tick
    assert board.points("loss/total") == 6
    assert board.points("loss/l1") == 6 and board.points("lr") == 6
    assert board.points("val/psnr") >= 2 and board.points("val/ssim") >= 2   # step 3 + the end
    assert len(board.curve("loss/total").getData()[0]) > 0
    previews = page.dashboard.previews
    assert previews.frames and previews.current_step() == 6
    assert previews.boxes["output"].image is not None
    previews.slider.setValue(0)                     # back to the first validation
    assert previews.current_step() == 3
    model = page.model_id
    assert model and "model" in page.dashboard.log_view.toPlainText()
    window.show_page("Models")
    assert model in window.models_page.ids()
    window.show_page("Train")
    page.dashboard.open_button.click()
    assert window.current_page_name() == "Restore"
    assert window.restore_page.picker.current_id() == model


def test_pause_resume_stop_then_resume_the_experiment(window, qtbot, clean_folder):
    page = open_train(window, qtbot)
    smoke_form(page, clean_folder, steps=100_000, every=0)
    d = page.dashboard
    assert page.start()
    qtbot.waitUntil(lambda: d.state == "running", timeout=RUN_S)
    d.pause_button.click()
    assert d.state == "paused" and page.handle.control.paused and d.pause_button.text() == "Resume"
    qtbot.wait(300)
    steps = d.curves.series["loss/total"].n
    qtbot.wait(400)
    assert d.curves.series["loss/total"].n <= steps + 1     # the step in flight at most
    d.pause_button.click()
    assert d.state == "running" and not page.handle.control.paused
    qtbot.waitUntil(lambda: d.curves.series["loss/total"].n > steps + 2, timeout=RUN_S)
    d.stop_button.click()
    assert d.state == "stopping"
    qtbot.waitUntil(lambda: d.state == "stopped", timeout=RUN_S)
    stopped_model = page.model_id
    assert stopped_model and d.open_button.isEnabled()    # stopping leaves a usable model
    window.show_page("Models")
    assert stopped_model in window.models_page.ids()

    from training.experiments import find

    exp = find(1)
    assert exp.meta["status"] == "stopped"
    done = int(exp.meta["step"])
    assert page.resume_run("1", steps=done + 3)
    assert window.current_page_name() == "Train"
    qtbot.waitUntil(lambda: d.state not in ("starting", "running"), timeout=RUN_S)
    assert d.state == "done", d.error_label.text()
    assert d.curves.series["loss/total"].n == done + 3      # the history, then 3 more steps
    assert find(1).meta["status"] == "done"
    assert page.model_id == stopped_model                   # the finished model replaced it


def test_a_failing_run_shows_its_error(window, qtbot, tmp_path):
    page = open_train(window, qtbot)
    smoke_form(page, tmp_path / "no-such-folder")
    assert page.start()
    qtbot.waitUntil(lambda: page.dashboard.state == "failed", timeout=RUN_S)
    error = page.dashboard.error_label
    assert error.isVisible() and "not found" in error.text()
    assert "not found" in window.statusBar().currentMessage()
    assert "not found" in page.dashboard.log_view.toPlainText()
    assert page.dashboard.start_button.isEnabled() and not page.dashboard.stop_button.isEnabled()


def test_an_invalid_form_does_not_start(window, qtbot, clean_folder):
    page = open_train(window, qtbot)
    smoke_form(page, clean_folder)
    page.form.kwargs.setText("{ depth = ")
    page.form.changed.emit()
    assert not page.start()
    assert "table" in page.form.error.text() or "value" in page.form.error.text()
    assert page.dashboard.error_label.isVisible()


def test_recipe_edits_rerender_the_pairs_and_count_parameters(window, qtbot, clean_folder):
    page = open_train(window, qtbot)
    smoke_form(page, clean_folder)
    f = page.form
    qtbot.waitUntil(lambda: f.pairs.image is not None, timeout=RUN_S)
    qtbot.waitUntil(lambda: "parameters" in f.params_label.text(), timeout=RUN_S)
    first = f.pairs.image
    f.recipe.list.setCurrentRow(0)
    f.recipe.set_param("sigma", 80)
    assert "sigma 80" in f.recipe.list.item(0).text()
    qtbot.waitUntil(lambda: f.pairs.image is not first, timeout=RUN_S)
    f.recipe.add_step("gaussian_blur", sigma=[0.5, 2.0])
    assert [s["type"] for s in f.values()["data"]["recipe"]] == ["gaussian_noise", "gaussian_blur"]
    f.recipe.set_param("sigma", -3)                          # out of bounds: the error shows
    qtbot.waitUntil(lambda: "sigma" in f.pairs_note.text() and "⚠" in f.pairs_note.text(),
                    timeout=RUN_S)
    f.kwargs.setText("{ depth = 3, width = 8 }")
    f.changed.emit()
    qtbot.waitUntil(lambda: "parameters" in f.params_label.text()
                    and "Counting" not in f.params_label.text(), timeout=RUN_S)


def test_config_round_trips_through_toml(window, qtbot, clean_folder, tmp_path):
    page = open_train(window, qtbot)
    smoke_form(page, clean_folder, steps=42)
    page.form.losses.add_term("ssim", 0.25)
    path = tmp_path / "run.toml"
    assert page.save_config(str(path))
    page.use_preset("denoise-dncnn")
    assert page.form.steps.value() != 42
    assert page.load_config(str(path))
    raw = page.form.values()
    assert raw["schedule"]["steps"] == 42 and raw["loss"] == {"l1": 1.0, "ssim": 0.25}
    assert raw["data"]["train"] == str(clean_folder)
    assert not page.load_config(str(tmp_path / "missing.toml"))
    assert "not found" in page.form.error.text()


def wheel_over(widget, steps: int = 3) -> None:
    """``steps`` notches of the mouse wheel (away from the user) over the middle of ``widget``."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.rect().center())
    for _ in range(steps):
        event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                            QPoint(0, -120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_form_instead_of_changing_unfocused_fields(window, qtbot):
    from PySide6.QtWidgets import QScrollArea

    window.resize(1000, 600)
    page = open_train(window, qtbot)
    page.use_preset("smoke")
    f = page.form
    f.steps.setValue(200)
    weight = next(iter(f.losses.terms.values()))[0]
    weight.setValue(1.0)
    scroll = next(w for w in (f.parentWidget(), f.parentWidget().parentWidget())
                  if isinstance(w, QScrollArea))
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0, "the form should be taller than the window"
    window.nav.setFocus()
    for field in (f.steps, weight, f.decay, f.optim, f.crop):
        before = field.value() if hasattr(field, "value") else field.currentIndex()
        bar.setValue(0)
        wheel_over(field)
        after = field.value() if hasattr(field, "value") else field.currentIndex()
        assert after == before, f"the wheel changed {type(field).__name__} without focus"
        assert bar.value() > 0, "the wheel scrolls the form instead"
    assert f.steps.value() == 200 and weight.value() == 1.0
    assert f.values()["schedule"]["steps"] == 200
    window.activateWindow()
    f.steps.setFocus()
    qtbot.waitUntil(f.steps.hasFocus, timeout=2000)
    wheel_over(f.steps, 1)                               # focused: the wheel is for the field
    assert f.steps.value() != 200
