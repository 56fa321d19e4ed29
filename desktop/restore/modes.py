"""Renderers for the viewer's modes; each paints one canvas.

* :class:`SingleRenderer`: one image (the input alone, one side of
  side-by-side, or the blink mode's current image).
* :class:`SplitRenderer`: before left of a draggable vertical divider, after right.
* :class:`DifferenceRenderer`: a heatmap of |after - before| with its legend.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter

from .images import ImageLayer
from .overlay import HANDLE_RADIUS, draw_divider, draw_labels, draw_legend, draw_message

GRAB = 10  # pixels either side of the divider that grab it


def paint_layer(painter: QPainter, canvas, layer: ImageLayer | None) -> None:
    if layer is None:
        return
    visible = canvas.visible_scene()
    if layer.has_alpha:
        canvas.draw_checker(painter, canvas.map_rect(QRectF(0, 0, layer.width * layer.scale,
                                                            layer.height * layer.scale)))
    layer.draw(painter, canvas.map_rect, canvas.state.zoom, visible)


class SingleRenderer:
    def __init__(self, layer: ImageLayer | None, label: str = "") -> None:
        self.layer = layer
        self.label = label

    def paint(self, painter: QPainter, canvas) -> None:
        paint_layer(painter, canvas, self.layer)
        if self.label:
            draw_labels(painter, canvas.width(), self.label)


class SplitRenderer:
    """Before | After with a divider at ``fraction`` of the canvas width."""

    def __init__(self, before: ImageLayer | None, after: ImageLayer | None,
                 fraction: float = 0.5) -> None:
        self.before = before
        self.after = after
        self.fraction = fraction
        self.dragging = False
        self.on_moved = None  # callback(fraction)

    def divider_x(self, canvas) -> float:
        return round(self.fraction * canvas.width())

    def paint(self, painter: QPainter, canvas) -> None:
        x = self.divider_x(canvas)
        w, h = canvas.width(), canvas.height()
        painter.save()
        painter.setClipRect(QRectF(0, 0, x, h))
        paint_layer(painter, canvas, self.before)
        painter.setClipRect(QRectF(x, 0, w - x, h))
        paint_layer(painter, canvas, self.after)
        painter.restore()
        draw_divider(painter, x, h, self.dragging)
        left = self.before.label if self.before is not None and self.before.label else "Before"
        right = self.after.label if self.after is not None and self.after.label else "After"
        draw_labels(painter, w, left if x > 90 else "", right if w - x > 90 else None)

    def _near(self, canvas, pos: QPointF) -> bool:
        x = self.divider_x(canvas)
        if abs(pos.x() - x) <= GRAB:
            return True
        centre = QPointF(x, canvas.height() / 2)
        d = pos - centre
        return d.x() ** 2 + d.y() ** 2 <= (HANDLE_RADIUS + 4) ** 2

    def press(self, canvas, pos: QPointF) -> bool:
        if not self._near(canvas, pos):
            return False
        self.dragging = True
        canvas.update()
        return True

    def drag(self, canvas, pos: QPointF) -> None:
        self.fraction = min(max(pos.x() / max(canvas.width(), 1), 0.0), 1.0)
        canvas.update()
        if self.on_moved:
            self.on_moved(self.fraction)

    def release(self, canvas, pos: QPointF) -> None:
        self.dragging = False
        canvas.update()

    def hover_cursor(self, canvas, pos: QPointF):
        return Qt.CursorShape.SplitHCursor if self._near(canvas, pos) else Qt.CursorShape.OpenHandCursor


class DifferenceRenderer:
    def __init__(self, layer: ImageLayer | None, peak: float, depth_max: int = 255,
                 note: str = "") -> None:
        self.layer = layer
        self.peak = peak
        self.depth_max = depth_max
        self.note = note

    def paint(self, painter: QPainter, canvas) -> None:
        paint_layer(painter, canvas, self.layer)
        draw_labels(painter, canvas.width(), self.note or "Difference")
        draw_legend(painter, canvas.width(), canvas.height(), self.peak, self.depth_max)


class MessageRenderer:
    """No picture: a line of text in the middle (loading, or why there is nothing to show)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def paint(self, painter: QPainter, canvas) -> None:
        r = QRectF(canvas.rect()).adjusted(40, 40, -40, -40)
        draw_message(painter, r, self.text)
