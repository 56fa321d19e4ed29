"""Off-UI-thread pixel work for the viewer: the difference heatmap is computed on a pool thread.

The worker also builds the layer's QImage (QImage, unlike QPixmap, is safe off the UI
thread), so the queued ``done`` signal hands the UI thread a ready layer. Each request carries a token; the viewer drops
results whose token is no longer current, so a stale heatmap never paints over a newer image.
"""
from __future__ import annotations

import traceback

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from .images import ImageLayer, difference, heatmap


def compute_difference(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 RGB heatmap of |after - before| and its peak (runs on a worker thread)."""
    diff, peak = difference(before, after)
    return heatmap(diff, peak), peak


def difference_layer(before: np.ndarray, after: np.ndarray) -> tuple[ImageLayer, float]:
    """The heatmap as a viewer layer, with its peak."""
    heat, peak = compute_difference(before, after)
    return ImageLayer(heat, 1.0, "Difference"), peak


class DifferenceSignals(QObject):
    """Lives on the UI thread, so emits from the worker arrive queued there."""
    done = Signal(int, object, float)   # token, heatmap ImageLayer, peak
    failed = Signal(int, str)           # token, one-line message


class DifferenceJob(QRunnable):
    def __init__(self, token: int, before: np.ndarray, after: np.ndarray,
                 signals: DifferenceSignals) -> None:
        super().__init__()
        self.token, self.before, self.after, self.signals = token, before, after, signals

    def run(self) -> None:
        try:
            layer, peak = difference_layer(self.before, self.after)
            for n in range(1, 16):   # the zoomed-out mip levels too, so the first paint is cheap
                layer.level(n)
        except Exception as exc:  # reported to the viewer, never swallowed
            traceback.print_exc()
            self.signals.failed.emit(self.token, f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(self.token, layer, peak)


def start_difference(token: int, before: np.ndarray, after: np.ndarray,
                     signals: DifferenceSignals) -> None:
    QThreadPool.globalInstance().start(DifferenceJob(token, before, after, signals))
