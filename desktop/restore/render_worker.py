"""Off-UI-thread pixel work for the viewer: shown images and the difference heatmap.

Loaded images and restored results become viewer layers (float -> uint8 -> QImage, plus
their half-size mip levels) on a pool thread; so does the heatmap. QImage, unlike QPixmap,
is safe off the UI thread, so the queued ``done`` signal hands the UI thread ready layers.
Each request carries a token; the viewer drops results whose token is no longer current, so
a stale image or heatmap never paints over a newer one.
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
            layer.build_levels()   # the zoomed-out mip levels too, so the first paint is cheap
        except Exception as exc:  # reported to the viewer, never swallowed
            traceback.print_exc()
            self.signals.failed.emit(self.token, f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(self.token, layer, peak)


def start_difference(token: int, before: np.ndarray, after: np.ndarray,
                     signals: DifferenceSignals) -> None:
    QThreadPool.globalInstance().start(DifferenceJob(token, before, after, signals))


# ------------------------------------------------------------ shown images
def build_layer(pixels: np.ndarray, scale: float, label: str) -> ImageLayer:
    """A viewer layer with its QImage and every mip level (runs on a worker thread)."""
    layer = ImageLayer(pixels, scale, label)
    layer.build_levels()
    return layer


class LayerSignals(QObject):
    """Lives on the UI thread, so emits from the worker arrive queued there."""
    done = Signal(int, object)   # token, list of ImageLayer (one per request)
    failed = Signal(int, str)    # token, one-line message


class LayerJob(QRunnable):
    def __init__(self, token: int, requests: list[tuple[np.ndarray, float, str]],
                 signals: LayerSignals) -> None:
        super().__init__()
        self.token, self.requests, self.signals = token, requests, signals

    def run(self) -> None:
        try:
            layers = [build_layer(*r) for r in self.requests]
        except Exception as exc:  # reported to the viewer, never swallowed
            traceback.print_exc()
            self.signals.failed.emit(self.token, f"{type(exc).__name__}: {exc}")
            return
        self.signals.done.emit(self.token, layers)


def start_layers(token: int, requests: list[tuple[np.ndarray, float, str]],
                 signals: LayerSignals) -> None:
    QThreadPool.globalInstance().start(LayerJob(token, requests, signals))
