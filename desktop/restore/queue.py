"""The queue: a list model of files to restore, painted rows with status, progress and actions."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .. import theme

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_TEXT = {"ready": "Ready", "queued": "Queued", "running": "Running", "done": "Done",
               "failed": "Failed", "cancelled": "Cancelled"}
STATUS_COLOR = {"ready": "muted", "queued": "muted", "running": "accent", "done": "success",
                "failed": "danger", "cancelled": "warning"}
_ids = itertools.count(1)


@dataclass(eq=False)
class QueueItem:
    path: str
    id: int = 0
    status: str = "ready"
    progress: float = 0.0
    stage: str = ""
    error: str = ""
    detail: str = ""
    image: Any = None        # LoadedImage, once read
    result: Any = None       # RestoreResult, once restored
    handle: Any = None       # the JobHandle while queued or running
    saved_to: str = ""
    reference: str = ""
    metrics_text: str = ""
    compare_with: int = 0    # id of another row of the same file whose result is "before"
    kept: Any = None         # the result's entry in the cache (desktop.restore.kept), if kept

    def __post_init__(self) -> None:
        if not self.id:
            self.id = next(_ids)

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def busy(self) -> bool:
        return self.status in ("queued", "running")

    def action(self) -> str | None:
        if self.busy:
            return "cancel"
        if self.status in ("failed", "cancelled", "done"):
            return "retry"
        return None


class QueueModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[QueueItem] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.name
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = item.path
            if item.error:
                tip += f"\n\n{item.error}"
            elif item.detail:
                tip += f"\n{item.detail}"
            return tip
        return None

    def add(self, paths: list[str], again: bool = False) -> list[QueueItem]:
        """New rows for ``paths``. A file is queued once until it has a result; after that it
        can be queued again (to restore it with another model and compare). ``again`` adds a
        row whatever the file's other rows are doing."""
        unrestored = {i.path for i in self.items if i.result is None}
        fresh = []
        for p in paths:
            p = str(p)
            if again or p not in unrestored:
                unrestored.add(p)
                fresh.append(QueueItem(p))
        if fresh:
            n = len(self.items)
            self.beginInsertRows(QModelIndex(), n, n + len(fresh) - 1)
            self.items.extend(fresh)
            self.endInsertRows()
        return fresh

    def remove(self, item: QueueItem) -> None:
        row = self.row_of(item)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.items[row]
            self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.items = []
        self.endResetModel()

    def row_of(self, item: QueueItem) -> int:
        for row, it in enumerate(self.items):
            if it is item:
                return row
        return -1

    def by_id(self, item_id: int) -> QueueItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def touch(self, item: QueueItem) -> None:
        row = self.row_of(item)
        if row >= 0:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)


class QueueDelegate(QStyledItemDelegate):
    """Two lines per file (name; status, progress or the error in words) and an action button."""

    action = Signal(object, str)   # item, "cancel" | "retry"
    ROW_H = 56
    BUTTON = 26

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(200, self.ROW_H)

    SLOTS = {"cancel": 0, "retry": 1}   # from the right: never where the other one was

    def button_rect(self, rect: QRect, action: str = "cancel") -> QRect:
        """Where ``action``'s button is. Cancel and Retry sit in different places, so a click
        meant for Cancel that lands as the job ends does not run it again."""
        b = self.BUTTON
        right = rect.right() - 8 - self.SLOTS.get(action, 0) * (b + 6)
        return QRect(right - b, rect.top() + (rect.height() - b) // 2, b, b)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        item: QueueItem = index.data(ITEM_ROLE)
        if item is None:
            return
        c = theme.colors()
        r = option.rect
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hover:
            bg = QColor(c["accent_soft"] if selected else c["hover"])
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(bg)
            painter.drawRoundedRect(QRectF(r.adjusted(6, 2, -6, -2)), 6, 6)
        dot = QColor(c[STATUS_COLOR.get(item.status, "muted")])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dot)
        painter.drawEllipse(QRectF(r.left() + 16, r.top() + 17, 8, 8))

        action = item.action()
        text_right = self.button_rect(r, action).left() - 8 if action else r.right() - 12
        x = r.left() + 34
        name_font = QFont(option.font)
        name_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(QColor(c["text"]))
        fm = painter.fontMetrics()
        painter.drawText(QRect(x, r.top() + 8, text_right - x, fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(item.name, Qt.TextElideMode.ElideMiddle, text_right - x))
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() * 0.9, 7.0))
        painter.setFont(small)
        fm = painter.fontMetrics()
        line = STATUS_TEXT.get(item.status, item.status)
        if item.status == "running":
            line += f" · {item.progress * 100:.0f}%" + (f" · {item.stage}" if item.stage else "")
        elif item.status == "failed" and item.error:
            line = item.error
        elif item.detail:
            line += f" · {item.detail}"
        painter.setPen(QColor(c["danger"] if item.status == "failed" else c["muted"]))
        painter.drawText(QRect(x, r.top() + 28, text_right - x, fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(line, Qt.TextElideMode.ElideRight, text_right - x))
        if item.status in ("running", "queued"):
            track = QRectF(x, r.bottom() - 7, text_right - x, 3)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c["border"]))
            painter.drawRoundedRect(track, 1.5, 1.5)
            if item.progress > 0:
                painter.setBrush(QColor(c["accent"]))
                done = QRectF(track.left(), track.top(), track.width() * min(item.progress, 1.0), 3)
                painter.drawRoundedRect(done, 1.5, 1.5)
        if action:
            self._paint_button(painter, self.button_rect(r, action), action, c)
        painter.restore()

    @staticmethod
    def _paint_button(painter: QPainter, rect: QRect, action: str, c: dict[str, str]) -> None:
        painter.setPen(QPen(QColor(c["border_strong"]), 1))
        painter.setBrush(QColor(c["button"]))
        painter.drawEllipse(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.setPen(QPen(QColor(c["text"]), 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        ctr = QRectF(rect).center()
        if action == "cancel":
            d = 4.5
            painter.drawLine(ctr.x() - d, ctr.y() - d, ctr.x() + d, ctr.y() + d)
            painter.drawLine(ctr.x() - d, ctr.y() + d, ctr.x() + d, ctr.y() - d)
        else:
            arc = QRectF(ctr.x() - 6, ctr.y() - 6, 12, 12)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawArc(arc, 60 * 16, 280 * 16)
            painter.drawLine(ctr.x() + 3.2, ctr.y() - 6.4, ctr.x() + 5.8, ctr.y() - 3.2)
            painter.drawLine(ctr.x() + 3.2, ctr.y() - 6.4, ctr.x() - 0.4, ctr.y() - 5.6)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem,
                    index: QModelIndex) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease \
                and event.button() == Qt.MouseButton.LeftButton:
            item: QueueItem = index.data(ITEM_ROLE)
            action = item.action() if item else None
            at = event.position().toPoint()
            if action and self.button_rect(option.rect, action).contains(at):
                self.action.emit(item, action)
                return True
        return super().editorEvent(event, model, option, index)


class QueueView(QListView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("queue")
        self.queue = QueueModel(self)
        self.delegate = QueueDelegate(self)
        self.setModel(self.queue)
        self.setItemDelegate(self.delegate)
        self.setMouseTracking(True)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def current_item(self) -> QueueItem | None:
        idx = self.currentIndex()
        return idx.data(ITEM_ROLE) if idx.isValid() else None

    def selected_items(self) -> list[QueueItem]:
        rows = sorted(i.row() for i in self.selectionModel().selectedRows())
        return [self.queue.items[r] for r in rows if r < len(self.queue.items)]

    def select_item(self, item: QueueItem) -> None:
        row = self.queue.row_of(item)
        if row >= 0:
            self.setCurrentIndex(self.queue.index(row))

    def item_rect(self, item: QueueItem) -> QRect:
        return self.visualRect(self.queue.index(self.queue.row_of(item)))

    def action_point(self, item: QueueItem):
        """Centre of the item's action button (for tests and accessibility)."""
        return self.delegate.button_rect(self.item_rect(item), item.action() or "cancel").center()

