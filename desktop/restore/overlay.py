"""Things drawn over the picture: the split divider, labels, the difference legend."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from .images import colormap_strip
from .view import pill

HANDLE_RADIUS = 15

_strip = None


def draw_divider(painter: QPainter, x: float, height: float, active: bool = False) -> None:
    """A vertical line at ``x`` with a round grab handle in the middle."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(QColor(0, 0, 0, 90), 3))
    painter.drawLine(QPointF(x, 0), QPointF(x, height))
    painter.setPen(QPen(QColor(255, 255, 255, 235), 1.5))
    painter.drawLine(QPointF(x, 0), QPointF(x, height))
    c = QPointF(x, height / 2)
    painter.setPen(QPen(QColor(0, 0, 0, 60), 1))
    painter.setBrush(QColor(255, 255, 255, 255 if active else 235))
    painter.drawEllipse(c, HANDLE_RADIUS, HANDLE_RADIUS)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(40, 44, 52))
    for sign in (-1, 1):
        tip = c + QPointF(sign * 9, 0)
        base = c + QPointF(sign * 3, 0)
        painter.drawPolygon(QPolygonF([tip, base + QPointF(0, -5), base + QPointF(0, 5)]))
    painter.restore()


def draw_labels(painter: QPainter, width: float, left: str, right: str | None = None) -> None:
    if left:
        pill(painter, QPointF(12, 12), left)
    if right:
        pill(painter, QPointF(width - 12, 12), right, align_right=True)


def draw_legend(painter: QPainter, width: float, height: float, peak: float,
                depth_max: int = 255, title: str = "|after − before|") -> None:
    """Colour bar for the difference map: 0 .. ``peak`` (in 8-bit levels by default)."""
    global _strip
    if _strip is None:
        _strip = colormap_strip()
    bar_w, bar_h = 180, 10
    fm = painter.fontMetrics()
    box = QRectF(width - bar_w - 36, height - bar_h - fm.height() * 2 - 28,
                 bar_w + 24, bar_h + fm.height() * 2 + 16)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    path = QPainterPath()
    path.addRoundedRect(box, 8, 8)
    painter.fillPath(path, QColor(0, 0, 0, 160))
    painter.setPen(QColor(255, 255, 255))
    row = QRectF(box.left() + 12, box.top() + 6, bar_w, fm.height())
    painter.drawText(row, Qt.AlignmentFlag.AlignLeft, title)
    bar = QRectF(box.left() + 12, row.bottom() + 4, bar_w, bar_h)
    painter.drawImage(bar, _strip)
    labels = QRectF(bar.left(), bar.bottom() + 2, bar_w, fm.height())
    painter.drawText(labels, Qt.AlignmentFlag.AlignLeft, "0")
    painter.drawText(labels, Qt.AlignmentFlag.AlignRight, f"≥ {peak * depth_max:.1f}")
    painter.restore()


def draw_message(painter: QPainter, rect: QRectF, text: str) -> None:
    """Centred text: the first paragraph as a heading, the rest (the reason) below it."""
    from .. import theme

    head, _, rest = text.partition("\n\n")
    painter.save()
    font = painter.font()
    big = QFont(font)
    big.setPointSizeF(font.pointSizeF() * 1.25)
    big.setWeight(QFont.Weight.DemiBold)
    painter.setFont(big)
    flags = Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap
    head_rect = painter.boundingRect(rect, flags, head)
    rest_rect = QRectF()
    if rest:
        painter.setFont(font)
        rest_rect = painter.boundingRect(rect, flags, rest)
    top = rect.center().y() - (head_rect.height() + 10 + rest_rect.height()) / 2
    painter.setFont(big)
    painter.setPen(theme.color("text" if rest else "muted"))
    painter.drawText(QRectF(rect.left(), top, rect.width(), head_rect.height()), flags, head)
    if rest:
        painter.setFont(font)
        painter.setPen(theme.color("danger"))
        painter.drawText(QRectF(rect.left(), top + head_rect.height() + 10, rect.width(),
                                rest_rect.height()), flags, rest)
    painter.restore()
