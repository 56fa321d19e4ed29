"""Pieces the library pages share: a page built on first show, a titled header with a Refresh
button, a record table, a details card, a panel listing what became of each item of a batch."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSplitter, QTableWidget,
                               QVBoxLayout, QWidget)

from .. import theme

OUTCOME_MARKS = {"ok": ("✓", "success"), "failed": ("✗", "danger"), "waiting": ("…", "muted")}


def page_header(title: str, subtitle: str, on_refresh) -> tuple[QHBoxLayout, QLabel, QPushButton]:
    """(layout, notice label, refresh button) for the top of a library page."""
    notice = QLabel("", objectName="hint")
    notice.setWordWrap(True)
    notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    refresh = QPushButton("Refresh")
    refresh.clicked.connect(on_refresh)
    texts = QVBoxLayout()
    texts.setSpacing(2)
    for w in (QLabel(title, objectName="pageTitle"), QLabel(subtitle, objectName="hint"), notice):
        texts.addWidget(w)
    head = QHBoxLayout()
    head.addLayout(texts, 1)
    head.addWidget(refresh, 0, Qt.AlignmentFlag.AlignBottom)
    return head, notice, refresh


def record_table(columns: list[str], stretch: int, multi: bool = False) -> QTableWidget:
    """A read-only, row-selecting table of records (one row per dataset, run, ...)."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                           else QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(30)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


class LibraryPage(QWidget):
    """A library page whose widgets are made when it is first shown (the window opens
    sooner): ``_build`` makes them, setting ``table`` and ``notice`` (from ``page_header``)."""

    def __init__(self, context) -> None:
        super().__init__()
        self.ctx = context
        self.table = None
        QVBoxLayout(self).setContentsMargins(24, 20, 24, 20)

    def ensure_built(self) -> None:
        if self.table is None:
            self._build()

    def _build(self) -> None:
        raise NotImplementedError

    def notify(self, text: str, error: bool = False) -> None:
        """Say what happened under the page title (in red for an error) and in the status bar."""
        self.notice.setObjectName("error" if error else "hint")
        self.notice.style().unpolish(self.notice)   # the stylesheet colours by object name
        self.notice.style().polish(self.notice)
        self.notice.setText(text)
        if text:
            self.ctx.status(text)


def side_card() -> tuple[QFrame, QVBoxLayout, QLabel]:
    """(card, its layout, a details label not yet placed) for the panel beside a page's table."""
    card = QFrame(objectName="card")
    card.setMinimumWidth(320)
    layout = QVBoxLayout(card)
    layout.setContentsMargins(16, 12, 16, 14)
    detail = QLabel("", objectName="cardText")
    detail.setWordWrap(True)
    detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return card, layout, detail


def lay_out_page(page: QWidget, head: QHBoxLayout, split: QSplitter, sizes: list[int]) -> None:
    """Header above a non-collapsing splitter that takes the rest of the page."""
    split.setSizes(sizes)
    split.setChildrenCollapsible(False)
    layout = page.layout()
    layout.setSpacing(14)
    layout.addLayout(head)
    layout.addWidget(split, 1)


class ResultsPanel(QFrame):
    """A titled list with one line per item of a batch (ok / failed / waiting) and a Close
    button. Clicking a row that carries data (a model id, ...) emits ``activated(data)``."""

    activated = Signal(str)
    VISIBLE_ROWS = 6   # taller batches scroll
    ROW_HEIGHT = 26

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="card")
        self.title = QLabel("", objectName="sectionTitle")
        close = QPushButton("Close")
        close.clicked.connect(self.hide)
        self.list = QListWidget()
        self.list.setObjectName("results")
        self.list.setWordWrap(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.itemClicked.connect(self._clicked)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(close)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 12)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.list)
        self.hide()

    def show_rows(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        """``rows``: (outcome, text, data) with outcome one of OUTCOME_MARKS."""
        self.title.setText(title)
        self.list.clear()
        for outcome, text, data in rows:
            mark, colour = OUTCOME_MARKS.get(outcome, OUTCOME_MARKS["waiting"])
            item = QListWidgetItem(f"{mark}  {text}")
            item.setForeground(theme.color(colour if outcome != "ok" else "text"))
            item.setData(Qt.ItemDataRole.UserRole, data)
            item.setToolTip(text)
            item.setSizeHint(QSize(0, self.ROW_HEIGHT))
            self.list.addItem(item)
        shown = max(1, min(len(rows), self.VISIBLE_ROWS))
        self.list.setFixedHeight(self.ROW_HEIGHT * shown + 2 * self.list.frameWidth() + 6)
        self.show()

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if data:
            self.activated.emit(str(data))
