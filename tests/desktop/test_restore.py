"""Restoring from the window: results in the viewer, errors in words, cancel, retry, save."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from engine.descriptor import Restorer


class SlowRestorer(Restorer):
    """Identity, slowly: many small tiles, each taking a while."""

    id = title = "slow"

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay

    def run(self, x, precision=None):
        time.sleep(self.delay)
        return x.copy()


@pytest.fixture
def slow_restorer(monkeypatch):
    import engine.models
    from desktop.restore.jobs import forget_restorers

    forget_restorers()   # a model an earlier test loaded would be reused instead
    monkeypatch.setattr(engine.models, "load_restorer", lambda *a, **k: SlowRestorer())
    yield
    forget_restorers()


def small_tiles(page, tile: int = 32) -> None:
    page.options.tile_mode.setCurrentIndex(page.options.tile_mode.findData("custom"))
    page.options.tile.setValue(tile)


def test_a_restore_completes_and_the_viewer_shows_the_result(window, tiny_png, images, qtbot):
    from engine.classical import bicubic
    from engine.imageio import read_image

    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    assert page.picker.select("bicubic")
    page.options.scale.setCurrentIndex(page.options.scale.findData(2))
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert item.status in ("queued", "running")
    assert images.wait_status(qtbot, item) == "done", item.error
    viewer = page.viewer
    assert viewer.has_result()
    after = viewer.after_layer
    assert after.pixels.shape == (32, 48, 3)
    assert (after.image.width(), after.image.height()) == (48, 32)
    expected = bicubic(read_image(tiny_png).pixels, scale=2)
    assert np.allclose(after.pixels, expected, atol=1e-6)
    assert viewer.before_layer.scale == 2.0
    # the viewer draws it: the after side of the split shows the result's pixels
    viewer.set_mode("side")
    qtbot.waitUntil(lambda: viewer.canvas_b.isVisible())
    canvas = viewer.canvas_b
    pos = viewer.state.to_screen(QPointF(40.5, 20.5), canvas.size())
    shown = canvas.grab().toImage().pixelColor(int(pos.x()), int(pos.y()))
    want = np.clip(np.rint(expected[20, 40] * 255), 0, 255)
    assert abs(shown.red() - want[0]) <= 1 and abs(shown.green() - want[1]) <= 1
    assert "bicubic" in item.detail.lower() or "Bicubic" in item.detail
    assert page.save_button.isEnabled()


def test_a_corrupt_file_shows_its_error_in_words(window, tmp_path, images, qtbot):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 30)
    page = window.restore_page
    item = page.add_paths([bad])[0]
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "failed"
    assert "broken.png" in item.error and ("damaged" in item.error or "not an image" in item.error)
    assert item.error in window.statusBar().currentMessage()
    assert item.error in page.viewer.message                   # said where the picture would be
    index = page.queue.index(page.queue.row_of(item))
    assert item.error in index.data(Qt.ItemDataRole.ToolTipRole)
    assert item.action() == "retry"


def test_an_unknown_model_fails_visibly(window, tiny_png, images, qtbot, monkeypatch):
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    monkeypatch.setattr(page.picker, "current_id", lambda: "no-such-model")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "failed"
    assert "no-such-model" in item.error
    qtbot.waitUntil(lambda: item.image is not None or True)
    assert page.banner_frame.isVisible() or item.error in page.viewer.message


def test_cancel_and_retry_from_the_queue_buttons(window, tmp_path, images, qtbot, slow_restorer):
    page = window.restore_page
    path = images.write_png(tmp_path / "big.png", images.gradient(256, 256))
    item = page.add_paths([path])[0]
    small_tiles(page)
    page.run_items([item])
    qtbot.waitUntil(lambda: item.status == "running" and item.progress > 0, timeout=10000)
    assert "Restoring big.png" in window.job_label.text()
    view = page.queue_view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.action_point(item))
    assert images.wait_status(qtbot, item) == "cancelled"
    assert item.result is None and item.action() == "retry"
    import engine.models

    engine.models.load_restorer = lambda *a, **k: SlowRestorer(0.0)  # undone by monkeypatch
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.action_point(item))
    assert images.wait_status(qtbot, item) == "done"
    assert np.allclose(item.result.pixels, item.image.pixels, atol=1e-6)


def test_queued_items_wait_and_can_be_cancelled_before_they_start(window, tmp_path, images,
                                                                  qtbot, slow_restorer):
    page = window.restore_page
    paths = [images.write_png(tmp_path / f"{n}.png", images.gradient(128, 128)) for n in "abc"]
    items = page.add_paths(paths)
    small_tiles(page)
    page.run_all()
    qtbot.waitUntil(lambda: items[0].status == "running", timeout=10000)
    assert items[1].status == "queued" and items[2].status == "queued"
    assert window.queue_label.text() == "2 waiting"
    page.cancel(items[2])
    assert items[2].status == "cancelled", "a queued item is cancelled at once"
    page.cancel(items[0])
    assert images.wait_status(qtbot, items[0]) == "cancelled"
    qtbot.waitUntil(lambda: items[1].status == "running", timeout=10000)
    page.retry(items[2])                     # queued again, behind items[1]
    assert items[2].status == "queued"
    page.cancel(items[1])
    assert images.wait_status(qtbot, items[1]) == "cancelled"
    qtbot.waitUntil(lambda: items[2].status == "running", timeout=10000)
    page.cancel(items[2])
    assert images.wait_status(qtbot, items[2]) == "cancelled"
    assert items[2].result is None


def test_save_keeps_bit_depth_and_alpha(window, tmp_path, images, qtbot):
    from engine.imageio import read_image

    src = images.write_png(tmp_path / "deep.png", images.gradient(12, 10, c=4), bit_depth=16)
    page = window.restore_page
    item = page.add_paths([src])[0]
    page.picker.select("unsharp")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    out = tmp_path / "out" / "deep_restored.png"
    with qtbot.waitSignal(window.bridge.saved, timeout=10000):
        handle = page.save_current(str(out))
    assert handle is not None
    back = read_image(out)
    assert back.info.bit_depth == 16 and back.info.has_alpha
    assert back.pixels.shape == (12, 10, 4)
    assert np.allclose(back.pixels, item.result.pixels, atol=1 / 65535)
    # the status line follows the save job's finish, which comes after its "saved" event
    qtbot.waitUntil(lambda: str(out) in window.statusBar().currentMessage(), timeout=10000)


def test_save_all_writes_every_result_to_a_folder(window, tmp_path, images, qtbot):
    page = window.restore_page
    paths = [images.write_png(tmp_path / f"{n}.png", images.gradient(8, 8)) for n in "ab"]
    items = page.add_paths(paths)
    page.picker.select("unsharp")
    page.run_all()
    for item in items:
        assert images.wait_status(qtbot, item) == "done"
    folder = tmp_path / "results"
    handle = page.save_all(str(folder))
    qtbot.waitUntil(handle.done.is_set, timeout=10000)
    assert sorted(p.name for p in folder.iterdir()) == ["a_restored.png", "b_restored.png"]


def test_reference_metrics_for_result_and_input(window, tmp_path, images, qtbot):
    clean = images.gradient(32, 32)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.05, clean.shape), 0, 1)
    ref = images.write_png(tmp_path / "clean.png", clean)
    src = images.write_png(tmp_path / "noisy.png", noisy.astype(np.float32))
    page = window.restore_page
    item = page.add_paths([src])[0]
    page.picker.select("nlmeans")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done"
    page.set_reference(str(ref))
    qtbot.waitUntil(lambda: "PSNR" in page.viewer.metrics_label.text(), timeout=10000)
    text = page.viewer.metrics_label.text()
    assert "result: PSNR" in text and "input: PSNR" in text and "SSIM" in text


def test_a_reference_of_the_wrong_size_says_so(window, tmp_path, images, qtbot):
    page = window.restore_page
    item = page.add_paths([images.write_png(tmp_path / "x.png", images.gradient(8, 8))])[0]
    page.picker.select("unsharp")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done"
    page.set_reference(str(images.write_png(tmp_path / "ref.png", images.gradient(9, 9))))
    qtbot.waitUntil(lambda: "Reference:" in page.viewer.metrics_label.text(), timeout=10000)
    assert "9×9" in page.viewer.metrics_label.text()


def test_remove_and_clear(window, tmp_path, images):
    page = window.restore_page
    items = page.add_paths([images.write_png(tmp_path / f"{n}.png", images.gradient(4, 4))
                            for n in "ab"])
    page.remove(items[0])
    assert [i.path for i in page.queue.items] == [items[1].path]
    page.clear_queue()
    assert page.queue.items == [] and page.center.currentIndex() == 0
    assert window.settings.get("workspace") == []
    assert Path(items[0].path).exists(), "removing from the queue never deletes files"


def test_a_failed_save_says_why(window, tiny_png, images, qtbot):
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    page.picker.select("unsharp")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done"
    handle = page.save_current(str(tiny_png.with_name("result.xyz")))
    qtbot.waitUntil(lambda: "Could not save" in window.statusBar().currentMessage(), timeout=10000)
    assert "result.xyz" in window.statusBar().currentMessage()
    assert handle.final is not None


def test_the_workspace_is_saved_soon_after_it_changes(window, tiny_png, qtbot):
    from desktop.settings import Settings

    window.restore_page.add_paths([tiny_png])
    qtbot.waitUntil(lambda: Settings().get("workspace") == [str(tiny_png)], timeout=5000)


def test_output_scale_resamples_a_model_without_its_own(window, tiny_png, images, qtbot):
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    page.picker.select("unsharp")
    page.options.scale.setCurrentIndex(page.options.scale.findData(2))
    page.options.strength.setValue(50)
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    assert item.result.pixels.shape == (32, 48, 3)
    assert page.viewer.size_label.text() == "24×16 → 48×32"


# -- the queue's buttons and the status bar say what is really happening -----------------------
def test_a_click_on_cancel_as_the_job_ends_does_not_run_it_again(window, tmp_path, images, qtbot,
                                                                 slow_restorer):
    page = window.restore_page
    item = page.add_paths([images.write_png(tmp_path / "big.png", images.gradient(256, 256))])[0]
    small_tiles(page)
    page.run_items([item])
    qtbot.waitUntil(lambda: item.status == "running" and item.progress > 0, timeout=10000)
    view = page.queue_view
    cancel_at = view.action_point(item)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cancel_at)
    assert images.wait_status(qtbot, item) == "cancelled"
    retry_at = view.action_point(item)
    assert retry_at != cancel_at, "Retry must not sit where Cancel was"
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cancel_at)                       # the second click of an impatient user
    qtbot.wait(200)
    assert item.status == "cancelled" and item.handle is None
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     retry_at)
    assert item.status in ("queued", "running")
    page.cancel(item)
    assert images.wait_status(qtbot, item) == "cancelled"


def test_the_waiting_count_follows_the_queue(window, tmp_path, images, qtbot, slow_restorer):
    page = window.restore_page
    items = page.add_paths([images.write_png(tmp_path / f"{n}.png", images.gradient(128, 128))
                            for n in "ab"])
    small_tiles(page)
    page.run_all()
    qtbot.waitUntil(lambda: items[0].status == "running" and items[0].progress > 0, timeout=10000)
    assert window.queue_label.text() == "1 waiting"
    page.cancel(items[1])                                # nothing is waiting any more
    assert not window.queue_label.isVisible()
    qtbot.wait(300)                                      # progress of the running one arrives
    assert not window.queue_label.isVisible() and window.queue_label.text() == ""
    assert items[0].status == "running" and window.job_label.isVisible()
    page.cancel(items[0])
    assert images.wait_status(qtbot, items[0]) == "cancelled"
    qtbot.waitUntil(lambda: not window.job_label.isVisible(), timeout=5000)
    qtbot.wait(300)
    assert not window.queue_label.isVisible() and not window.job_label.isVisible()


def test_choosing_a_model_elsewhere_does_not_say_it_restores(window):
    page = window.restore_page
    window.ctx.use_model_requested.emit("bicubic")
    message = window.statusBar().currentMessage()
    assert page.picker.current_id() == "bicubic"
    assert not message.startswith("Restoring") and "press Restore" in message
    assert not window.job_label.isVisible()
    window.ctx.use_model_requested.emit("no-such-model")
    assert "not in the library" in window.statusBar().currentMessage()


# -- one photo, two models, side by side -----------------------------------------------------
def restore_with(page, item, model, qtbot, images):
    assert page.picker.select(model)
    page.queue_view.select_item(item)
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error


def test_the_same_image_queued_twice_compares_two_models(window, tiny_png, images, qtbot):
    page = window.restore_page
    first = page.add_paths([tiny_png])[0]
    assert page.add_paths([tiny_png]) == []              # not restored yet: not twice
    page.options.scale.setCurrentIndex(page.options.scale.findData(2))
    restore_with(page, first, "bicubic", qtbot, images)
    second = page.add_paths([tiny_png])[0]               # restored: may come again
    assert [i.path for i in page.queue.items] == [str(tiny_png)] * 2
    assert "queued again" in window.statusBar().currentMessage()
    restore_with(page, second, "lanczos", qtbot, images)
    assert page.current_item() is second
    viewer = page.viewer
    assert viewer.compare_box.isVisibleTo(viewer) and viewer.compare_box.count() == 2
    assert viewer.labels() == ("Before", "After")       # the input, until the user chooses
    index = viewer.compare_box.findData(first.id)
    viewer.compare_box.activated.emit(index)              # what a pick in the combo sends
    assert np.array_equal(viewer.before_layer.pixels, first.result.pixels)
    assert np.array_equal(viewer.after_layer.pixels, second.result.pixels)
    assert viewer.labels() == (first.result.model, second.result.model)
    assert "icubic" in viewer.labels()[0] and "anczos" in viewer.labels()[1]
    viewer.set_mode("side")
    qtbot.waitUntil(lambda: viewer.canvas_b.isVisible())
    viewer.set_mode("difference")
    assert viewer.difference_layer() is not None
    page.queue_view.select_item(first)                    # the other row compares with "Input"
    assert viewer.labels() == ("Before", "After") and viewer.compare_box.count() == 2
    page.remove(first)                                    # gone: back to the input
    page.queue_view.select_item(second)
    assert viewer.labels() == ("Before", "After") and not viewer.compare_box.isVisibleTo(viewer)
    assert window.settings.get("workspace") == [str(tiny_png)]


def test_queue_again_adds_a_row_for_the_same_file(window, tiny_png):
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    again = page.queue_again([item])
    assert len(again) == 1 and again[0] is not item and again[0].path == item.path
    assert window.settings.get("workspace") == [str(tiny_png)] * 2


# -- saving: JPEG/WebP quality, and never over an original unasked ----------------------------
def test_save_writes_jpeg_and_webp_at_the_chosen_quality(window, tmp_path, images, qtbot):
    rng = np.random.default_rng(1)
    src = images.write_png(tmp_path / "texture.png", rng.random((64, 64, 3)).astype(np.float32))
    page = window.restore_page
    assert page.quality.value() == 0 and page.quality.text() == "Auto"   # the engine's default
    assert page.save_quality() is None
    item = page.add_paths([src])[0]
    page.picker.select("unsharp")
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    sizes = {}
    for quality in (10, 95):
        page.quality.setValue(quality)
        for suffix in (".jpg", ".webp"):
            out = tmp_path / f"q{quality}{suffix}"
            with qtbot.waitSignal(window.bridge.saved, timeout=10000):
                page.save_current(str(out))
            sizes[quality, suffix] = out.stat().st_size
    assert sizes[10, ".jpg"] < sizes[95, ".jpg"] and sizes[10, ".webp"] < sizes[95, ".webp"]
    assert window.settings.get("save_quality") == 95


def test_save_never_replaces_an_original_without_asking(window, answers, tmp_path, images, qtbot):
    src = images.write_png(tmp_path / "photo.png", images.gradient())
    taken = images.write_png(tmp_path / "photo_restored.png", images.gradient(4, 4))  # queued too
    before = {p: p.read_bytes() for p in (src, taken)}
    page = window.restore_page
    item, _other = page.add_paths([src, taken])
    page.picker.select("unsharp")
    page.queue_view.select_item(item)
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    answers.yes = False
    assert page.save_current(str(src)) is None
    assert len(answers.asked) == 1 and "original" in answers.asked[0][1]
    assert src.read_bytes() == before[src]
    assert "Not saved" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.bridge.finished, timeout=10000,
                          check_params_cb=lambda key, _e: key[0] == "save"):
        page.save_all(str(tmp_path))                     # photo_restored.png is an original
    assert taken.read_bytes() == before[taken]
    assert (tmp_path / "photo_restored_2.png").is_file()
    assert item.saved_to == str(tmp_path / "photo_restored_2.png")
    answers.yes = True
    with qtbot.waitSignal(window.bridge.saved, timeout=10000):
        assert page.save_current(str(src)) is not None   # asked, and the user said yes
    assert src.read_bytes() != before[src] and len(answers.asked) == 2
