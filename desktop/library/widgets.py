"""Pieces the library pages share: a titled header with a Refresh button, a record table."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableWidget, QVBoxLayout, QWidget)


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


def lay_out_page(page: QWidget, head: QHBoxLayout, split: QSplitter, sizes: list[int]) -> None:
    """Header above a non-collapsing splitter that takes the rest of the page."""
    split.setSizes(sizes)
    split.setChildrenCollapsible(False)
    layout = page.layout()
    layout.setSpacing(14)
    layout.addLayout(head)
    layout.addWidget(split, 1)
