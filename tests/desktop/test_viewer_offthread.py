"""The difference heatmap is computed off the UI thread; stale results never paint."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from desktop.restore import render_worker
from tests.desktop.recording import record_threads


def solid(h, w, value):
    return np.full((h, w, 3), value, np.float32)


def hot_pixel(viewer):
    canvas = viewer.canvas_a
    p = viewer.state.to_screen(QPointF(32, 32), canvas.size())
    c = canvas.grab().toImage().pixelColor(int(p.x()), int(p.y()))
    return (c.red() + c.green() + c.blue()) / 3


def test_heatmap_is_computed_on_a_worker_thread_and_then_painted(viewer, qtbot, monkeypatch):
    threads = record_threads(monkeypatch, render_worker, "compute_difference")
    before = solid(64, 64, 0.2)
    after = before.copy()
    after[16:48, 16:48] = 0.9
    viewer.set_images(before, after)
    viewer.set_mode("difference")
    assert viewer.canvas_a.renderer.note == "Computing difference…"   # shown while it works
    qtbot.waitUntil(lambda: viewer.canvas_a.renderer.layer is not None, timeout=5000)
    assert threads and threads[0] is not threading.main_thread()
    assert hot_pixel(viewer) > 150
    assert viewer.canvas_a.renderer.note == ""


def test_a_superseded_request_does_not_paint(viewer, qtbot, monkeypatch):
    release = threading.Event()
    real = render_worker.compute_difference
    calls = []

    def slow_first(before, after):
        calls.append(float(after.max()))
        if len(calls) == 1:
            release.wait(5)       # the first pair is still computing when the second arrives
        return real(before, after)

    monkeypatch.setattr(render_worker, "compute_difference", slow_first)
    first_after = solid(64, 64, 0.2)
    first_after[16:48, 16:48] = 0.9        # first pair: a hot square
    viewer.set_images(solid(64, 64, 0.2), first_after)
    viewer.set_mode("difference")
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)
    second = solid(64, 64, 0.5)
    viewer.set_images(second, second.copy())   # second pair: no difference at all
    qtbot.waitUntil(lambda: viewer.canvas_a.renderer.layer is not None, timeout=5000)
    release.set()
    qtbot.wait(300)                              # the stale first result arrives and is dropped
    layer, peak = viewer._diff
    assert peak == pytest.approx(1 / 255)
    assert hot_pixel(viewer) < 30


def test_a_failing_heatmap_is_reported(viewer, qtbot, monkeypatch):
    def broken(before, after):
        raise ValueError("bad pixels")

    monkeypatch.setattr(render_worker, "compute_difference", broken)
    viewer.set_images(solid(16, 16, 0.0), solid(16, 16, 1.0))
    with qtbot.waitSignal(viewer.difference_failed, timeout=5000) as blocker:
        viewer.set_mode("difference")
    assert "bad pixels" in blocker.args[0]
    assert "bad pixels" in viewer.canvas_a.renderer.note
