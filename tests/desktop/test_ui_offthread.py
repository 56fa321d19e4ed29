"""Shown images are converted (QImage and mip levels) off the UI thread; stale ones never paint."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from desktop.restore import images as screen_images, render_worker, viewer as viewer_module
from desktop.restore.images import ImageLayer
from tests.desktop.recording import record_threads


def solid(h, w, value):
    return np.full((h, w, 3), value, np.float32)


def centre_grey(viewer):
    canvas = viewer.canvas_a
    p = viewer.state.to_screen(QPointF(viewer.state.scene.width() / 2,
                                       viewer.state.scene.height() / 2), canvas.size())
    c = canvas.grab().toImage().pixelColor(int(p.x()), int(p.y()))
    return (c.red() + c.green() + c.blue()) / 3


@pytest.fixture
def async_viewer(viewer, monkeypatch):
    monkeypatch.setattr(viewer_module, "SYNC_PIXELS", 0)   # tiny test images go to the worker too
    return viewer


def test_a_shown_result_is_converted_on_a_worker_thread(async_viewer, qtbot, monkeypatch):
    threads = record_threads(monkeypatch, screen_images, "display_buffer")
    viewer = async_viewer
    viewer.set_images(solid(24, 24, 0.0), solid(48, 48, 1.0))
    assert viewer.layers_pending and not viewer.has_result()
    qtbot.waitUntil(lambda: viewer.has_result(), timeout=5000)
    assert len(threads) == 2
    assert all(t is not threading.main_thread() for t in threads)
    viewer.set_mode("blink")          # the result alone: white
    assert centre_grey(viewer) > 240


def test_a_loaded_image_alone_is_converted_off_thread_with_a_note_meanwhile(async_viewer, qtbot,
                                                                           monkeypatch):
    release = threading.Event()
    real = render_worker.build_layer
    threads = []

    def slow(*args):
        threads.append(threading.current_thread())
        release.wait(5)
        return real(*args)

    monkeypatch.setattr(render_worker, "build_layer", slow)
    viewer = async_viewer
    viewer.set_images(solid(40, 40, 0.8), None)
    assert viewer.canvas_a.renderer.text == "Preparing the image…"
    release.set()
    qtbot.waitUntil(lambda: viewer.before_layer is not None, timeout=5000)
    assert threads[0] is not threading.main_thread()
    assert centre_grey(viewer) > 180


def test_the_same_arrays_are_not_converted_again(async_viewer, qtbot):
    viewer = async_viewer
    before, after = solid(24, 24, 0.2), solid(48, 48, 0.9)
    viewer.set_images(before, None)
    qtbot.waitUntil(lambda: viewer.before_layer is not None, timeout=5000)
    shown = viewer.before_layer
    viewer.set_images(before, after)           # the restore finished: only the result is new
    assert viewer.before_layer.image is shown.image and viewer.before_layer.scale == 2.0
    qtbot.waitUntil(lambda: viewer.has_result(), timeout=5000)


def test_a_superseded_conversion_does_not_paint(async_viewer, qtbot, monkeypatch):
    release = threading.Event()
    real = render_worker.build_layer
    calls = []

    def slow_first(pixels, scale, label):
        calls.append(float(pixels.max()))
        if len(calls) == 1:
            release.wait(5)   # the first image is still converting when the second arrives
        return real(pixels, scale, label)

    monkeypatch.setattr(render_worker, "build_layer", slow_first)
    viewer = async_viewer
    viewer.set_images(solid(32, 32, 1.0), None)              # first: white
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
    viewer.set_images(solid(32, 32, 0.0), None)              # second: black
    qtbot.waitUntil(lambda: viewer.before_layer is not None, timeout=5000)
    release.set()
    qtbot.wait(300)                                          # the stale white arrives, dropped
    assert float(viewer.before_layer.pixels.max()) == 0.0
    assert centre_grey(viewer) < 20


def test_a_failing_conversion_is_shown(async_viewer, qtbot, monkeypatch):
    def broken(*_args):
        raise ValueError("unreadable pixels")

    monkeypatch.setattr(render_worker, "build_layer", broken)
    viewer = async_viewer
    with qtbot.waitSignal(viewer.image_failed, timeout=5000) as blocker:
        viewer.set_images(solid(16, 16, 0.0), solid(16, 16, 1.0))
    assert "unreadable pixels" in blocker.args[0]
    assert "unreadable pixels" in viewer.canvas_a.renderer.text
    assert not viewer.has_result()


def test_levels_are_built_on_the_worker_and_the_drawn_level_follows_the_zoom(async_viewer, qtbot,
                                                                             monkeypatch):
    viewer = async_viewer
    viewer.set_images(solid(512, 512, 0.5), None)
    qtbot.waitUntil(lambda: viewer.before_layer is not None, timeout=5000)
    layer = viewer.before_layer
    assert [im.width() for im in layer._levels] == [512, 256, 128, 64]   # built before any paint
    drawn = []
    real = ImageLayer.level

    def recording(self, n):
        drawn.append(n)
        return real(self, n)

    monkeypatch.setattr(ImageLayer, "level", recording)
    for zoom, level in ((2.0, 0), (1.0, 0), (0.5, 0), (0.3, 1), (0.25, 2), (0.2, 2), (0.125, 3)):
        drawn.clear()
        viewer.state.set_zoom(zoom)
        viewer.canvas_a.grab()
        assert drawn == [level], zoom


def test_the_restore_page_shows_a_restored_result_built_off_thread(window, tiny_png, images,
                                                                   qtbot, monkeypatch):
    monkeypatch.setattr(viewer_module, "SYNC_PIXELS", 0)
    threads = record_threads(monkeypatch, render_worker, "build_layer")
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    assert page.picker.select("bicubic")
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert images.wait_status(qtbot, item) == "done", item.error
    qtbot.waitUntil(lambda: page.viewer.has_result(), timeout=5000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert page.viewer.after_layer.pixels is item.result.pixels


@pytest.mark.parametrize("pixels, rgba", [
    (np.array([[[1.0, 0.0, 0.0, 0.5]]], np.float32), (255, 0, 0, 128)),   # colour + alpha
    (np.array([[[0.5]]], np.float32), (128, 128, 128, 255)),               # grey
    (np.array([[[0.0, 0.5, 1.0]]], np.float32), (0, 128, 255, 255)),       # colour
])
def test_layer_pixels_keep_their_colour_and_alpha_at_every_level(pixels, rgba):
    layer = ImageLayer(np.tile(pixels, (130, 130, 1)))
    assert layer.build_levels() == 3                 # 130, 65 and 32 px
    for image in (layer.level(0), layer.level(1), layer.level(2)):
        c = image.pixelColor(5, 5)
        assert all(abs(a - b) <= 2 for a, b in zip((c.red(), c.green(), c.blue(), c.alpha()), rgba))
    assert layer.has_alpha == (rgba[3] < 255)
