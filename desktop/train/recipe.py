"""The degradation recipe editor: an ordered list of steps, each with its parameters.

Parameters are inline TOML, as in a config file: ``25`` is fixed, ``[0, 50]``
is a range drawn per sample. An empty field means the degradation's default
(shown greyed). The page renders sample pairs off the UI thread whenever the
recipe changes (see ``desktop.train.jobs.pairs_job``).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QMenu,
                               QToolButton, QVBoxLayout, QWidget)

from .widgets import inline, parse_inline


def describe(step: dict) -> str:
    options = "  ".join(f"{k} {inline(v)}" for k, v in step.items() if k != "type")
    return f"{step.get('type', '?')}   {options}".rstrip()


class RecipeEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.types: dict[str, dict] = {}
        self.steps: list[dict] = []
        self.edits: dict[str, QLineEdit] = {}
        self.list = QListWidget()
        self.list.setMaximumHeight(96)
        self.list.currentRowChanged.connect(self._show_params)
        self.add_button = QToolButton(text="Add step ▾")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = QToolButton(text="Remove", toolTip="Remove the selected step")
        self.up_button = QToolButton(text="↑", toolTip="Apply this step earlier")
        self.down_button = QToolButton(text="↓", toolTip="Apply this step later")
        self.remove_button.clicked.connect(self.remove_current)
        self.up_button.clicked.connect(lambda: self.move_current(-1))
        self.down_button.clicked.connect(lambda: self.move_current(1))
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.params = QWidget()
        self.form = QFormLayout(self.params)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel("", objectName="hint")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.params)
        layout.addWidget(self.note)
        self._update_buttons()

    # ------------------------------------------------------------------ model
    def set_types(self, types: dict[str, dict]) -> None:
        self.types = types
        self.add_menu.clear()
        for name in types:
            self.add_menu.addAction(name, lambda n=name: self.add_step(n))

    def set_steps(self, steps: list[dict]) -> None:
        self.steps = [dict(s) for s in steps]
        self._refresh(0 if self.steps else -1)

    def recipe(self) -> list[dict]:
        return [dict(s) for s in self.steps]

    def add_step(self, kind: str, **options) -> None:
        self.steps.append({"type": kind, **options})
        self._refresh(len(self.steps) - 1)
        self.changed.emit()

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.steps):
            del self.steps[row]
            self._refresh(min(row, len(self.steps) - 1))
            self.changed.emit()

    def move_current(self, delta: int) -> None:
        row = self.list.currentRow()
        to = row + delta
        if 0 <= row < len(self.steps) and 0 <= to < len(self.steps):
            self.steps[row], self.steps[to] = self.steps[to], self.steps[row]
            self._refresh(to)
            self.changed.emit()

    def set_param(self, name: str, value) -> None:
        """Set a parameter of the selected step (``None`` restores the default)."""
        if name in self.edits:
            self.edits[name].setText("" if value is None else inline(value))
        self._store(name, value)

    def _store(self, name: str, value) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.steps):
            return
        if value is None:
            self.steps[row].pop(name, None)
        else:
            self.steps[row][name] = value
        self.list.item(row).setText(describe(self.steps[row]))
        self.changed.emit()

    # --------------------------------------------------------------------- view
    def _refresh(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems([describe(s) for s in self.steps])
        self.list.blockSignals(False)
        if select >= 0:
            self.list.setCurrentRow(select)
        self._show_params(self.list.currentRow())

    def _show_params(self, row: int) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.edits = {}
        self._update_buttons()
        if not 0 <= row < len(self.steps):
            self.note.setText("No degradation: inputs equal targets." if not self.steps else "")
            return
        step = self.steps[row]
        info = self.types.get(step.get("type"), {})
        options = info.get("options") or {k: None for k in step if k != "type"}
        for name, default in options.items():
            edit = QLineEdit(inline(step[name]) if name in step else "")
            edit.setPlaceholderText(inline(default) if default not in (None, (), []) else "")
            edit.setToolTip("A number, or [lo, hi] drawn per sample; empty: the default")
            edit.textEdited.connect(lambda text, n=name, e=edit: self._edited(n, e, text))
            self.edits[name] = edit
            self.form.addRow(name, edit)
        where = info.get("applies_to", "input")
        self.note.setText(f"Applies to the {where}." if where != "input" else "")

    def _edited(self, name: str, edit: QLineEdit, text: str) -> None:
        if not text.strip():
            edit.setStyleSheet("")
            self._store(name, None)
            return
        try:
            value = parse_inline(text)
        except ValueError:
            from .. import theme

            edit.setStyleSheet(f"color: {theme.colors()['danger']};")
            return
        edit.setStyleSheet("")
        self._store(name, value)

    def _update_buttons(self) -> None:
        row = self.list.currentRow()
        has = 0 <= row < len(self.steps)
        self.remove_button.setEnabled(has)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < len(self.steps) - 1)
