"""The model picker: a combo grouped by task, and the chosen model's card."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFrame, QLabel, QVBoxLayout, QWidget

from .catalog import Choice, card_html, grouped, model_choices

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ModelPicker(QWidget):
    model_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: dict[str, Choice] = {}
        self.combo = QComboBox()
        self.combo.setMaxVisibleItems(24)
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model = QStandardItemModel(self)
        self.combo.setModel(self.model)
        self.combo.currentIndexChanged.connect(self._changed)
        self.card_frame = QFrame(objectName="card")
        self.card = QLabel(objectName="cardText")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        inner = QVBoxLayout(self.card_frame)
        inner.setContentsMargins(12, 10, 12, 10)
        inner.addWidget(self.card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.combo)
        layout.addWidget(self.card_frame)
        self.error = ""

    def refresh(self, choices: list[Choice] | None = None) -> None:
        """Reload the list (installed models may have changed), keeping the selection."""
        keep = self.current_id()
        if choices is None:
            try:
                choices = model_choices()
                self.error = ""
            except Exception as err:  # a broken model folder must not hide the others
                choices, self.error = [], f"Could not list models: {err}"
        self.choices = {c.id: c for c in choices}
        self.combo.blockSignals(True)
        self.model.clear()
        header_font = QFont(self.font())
        header_font.setBold(True)
        header_font.setPointSizeF(max(header_font.pointSizeF() * 0.85, 7.0))
        for group, members in grouped(choices):
            header = QStandardItem(group.upper())
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            header.setFont(header_font)
            self.model.appendRow(header)
            for c in members:
                suffix = ""
                if c.kind == "classical":
                    suffix = f"  ·  {', '.join(c.tasks)}"
                elif c.scale != 1:
                    suffix = f"  ·  ×{c.scale}"
                item = QStandardItem(f"   {c.title}{suffix}")
                item.setData(c.id, ID_ROLE)
                item.setToolTip(c.description or c.id)
                self.model.appendRow(item)
        if not (keep and self.select(keep, emit=False)):
            self._select_first()
        self.combo.blockSignals(False)
        self._show_card()
        if self.current_id() != keep:
            self.model_changed.emit(self.current_id())

    def _select_first(self) -> None:
        for row in range(self.model.rowCount()):
            if self.model.item(row).data(ID_ROLE):
                self.combo.setCurrentIndex(row)
                return

    def select(self, model_id: str, emit: bool = True) -> bool:
        for row in range(self.model.rowCount()):
            if self.model.item(row).data(ID_ROLE) == model_id:
                if row == self.combo.currentIndex():
                    return True
                blocked = self.combo.signalsBlocked()
                self.combo.blockSignals(blocked or not emit)
                self.combo.setCurrentIndex(row)
                self.combo.blockSignals(blocked)
                self._show_card()
                return True
        return False

    def current_id(self) -> str:
        row = self.combo.currentIndex()
        item = self.model.item(row) if row >= 0 else None
        return str(item.data(ID_ROLE) or "") if item is not None else ""

    def current(self) -> Choice | None:
        return self.choices.get(self.current_id())

    def _changed(self, _row: int) -> None:
        self._show_card()
        self.model_changed.emit(self.current_id())

    def _show_card(self) -> None:
        choice = self.current()
        if choice is None:
            self.card.setText(self.error or "No model selected.")
            return
        self.card.setText(card_html(choice))
