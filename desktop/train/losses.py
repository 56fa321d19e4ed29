"""The loss terms of a run and their weights (``[loss]`` in a config)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QGridLayout, QLabel, QMenu, QToolButton,
                               QVBoxLayout, QWidget)

from .widgets import DoubleSpinBox


class LossEditor(QWidget):
    """One row per term: name, weight, remove. Options of a term (a table) are kept as they are."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.terms: dict[str, tuple[QDoubleSpinBox, dict]] = {}
        self._row_widgets: list[QWidget] = []
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        self.add_button = QToolButton(text="Add term ▾")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.add_button)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.add_button.setMenu(self.menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self.grid)
        layout.addWidget(self.add_button)

    def set_names(self, names: list[str]) -> None:
        self.names = list(names)

    def set_terms(self, spec: dict) -> bool:
        """Show ``spec`` ({name: weight or {weight, options}}); False when part of it was not
        a valid term (that part is left out, or gets weight 1)."""
        for spin, _options in self.terms.values():
            spin.deleteLater()
        self.terms = {}
        valid = isinstance(spec, dict)
        for name, value in (spec.items() if valid else ()):
            options = dict(value) if isinstance(value, dict) else {"weight": value}
            weight = options.pop("weight", 1.0)
            if not isinstance(name, str) or isinstance(weight, bool) \
                    or not isinstance(weight, (int, float)) or not 0 <= weight <= 1e4:
                valid = False   # NaN fails the range test too
                if not isinstance(name, str):
                    continue
                weight = 1.0
            self.terms[name] = (self._spin(weight), options)
        self._layout()
        return valid

    def value(self) -> dict:
        out = {}
        for name, (spin, options) in self.terms.items():
            out[name] = {"weight": spin.value(), **options} if options else spin.value()
        return out

    def add_term(self, name: str, weight: float = 1.0) -> None:
        if name not in self.terms:
            self.terms[name] = (self._spin(weight), {})
            self._layout()
            self.changed.emit()

    def remove_term(self, name: str) -> None:
        removed = self.terms.pop(name, None)
        if removed is not None:
            removed[0].deleteLater()
            self._layout()
            self.changed.emit()

    def _spin(self, weight: float) -> QDoubleSpinBox:
        spin = DoubleSpinBox(decimals=4, minimum=0.0, maximum=1e4, singleStep=0.1)
        spin.setValue(float(weight))
        spin.valueChanged.connect(lambda _v: self.changed.emit())
        return spin

    def _layout(self) -> None:
        for w in self._row_widgets:
            self.grid.removeWidget(w)   # spins stay (they hold the weights); the rest is rebuilt
            if not isinstance(w, QDoubleSpinBox):
                w.deleteLater()
        self._row_widgets = []
        for row, (name, (spin, options)) in enumerate(self.terms.items()):
            label = QLabel(name)
            if options:
                label.setToolTip(", ".join(f"{k} = {v!r}" for k, v in options.items()))
            remove = QToolButton(text="✕", toolTip=f"Remove {name}")
            remove.clicked.connect(lambda _=False, n=name: self.remove_term(n))
            self.grid.addWidget(label, row, 0)
            self.grid.addWidget(spin, row, 1)
            self.grid.addWidget(remove, row, 2)
            self._row_widgets += [label, spin, remove]

    def _fill_menu(self) -> None:
        self.menu.clear()
        for name in self.names:
            if name not in self.terms:
                self.menu.addAction(name, lambda n=name: self.add_term(n))
