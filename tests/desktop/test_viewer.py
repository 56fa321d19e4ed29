"""The before/after viewer on its own: split drag, synchronised side-by-side, difference, blink."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication



def solid(h, w, value, c=3):
    return np.full((h, w, c), value, np.float32)


def pixel(widget, x, y) -> QColor:
    return widget.grab().toImage().pixelColor(int(x), int(y))


def brightness(c: QColor) -> float:
    return (c.red() + c.green() + c.blue()) / 3


def wheel(widget, pos: QPointF, steps: int) -> None:
    gpos = widget.mapToGlobal(pos.toPoint())
    event = QWheelEvent(pos, QPointF(gpos), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_split_divider_moves_with_a_drag_and_changes_the_picture(viewer, qtbot):
    viewer.set_images(solid(64, 64, 0.0), solid(64, 64, 1.0))
    viewer.set_mode("split")
    canvas = viewer.canvas_a
    w, h = canvas.width(), canvas.height()
    shown = canvas.scene_rect_on_screen()                  # the image on screen
    x0 = viewer.split.divider_x(canvas)
    assert x0 == pytest.approx(w / 2, abs=1)
    probe_y = int(shown.center().y()) + 60                 # below the grab handle
    probe_x = int(x0 + shown.width() * 0.2)                # right of the divider: after (white)
    target = int(shown.right() - shown.width() * 0.1)      # where the divider goes
    assert brightness(pixel(canvas, probe_x, probe_y)) > 200
    assert brightness(pixel(canvas, x0 - 20, probe_y)) < 40

    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(x0), probe_y))
    for x in range(int(x0), target, 20):
        QTest.mouseMove(canvas, QPoint(x, probe_y))
    QTest.mouseMove(canvas, QPoint(target, probe_y))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(target, probe_y))

    assert viewer.split.fraction == pytest.approx(target / w, abs=0.01)
    assert brightness(pixel(canvas, probe_x, probe_y)) < 40       # now before (black)
    assert brightness(pixel(canvas, target + 10, probe_y)) > 200  # still after
    assert viewer.state.fitted, "dragging the divider must not pan the picture"


def test_a_drag_away_from_the_divider_pans(viewer):
    viewer.set_images(solid(64, 64, 0.0), solid(64, 64, 1.0))
    viewer.one_to_one()
    canvas = viewer.canvas_a
    before = QPointF(viewer.state.center)
    start = QPoint(canvas.width() // 4, canvas.height() // 4)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(canvas, start + QPoint(10, 6))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(10, 6))
    assert viewer.state.center.x() == pytest.approx(before.x() - 10)
    assert viewer.state.center.y() == pytest.approx(before.y() - 6)
    assert viewer.split.fraction == 0.5


def same_view(a, b) -> bool:
    """Both canvases show the same scene point at their centres, at the same zoom."""
    ra, rb = a.visible_scene(), b.visible_scene()
    return (abs(ra.center().x() - rb.center().x()) < 1e-9
            and abs(ra.center().y() - rb.center().y()) < 1e-9
            and abs(ra.height() - rb.height()) < 1e-9 and abs(a.width() - b.width()) <= 1)


def test_side_by_side_zoom_and_pan_stay_in_sync(viewer, qtbot):
    rng = np.random.default_rng(0)
    before = rng.random((48, 64, 3)).astype(np.float32)
    viewer.set_images(before, 1.0 - before)
    viewer.set_mode("side")
    a, b = viewer.canvas_a, viewer.canvas_b
    qtbot.waitUntil(lambda: b.isVisible() and b.width() > 100)
    zoom0 = viewer.state.zoom
    wheel(a, QPointF(a.width() * 0.3, a.height() * 0.4), 2)
    assert viewer.state.zoom == pytest.approx(zoom0 * 1.25 ** 2)
    assert same_view(a, b)
    QTest.mousePress(b, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(50, 50))
    QTest.mouseMove(b, QPoint(80, 70))
    QTest.mouseRelease(b, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(80, 70))
    assert same_view(a, b)
    # both sides show the same scene pixel at the same place: after = 1 - before
    pa, pb = pixel(a, a.width() / 2, a.height() / 2), pixel(b, b.width() / 2, b.height() / 2)
    assert abs(pa.red() + pb.red() - 255) <= 2


def test_wheel_zoom_keeps_the_point_under_the_cursor(viewer):
    viewer.set_images(solid(100, 200, 0.5), None)
    canvas = viewer.canvas_a
    cursor = QPointF(canvas.width() * 0.7, canvas.height() * 0.3)
    under = viewer.state.to_scene(cursor, canvas.size())
    wheel(canvas, cursor, 3)
    after = viewer.state.to_scene(cursor, canvas.size())
    assert after.x() == pytest.approx(under.x(), abs=1e-6)
    assert after.y() == pytest.approx(under.y(), abs=1e-6)


def test_fit_and_one_to_one(viewer, qtbot):
    viewer.set_images(solid(1000, 2000, 0.5), None)
    canvas = viewer.canvas_a
    assert viewer.state.zoom < 1
    shown = canvas.scene_rect_on_screen()
    assert shown.width() <= canvas.width() and shown.height() <= canvas.height()
    viewer.one_to_one()
    assert viewer.state.zoom == 1.0
    assert viewer.zoom_label.text() == "100%"
    viewer.fit()
    assert viewer.state.fitted
    qtbot.waitUntil(lambda: not viewer.layers_pending)   # its layer job ends with the test


def test_pixels_are_sharp_squares_at_high_zoom(viewer):
    img = np.zeros((8, 8, 3), np.float32)
    img[:, 1::2] = 1.0                                   # alternating columns
    viewer.set_images(img, None)
    viewer.state.set_zoom(16.0)
    canvas = viewer.canvas_a
    grab = canvas.grab().toImage()
    centre = viewer.state.to_screen(QPointF(4.5, 4.5), canvas.size())   # middle of pixel (4, 4)
    x, y = int(centre.x()), int(centre.y())
    values = {grab.pixelColor(x + dx, y).red() for dx in range(-6, 7)}
    assert values == {0}, "one image pixel must be one flat 16x16 block"
    assert grab.pixelColor(x + 16, y).red() == 255


def test_difference_mode_renders_a_heatmap(viewer, qtbot):
    before = solid(64, 64, 0.2)
    after = before.copy()
    after[16:48, 16:48] = 0.9
    viewer.set_images(before, after)
    viewer.set_mode("difference")
    qtbot.waitUntil(lambda: viewer.canvas_a.renderer.layer is not None, timeout=5000)
    canvas = viewer.canvas_a
    hot = viewer.state.to_screen(QPointF(32, 32), canvas.size())
    cold = viewer.state.to_screen(QPointF(4, 60), canvas.size())
    assert brightness(pixel(canvas, hot.x(), hot.y())) > 150
    assert brightness(pixel(canvas, cold.x(), cold.y())) < 30
    layer, peak = viewer.difference_layer()
    assert layer.width == 64 and peak == pytest.approx(0.7, abs=1e-3)


def test_difference_of_a_scaling_model_compares_with_the_upscaled_input(viewer):
    before = solid(16, 16, 0.5)
    viewer.set_images(before, solid(32, 32, 0.5))
    viewer.set_mode("difference")
    layer, _peak = viewer.difference_layer()
    assert (layer.width, layer.height) == (32, 32)
    assert viewer.before_layer.scale == 2.0


def test_blink_flips_with_b(viewer, qtbot):
    viewer.set_images(solid(32, 32, 0.0), solid(32, 32, 1.0))
    viewer.set_mode("split")
    viewer.canvas_a.setFocus()
    QTest.keyClick(viewer.canvas_a, Qt.Key.Key_B)
    assert viewer.mode == "blink" and viewer.showing_before
    canvas = viewer.canvas_a
    centre = (canvas.width() / 2, canvas.height() / 2 + 40)
    assert brightness(pixel(canvas, *centre)) < 40
    QTest.keyClick(viewer.canvas_a, Qt.Key.Key_B)
    assert not viewer.showing_before
    assert brightness(pixel(canvas, *centre)) > 200
    viewer.mode_buttons["blink"].click()                   # the button flips too
    assert viewer.showing_before


def test_readout_shows_both_images_under_the_cursor(viewer):
    before = solid(10, 10, 0.0)
    before[3, 4] = (1.0, 0.5, 0.0)
    after = solid(20, 20, 0.25)
    viewer.set_images(before, after)
    text = viewer.readout_at(8.5, 6.5)                   # after pixel (8, 6) = before (4, 3)
    assert "x    8" in text and "y    6" in text
    assert "before (4, 3) 255 128   0" in text
    assert "after  64  64  64" in text
    assert viewer.readout_at(-1, 3) == ""


def test_sixteen_bit_images_read_out_in_sixteen_bit_levels(viewer):
    viewer.set_images(solid(4, 4, 1.0, c=1), None, bit_depth=16)
    assert "65535" in viewer.readout_at(1, 1)


def test_alpha_is_drawn_over_a_checkerboard(viewer):
    img = np.zeros((16, 16, 4), np.float32)                # fully transparent
    viewer.set_images(img, None)
    canvas = viewer.canvas_a
    centre = viewer.state.to_screen(QPointF(8, 8), canvas.size())
    c = pixel(canvas, centre.x(), centre.y())
    assert brightness(c) > 20, "transparent pixels show the checkerboard, not black"
