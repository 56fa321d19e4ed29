"""The fine-tune loop in the window: restore, mark a region, add it with its clean reference,
fine-tune a few steps, and the new model is in the library and restores the region better.

Set RESTORELAB_SHOTS=docs/finetune to keep the screenshots of each step there."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from engine.checkpoints import find_model
from engine.imageio import read_image

from tests.training.test_finetune import smooth_image, stripes   # the crafted pattern


def train_parent(tmp_path) -> str:
    from engine.events import Finished
    from engine.jobs import drive
    from engine.imageio import write_image
    from training.config import load_run
    from training.job import TrainSpec, train_job

    folder = tmp_path / "base"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(folder / f"im{i}.png", rng.random((24, 28, 3)).astype(np.float32))
    cfg = load_run(preset="smoke", overrides=[
        f"data.train={folder}", "schedule.steps=3", "data.crop=16", "data.batch=4", "val.crop=16",
        "model.kwargs={depth = 3, width = 12}", "device='cpu'"])
    final = list(drive(train_job, TrainSpec(cfg)))[-1]
    assert isinstance(final, Finished)
    return final.result["model"]


def shoot(widget, tmp_path, name: str) -> Path:
    folder = Path(os.environ.get("RESTORELAB_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert widget.grab().save(str(path))
    return path


def region_psnr(result: np.ndarray, clean: np.ndarray, box) -> float:
    x, y, w, h = box
    diff = result[y:y + h, x:x + w, :3] - clean[y:y + h, x:x + w, :3]
    return float(10 * np.log10(1.0 / max(np.mean(diff ** 2), 1e-12)))


def restore(page, images, qtbot):
    item = page.add_paths([page._photo], again=True)[0]
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    page.queue_view.select_item(item)
    return item


def test_mark_add_finetune_register(make_window, tmp_path, images, qtbot):
    parent = train_parent(tmp_path)
    clean = smooth_image(np.random.default_rng(5), 64)
    photo = images.write_png(tmp_path / "photo.png", stripes(clean))
    reference = images.write_png(tmp_path / "reference.png", clean)
    clean = read_image(reference).pixels

    window = make_window()
    window.resize(1280, 800)
    page = window.restore_page
    page._photo = str(photo)
    page.refresh_models()
    assert page.picker.select(parent)
    item = restore(page, images, qtbot)
    page.set_reference(str(reference))
    before = item.result.pixels

    # 1. mark: Shift+drag over the picture
    canvas = page.viewer.canvas_a
    start = page.viewer.state.to_screen(QPointF(4, 4), canvas.size())
    end = page.viewer.state.to_screen(QPointF(44, 36), canvas.size())
    shift = Qt.KeyboardModifier.ShiftModifier
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, shift, QPoint(int(start.x()), int(start.y())))
    QTest.mouseMove(canvas, QPoint(int(end.x()), int(end.y())))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, shift, QPoint(int(end.x()), int(end.y())))
    rect = page.marking.tool.rect
    assert rect is not None and rect.width() > 30 and rect.height() > 25
    shoot(window, tmp_path, "1-mark.png")

    # 2. add it (a pair: a reference is loaded), and a second region
    with qtbot.waitSignal(page.marking.added, timeout=10000):
        assert page.marking.add_example()
    page.marking.set_region(20, 24, 40, 36)
    with qtbot.waitSignal(page.marking.added, timeout=10000):
        assert page.marking.add_example()
    folder = page.marking.folder()
    assert len(list(folder.glob("*.clean.png"))) == 2 and len(list(folder.glob("*.png"))) == 4
    shoot(window, tmp_path, "2-added.png")

    # 3. fine-tune: the window opens prefilled; a few steps
    dialog = page.marking.open_finetune()
    assert "2 pairs" in dialog.about.text()
    dialog.steps.setValue(30)
    dialog.lr_scale.setValue(3.0)
    assert dialog.start(device="cpu")
    qtbot.waitUntil(lambda: bool(dialog.result), timeout=60000)
    assert dialog.dashboard.state == "done", dialog.dashboard.error_label.text()
    assert dialog.timeline.count() >= 3     # the parent + at least two checkpoints
    assert dialog.dashboard.previews.frames  # the marked regions re-restored at validations
    shoot(dialog, tmp_path, "3-finetune.png")

    model = dialog.result["model"]
    card = find_model(model).card
    assert card["parent"] == parent and len(card["examples"]) == 2
    assert {e["kind"] for e in card["examples"]} == {"pair"}

    # 4. the timeline under the viewer: scrub to the first checkpoint; the two marked regions
    # (restored alone) show next to the parent's, in the strip and in the viewer
    bar = page.marking.timeline.bar
    assert bar.isVisible() and len(bar.entries) == dialog.timeline.count()
    bar.slider.setValue(1)
    qtbot.waitUntil(lambda: page.viewer.labels() == ("parent", bar.entries[1]["label"])
                    and len(bar.strip.tiles) == 2, timeout=15000)
    assert "dB on your examples" in bar.label.text()
    assert [t.text().split(" · ")[1] for t in bar.strip.tiles] == ["40×32", "40×36"]
    qtbot.waitUntil(lambda: not page.viewer.layers_pending, timeout=5000)
    parent_view = page.viewer.before_layer.pixels
    step_view = page.viewer.after_layer.pixels
    inside = np.zeros(step_view.shape[:2], bool)
    for x, y, w, h in ((4, 4, 40, 32), (20, 24, 40, 36)):
        inside[y:y + h, x:x + w] = True
    assert np.array_equal(parent_view[~inside], step_view[~inside])   # only the regions change
    assert np.abs(parent_view[inside] - step_view[inside]).max() > 1e-3
    dialog.hide()
    shoot(window, tmp_path, "4-timeline.png")

    # scrub on and back: the parent's side is the same picture (not converted again), and the
    # regions already restored come from the cache
    bar.slider.setValue(2)
    qtbot.waitUntil(lambda: page.viewer.labels() == ("parent", bar.entries[2]["label"]),
                    timeout=15000)
    assert page.viewer.before_layer.pixels is parent_view
    bar.slider.setValue(1)
    qtbot.waitUntil(lambda: page.viewer.labels() == ("parent", bar.entries[1]["label"]),
                    timeout=15000)
    assert np.array_equal(page.viewer.after_layer.pixels, step_view)

    # ... and Whole image restores all of it: the regions equal its pixels (enough context)
    bar.whole_button.click()
    whole_key = (item.path, bar.entries[1]["ref"], None)
    qtbot.waitUntil(lambda: page.marking.timeline.outputs.get(whole_key) is not None
                    and page.viewer.after_layer.pixels is page.marking.timeline.outputs[whole_key],
                    timeout=15000)
    whole = page.marking.timeline.outputs[whole_key]
    assert np.abs(whole[inside] - step_view[inside]).max() < 1e-4
    assert page.viewer.labels() == ("parent", bar.entries[1]["label"])
    # the whole-image outputs are what the Compare panes offer beside the input and result
    offered = {s.text: s.pixels for s in page.viewer.grid.sources}
    parent_whole = page.marking.timeline.outputs[(item.path, bar.entries[0]["ref"], None)]
    assert offered["fine-tune parent"] is parent_whole
    assert offered[f"fine-tuned, {bar.entries[1]['label']}"] is whole and "Input" in offered
    bar.register_button.click()
    chosen = f"{model}-step{bar.entries[1]['label'].split()[-1]}"
    qtbot.waitUntil(lambda: find_model(chosen) is not None, timeout=10000)
    assert find_model(chosen).card["parent"] == parent

    # 5. use it: the region comes out closer to the clean reference than the parent's
    dialog.use_model()
    assert page.picker.current_id() == model
    after = restore(page, images, qtbot).result.pixels
    box = (4, 4, 40, 32)
    assert region_psnr(after, clean, box) > region_psnr(before, clean, box) + 0.5
    shoot(window, tmp_path, "5-finetuned.png")
    dialog.close()


def test_timeline_without_marks_uses_the_examples_and_reports_a_broken_checkpoint(
        make_window, tmp_path, images, qtbot):
    parent = train_parent(tmp_path)
    photo = images.write_png(tmp_path / "photo.png", smooth_image(np.random.default_rng(3), 48))
    window = make_window()
    page = window.restore_page
    page._photo = str(photo)
    page.refresh_models()
    assert page.picker.select(parent)
    restore(page, images, qtbot)
    marking = page.marking
    examples = tmp_path / "examples"
    examples.mkdir()
    images.write_png(examples / "other-0-0-16x16.png", smooth_image(np.random.default_rng(4), 16))
    marking.timeline.run_examples = examples
    checkpoint = find_model(parent).path   # a stand-in checkpoint; then one that is gone
    marking.timeline.bar.set_run(parent, None, [{"step": 5, "path": str(checkpoint), "psnr": None},
                                                {"step": 9, "path": str(tmp_path / "gone")}])
    bar = marking.timeline.bar

    # no marks on this image: the examples' crops are compared, and the strip says so
    bar.slider.setValue(1)
    qtbot.waitUntil(lambda: len(bar.strip.tiles) == 1, timeout=15000)
    assert "no marked regions" in bar.strip.note.text().lower()
    assert page.viewer.labels() == ("Before", "After")   # the viewer keeps the image as it was

    # a checkpoint that cannot load: a status line, and the timeline goes on working
    bar.slider.setValue(2)
    qtbot.waitUntil(lambda: "Could not restore the regions" in window.statusBar().currentMessage(),
                    timeout=15000)
    assert marking.timeline._busy is None
    marking.set_region(8, 8, 24, 20)
    bar.slider.setValue(1)
    qtbot.waitUntil(lambda: page.viewer.labels() == ("parent", "step 5")
                    and [t.text() for t in bar.strip.tiles] == ["region 1 · 24×20"], timeout=15000)
    zoom = page.viewer.state.zoom
    bar.strip.tiles[0].click()   # look at it: the viewer zooms onto the region
    assert page.viewer.state.center == QPointF(20, 18) and page.viewer.state.zoom > zoom
