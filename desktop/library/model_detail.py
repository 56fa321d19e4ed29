"""The Models page's side panel: the selected model's card and the buttons that act on it.

The panel shows; the page acts: it connects the buttons (Use in Restore, Set as default,
Rename…, Delete…) to its own methods and calls ``show_choice`` when the selection changes.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..restore.catalog import TASK_TITLES, Choice, card_html, default_model
from .backend_card import BackendNote


class ModelDetail(QFrame):
    def __init__(self) -> None:
        super().__init__(objectName="card")
        self.setMinimumWidth(300)
        dv = QVBoxLayout(self)
        dv.setContentsMargins(16, 14, 16, 14)
        dv.setSpacing(8)
        self.card = QLabel(objectName="cardText")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.backend_note = BackendNote()
        self.default_note = QLabel("", objectName="hint")
        self.use_button = QPushButton("Use in Restore")
        self.use_button.setProperty("primary", True)
        self.default_button = QPushButton("Set as default")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setProperty("danger", True)
        dv.addWidget(self.card)
        dv.addWidget(self.backend_note)
        dv.addWidget(self.default_note)
        dv.addStretch(1)
        dv.addWidget(self.use_button)
        dv.addWidget(self.default_button)
        row = QHBoxLayout()
        row.addWidget(self.rename_button)
        row.addWidget(self.delete_button)
        dv.addLayout(row)

    def show_choice(self, c: Choice | None, choices: list[Choice], settings) -> None:
        """Show ``c`` (None: nothing selected) among ``choices``, the defaults from ``settings``."""
        self.card.setText(card_html(c) if c else "Select a model to see its card.")
        self.backend_note.show_for(c, settings.get("device", "auto"))
        for b in (self.use_button, self.default_button):
            b.setEnabled(c is not None)
        deletable = bool(c and c.deletable)
        for b in (self.rename_button, self.delete_button):
            b.setEnabled(deletable)
            b.setToolTip("" if deletable or c is None else
                         "Shipped models and built-in methods cannot be changed")
        task = c.task if c else ""
        self.default_button.setText(f"Set as default for {TASK_TITLES.get(task, task).lower()}"
                                    if task else "Set as default")
        self.default_button.setEnabled(bool(task))
        is_default = bool(c and task and default_model(task, settings, choices) == c.id)
        self.default_note.setText(f"★ Default for {TASK_TITLES.get(task, task).lower()}"
                                  if is_default else "")
