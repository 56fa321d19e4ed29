"""The zoomable, pannable canvas and the view state two canvases can share.

Scene coordinates are the pixels of the result (or of the input while there
is no result yet). A :class:`ViewState` holds the zoom (screen pixels per
scene pixel) and the scene point at the canvas centre; canvases that share
one state zoom and pan together (the side-by-side mode).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QObject, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import theme

MIN_ZOOM, MAX_ZOOM = 1 / 64, 64.0
_checkers: dict[tuple[str, int], QPixmap] = {}
WHEEL_STEP = 1.25


class ViewState(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.zoom = 1.0
        self.center = QPointF(0, 0)
        self.fitted = True           # keep fitting when the canvas or image changes size
        self.scene = QSize(0, 0)

    def set_scene(self, size: QSize, viewport: QSize) -> None:
        changed_size = size != self.scene
        self.scene = QSize(size)
        if self.fitted or changed_size:
            self.fit(viewport)

    def fit_zoom(self, viewport: QSize) -> float:
        if self.scene.isEmpty() or viewport.isEmpty():
            return 1.0
        z = min((viewport.width() - 16) / self.scene.width(),
                (viewport.height() - 16) / self.scene.height())
        if z > 1:
            z = float(math.floor(z))  # whole screen pixels per image pixel: crisp, even squares
        return float(min(max(z, MIN_ZOOM), MAX_ZOOM))

    def fit(self, viewport: QSize) -> None:
        self.zoom = self.fit_zoom(viewport)
        self.center = QPointF(self.scene.width() / 2, self.scene.height() / 2)
        self.fitted = True
        self.changed.emit()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None,
                 viewport: QSize | None = None) -> None:
        """Zoom keeping the scene point under ``anchor`` (screen coords) where it is."""
        zoom = float(min(max(zoom, MIN_ZOOM), MAX_ZOOM))
        if anchor is not None and viewport is not None:
            half = QPointF(viewport.width() / 2, viewport.height() / 2)
            under = (anchor - half) / self.zoom + self.center
            self.center = under - (anchor - half) / zoom
        self.zoom = zoom
        self.fitted = False
        self._clamp()
        self.changed.emit()

    def pan(self, dx: float, dy: float) -> None:
        """Move the picture by a screen-space delta."""
        self.center -= QPointF(dx, dy) / self.zoom
        self.fitted = False
        self._clamp()
        self.changed.emit()

    def _clamp(self) -> None:
        w, h = self.scene.width(), self.scene.height()
        self.center = QPointF(min(max(self.center.x(), 0.0), float(w)),
                              min(max(self.center.y(), 0.0), float(h)))

    # mapping, for a canvas of size ``viewport``
    def to_screen(self, p: QPointF, viewport: QSize) -> QPointF:
        half = QPointF(viewport.width() / 2, viewport.height() / 2)
        return (p - self.center) * self.zoom + half

    def to_scene(self, p: QPointF, viewport: QSize) -> QPointF:
        half = QPointF(viewport.width() / 2, viewport.height() / 2)
        return (p - half) / self.zoom + self.center

    def rect_to_screen(self, r: QRectF, viewport: QSize) -> QRectF:
        tl = self.to_screen(r.topLeft(), viewport)
        return QRectF(tl.x(), tl.y(), r.width() * self.zoom, r.height() * self.zoom)

    def visible_scene(self, viewport: QSize) -> QRectF:
        tl = self.to_scene(QPointF(0, 0), viewport)
        return QRectF(tl.x(), tl.y(), viewport.width() / self.zoom, viewport.height() / self.zoom)


class Canvas(QWidget):
    """Paints a scene through a renderer (see :mod:`.modes`); wheel zooms, drag pans.

    A renderer may claim a mouse press (the split divider does) through
    ``press(canvas, pos) -> bool``, then gets ``drag`` and ``release``.
    """

    hovered = Signal(float, float)   # scene coords under the cursor
    left = Signal()

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.renderer = None
        self.tool = None   # an optional tool (marking.RegionTool) that claims drags and paints on top
        self._tool_drag = False
        self._pan_from: QPointF | None = None
        self._renderer_drag = False
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        state.changed.connect(self.update)

    def set_renderer(self, renderer) -> None:
        self.renderer = renderer
        self.update()

    # ------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.color("canvas"))
        if self.renderer is not None:
            self.renderer.paint(painter, self)
        if self.tool is not None:
            self.tool.paint(painter, self)
        painter.end()

    def map_rect(self, r: QRectF) -> QRectF:
        return self.state.rect_to_screen(r, self.size())

    def visible_scene(self) -> QRectF:
        return self.state.visible_scene(self.size())

    def scene_rect_on_screen(self) -> QRectF:
        return self.map_rect(QRectF(0, 0, self.state.scene.width(), self.state.scene.height()))

    def draw_checker(self, painter: QPainter, rect: QRectF, cell: int = 8) -> None:
        """A transparency checkerboard under ``rect`` (screen coords), one textured fill."""
        r = rect.intersected(QRectF(self.rect()))
        if r.isEmpty():
            return
        key = (theme.current(), cell)
        tile = _checkers.get(key)
        if tile is None:
            tile = QPixmap(2 * cell, 2 * cell)
            tile.fill(theme.color("checker_a"))
            p = QPainter(tile)
            p.fillRect(cell, 0, cell, cell, theme.color("checker_b"))
            p.fillRect(0, cell, cell, cell, theme.color("checker_b"))
            p.end()
            _checkers[key] = tile
        painter.fillRect(r, QBrush(tile))

    # ----------------------------------------------------------- interaction
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        self.state.set_zoom(self.state.zoom * WHEEL_STEP ** steps, event.position(), self.size())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.tool is not None and self.tool.press(self, event):
            self._tool_drag = True
            return
        if event.button() == Qt.MouseButton.LeftButton and self.renderer is not None \
                and hasattr(self.renderer, "press") and self.renderer.press(self, pos):
            self._renderer_drag = True
            return
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._pan_from = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._tool_drag:
            self.tool.drag(self, pos)
        elif self._renderer_drag:
            self.renderer.drag(self, pos)
        elif self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.state.pan(delta.x(), delta.y())
        elif self.renderer is not None and hasattr(self.renderer, "hover_cursor"):
            self.setCursor(self.renderer.hover_cursor(self, pos))
        scene = self.state.to_scene(pos, self.size())
        self.hovered.emit(scene.x(), scene.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._tool_drag:
            self._tool_drag = False
            self.tool.release(self, event.position())
        if self._renderer_drag:
            self._renderer_drag = False
            if hasattr(self.renderer, "release"):
                self.renderer.release(self, event.position())
        self._pan_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double click toggles between fit and 100 % around the cursor."""
        if self.state.fitted:
            self.state.set_zoom(1.0, event.position(), self.size())
        else:
            self.state.fit(self.size())

    def leaveEvent(self, _event) -> None:
        self.left.emit()

    def resizeEvent(self, event) -> None:
        if self.state.fitted:
            self.state.fit(self.size())
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)


def pill(painter: QPainter, anchor: QPointF, text: str, align_right: bool = False) -> None:
    """A small rounded label (e.g. "Before") with its top-left (or top-right) at ``anchor``."""
    fm = painter.fontMetrics()
    w, h = fm.horizontalAdvance(text) + 16, fm.height() + 6
    x = anchor.x() - w if align_right else anchor.x()
    rect = QRectF(x, anchor.y(), w, h)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 150))
    painter.drawRoundedRect(rect, h / 2, h / 2)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
