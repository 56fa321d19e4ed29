"""The viewer's Compare mode: 2-4 panes of chosen sources, zoomed together, blink, heatmaps."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from desktop.restore import render_worker
from desktop.restore.images import heatmap
from desktop.restore.modes import DifferenceRenderer, MessageRenderer, SingleRenderer

from test_viewer import brightness, same_view, wheel  # the viewer tests' helpers
from tests.desktop.recording import record_threads


def solid(h, w, value):
    return np.full((h, w, 3), value, np.float32)


def centre_value(pane) -> float:
    """Brightness of the pane's canvas at the scene centre (below the label pill)."""
    canvas = pane.canvas
    p = canvas.state.to_screen(QPointF(canvas.state.scene.width() / 2,
                                       canvas.state.scene.height() * 0.7), canvas.size())
    return brightness(canvas.grab().toImage().pixelColor(int(p.x()), int(p.y())))


def pick(pane, key) -> None:
    """Choose a source in the pane's dropdown, as a click does."""
    i = pane.combo.findData(key)
    pane.combo.setCurrentIndex(i)
    pane.combo.activated.emit(i)


def show(viewer, qtbot, sources, count):
    """The viewer in compare mode with ``sources``; the first is the input, the second the
    result (the scene's grid)."""
    viewer.set_images(sources[0][2], sources[1][2], sources=sources)
    viewer.set_mode("compare")
    viewer.grid.set_count(count)
    panes = viewer.grid.panes[:count]
    qtbot.waitUntil(lambda: all(p.canvas.isVisible() and p.canvas.width() > 60 for p in panes))
    return panes


@pytest.fixture
def three(viewer):
    """An input at half size and two results, each one flat grey level."""
    return [("Input", 0, solid(16, 16, 0.1)), ("#1 a", 1, solid(32, 32, 0.5)),
            ("#2 b", 2, solid(32, 32, 0.9))]


def test_each_of_three_panes_shows_the_source_picked_for_it(viewer, qtbot, three):
    panes = show(viewer, qtbot, three, 3)
    assert not viewer.canvas_a.isVisible() and not viewer.compare_box.isVisible()
    assert [p.combo.count() for p in panes] == [3, 3, 3]
    assert [p.choice() for p in panes] == [0, 1, 2]         # at first: one source each
    for pane, key in zip(panes, (2, 0, 1)):
        pick(pane, key)
    assert [p.canvas.renderer.layer.pixels is three[k][2] for p, k in zip(panes, (2, 0, 1))] \
        == [True] * 3
    assert panes[1].canvas.renderer.layer.scale == 2.0      # the input on the result's grid
    values = [centre_value(p) for p in panes]
    assert values[0] == pytest.approx(0.9 * 255, abs=2)
    assert values[1] == pytest.approx(0.1 * 255, abs=2)
    assert values[2] == pytest.approx(0.5 * 255, abs=2)
    assert panes[0].canvas.renderer.label == "#2 b"
    text = viewer.readout_at(20.5, 10.5)                     # every pane's value there
    assert text.startswith("20,10")
    state = viewer.state                                     # fitted to a pane, then to one
    pane_zoom = state.zoom
    assert state.fitted and pane_zoom == state.fit_zoom(panes[0].canvas.size())
    viewer.set_mode("split")
    qtbot.waitUntil(lambda: state.zoom > pane_zoom                # once laid out
                    and state.zoom == state.fit_zoom(viewer.canvas_a.size()))
    assert "1:229 229 229" in text and "2: 26  26  26" in text and "3:128 128 128" in text


def test_zoom_and_pan_in_one_pane_move_all_of_them(viewer, qtbot):
    rng = np.random.default_rng(1)
    a = rng.random((48, 64, 3)).astype(np.float32)
    sources = [("Input", 0, a), ("#1 inverse", 1, 1.0 - a), ("#2 same", 2, a.copy())]
    panes = show(viewer, qtbot, sources, 3)
    canvases = [p.canvas for p in panes]
    zoom0 = viewer.state.zoom
    wheel(canvases[1], QPointF(canvases[1].width() * 0.3, canvases[1].height() * 0.6), 2)
    assert viewer.state.zoom == pytest.approx(zoom0 * 1.25 ** 2)
    QTest.mousePress(canvases[2], Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(40, 40))
    QTest.mouseMove(canvases[2], QPoint(70, 55))
    QTest.mouseRelease(canvases[2], Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(70, 55))
    assert not viewer.state.fitted
    assert same_view(canvases[0], canvases[1]) and same_view(canvases[0], canvases[2])
    grabs = [c.grab().toImage() for c in canvases]
    x, y = canvases[0].width() // 2, canvases[0].height() // 2
    p0, p1, p2 = (g.pixelColor(x, y) for g in grabs)
    assert abs(p0.red() + p1.red() - 255) <= 2 and abs(p0.red() - p2.red()) <= 1


def test_blink_cycles_the_image_panes_and_leaves_the_heatmap(viewer, qtbot, three):
    panes = show(viewer, qtbot, three, 3)
    panes[2].heat_button.click()                             # pane 3: |b - input|
    qtbot.waitUntil(lambda: viewer.grid.difference(2) is not None, timeout=5000)
    heat = viewer.grid.difference(2)[0]
    first = [centre_value(p) for p in panes[:2]]
    panes[0].canvas.setFocus()
    QTest.keyClick(panes[0].canvas, Qt.Key.Key_B)
    assert viewer.mode == "compare"
    assert [centre_value(p) for p in panes[:2]] == [first[1], first[0]]   # swapped in place
    assert "B" in panes[0].canvas.renderer.label
    assert viewer.grid.difference(2)[0] is heat
    viewer.grid.blink_button.click()                         # the button blinks too: back
    assert [centre_value(p) for p in panes[:2]] == first


def test_the_heatmap_is_made_off_the_ui_thread_and_is_the_absolute_difference(
        viewer, qtbot, monkeypatch):
    threads = record_threads(monkeypatch, render_worker, "compute_difference")
    rng = np.random.default_rng(2)
    a = rng.random((40, 56, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    c = a * 0.5
    panes = show(viewer, qtbot, [("Input", 0, a), ("#1 b", 1, b), ("#2 c", 2, c)], 4)
    pick(panes[3], 1)
    panes[3].heat_button.click()
    renderer = panes[3].canvas.renderer
    assert isinstance(renderer, DifferenceRenderer) and renderer.layer is None
    assert renderer.note == "Computing difference…"
    qtbot.waitUntil(lambda: viewer.grid.difference(3) is not None, timeout=5000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    layer, peak = viewer.grid.difference(3)
    diff = np.abs(b - a).mean(axis=2)                        # |pane 4 - pane 1|, by numpy
    assert peak == pytest.approx(np.percentile(diff, 99.5), rel=1e-4)
    expected = heatmap(diff, peak).astype(int)
    assert np.abs(layer.pixels.astype(int) - expected).max() <= 3
    assert panes[3].canvas.renderer.note == "|#1 b − Input|"
    assert "Δ4" in viewer.readout_at(10.5, 10.5)
    pick(panes[0], 2)                                        # another reference: recomputed
    qtbot.waitUntil(lambda: viewer.grid.difference(3) is not None
                    and viewer.grid.difference(3)[0] is not layer, timeout=5000)
    assert len(threads) == 2


def test_big_images_become_layers_on_a_worker(viewer, qtbot, three, monkeypatch):
    threads = record_threads(monkeypatch, render_worker, "build_layer")
    viewer.grid.sync_pixels = 0                              # every image counts as big
    panes = show(viewer, qtbot, three, 3)
    pick(panes[1], 2)
    qtbot.waitUntil(lambda: isinstance(panes[1].canvas.renderer, SingleRenderer)
                    and panes[1].canvas.renderer.layer.pixels is three[2][2], timeout=5000)
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_a_failing_worker_shows_its_message(viewer, qtbot, three, monkeypatch):
    def broken(*_args):
        raise ValueError("bad pixels")

    monkeypatch.setattr(render_worker, "compute_difference", broken)
    panes = show(viewer, qtbot, three, 2)
    with qtbot.waitSignal(viewer.difference_failed, timeout=5000) as blocker:
        panes[1].heat_button.click()
    assert "bad pixels" in blocker.args[0]
    assert "bad pixels" in panes[1].canvas.renderer.note

    monkeypatch.setattr(render_worker, "build_layer", broken)
    viewer.grid.sync_pixels = 0                              # every image counts as big
    panes[1].heat_button.click()                             # an image pane again
    more = three + [("#3 c", 3, solid(32, 32, 0.7))]
    viewer.set_images(more[0][2], more[1][2], sources=more)
    with qtbot.waitSignal(viewer.image_failed, timeout=5000) as blocker:
        pick(panes[1], 3)                                    # not converted yet: a worker's job
    assert "bad pixels" in blocker.args[0]
    renderer = panes[1].canvas.renderer
    assert isinstance(renderer, MessageRenderer) and "bad pixels" in renderer.text


def test_a_stale_heatmap_does_not_paint(viewer, qtbot, three, monkeypatch):
    release = threading.Event()
    real = render_worker.compute_difference

    def slow(before, after):
        release.wait(5)
        return real(before, after)

    monkeypatch.setattr(render_worker, "compute_difference", slow)
    panes = show(viewer, qtbot, three, 2)
    panes[1].heat_button.click()
    fresh = [("Input", 0, solid(16, 16, 0.3)), ("#1 a", 1, solid(32, 32, 0.3))]
    viewer.set_images(fresh[0][2], fresh[1][2], sources=fresh)   # another image meanwhile
    monkeypatch.setattr(render_worker, "compute_difference", real)
    release.set()
    qtbot.waitUntil(lambda: viewer.grid.difference(1) is not None, timeout=5000)
    qtbot.wait(200)                                          # the stale one arrives, is dropped
    assert viewer.grid.difference(1)[1] == pytest.approx(1 / 255)   # no difference at all


def test_compare_offers_every_result_of_the_image(window, tiny_png, images, qtbot):
    from desktop.settings import check_value

    from test_restore import restore_with

    page = window.restore_page
    first = page.add_paths([tiny_png])[0]
    page.options.scale.setCurrentIndex(page.options.scale.findData(2))
    restore_with(page, first, "bicubic", qtbot, images)
    second = page.add_paths([tiny_png])[0]
    restore_with(page, second, "lanczos", qtbot, images)
    viewer = page.viewer
    viewer.mode_buttons["compare"].click()
    assert check_value("viewer_mode", window.settings.get("viewer_mode")) == "compare"
    grid = viewer.grid
    texts = [grid.panes[0].combo.itemText(i) for i in range(grid.panes[0].combo.count())]
    assert texts[0] == "Input" and "anczos" in texts[1] and "icubic" in texts[2]
    assert grid.count() == 3
    shown = [p.canvas.renderer.layer.pixels for p in grid.panes[:3]]
    assert shown[0] is second.result.image.pixels
    assert shown[1] is second.result.pixels and shown[2] is first.result.pixels


def test_a_region_marked_on_a_compare_pane_shows_on_every_pane(window, tiny_png, images, qtbot):
    from test_restore import restore_with

    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    restore_with(page, item, "bicubic", qtbot, images)
    viewer = page.viewer
    viewer.mode_buttons["compare"].click()
    pane = viewer.grid.panes[1].canvas
    qtbot.waitUntil(pane.isVisible, timeout=5000)
    w, h = viewer.state.scene.width(), viewer.state.scene.height()
    start = viewer.state.to_screen(QPointF(0.1 * w, 0.1 * h), pane.size())
    end = viewer.state.to_screen(QPointF(0.6 * w, 0.7 * h), pane.size())
    shift = Qt.KeyboardModifier.ShiftModifier
    QTest.mousePress(pane, Qt.MouseButton.LeftButton, shift, QPoint(int(start.x()), int(start.y())))
    QTest.mouseMove(pane, QPoint(int(end.x()), int(end.y())))
    QTest.mouseRelease(pane, Qt.MouseButton.LeftButton, shift, QPoint(int(end.x()), int(end.y())))
    rect = page.marking.tool.rect
    assert rect is not None and rect.width() > 0.4 * w and rect.height() > 0.5 * h
    assert all(p.canvas.tool is page.marking.tool for p in viewer.grid.panes)
    # the outline is painted on the other pane too: its pixels differ from a grab without it
    other = viewer.grid.panes[0].canvas
    if os.environ.get("RESTORELAB_SHOTS"):
        window.grab().save(os.path.join(os.environ["RESTORELAB_SHOTS"], "compare-mark.png"))
    marked = other.grab().toImage()
    page.marking.set_region_none()
    other.repaint()
    assert marked != other.grab().toImage()
