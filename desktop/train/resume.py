"""Pick an experiment to continue, and how many steps it should reach."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QSpinBox, QVBoxLayout)


def resumable() -> list:
    """Experiments with a checkpoint to continue from, newest first."""
    from training.experiments import list_experiments

    return [e for e in reversed(list_experiments()) if (e.checkpoint / "train_state.pt").exists()]


def default_steps(summary: dict) -> int:
    """The run's own length, or twice its steps when it already got there."""
    step, total = int(summary.get("step") or 0), int(summary.get("total") or 0)
    return total if step < total else max(2 * step, 1)


class ResumeDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Resume a run")
        self.runs = [e.summary() for e in resumable()]
        self.pick = QComboBox()
        for s in self.runs:
            self.pick.addItem(f"#{s['number']} {s['name']} · {s['status']} at step {s['step']}"
                              f"/{s['total']}", s["number"])
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000_000)
        self.pick.currentIndexChanged.connect(self._picked)
        form = QFormLayout()
        form.addRow("Experiment", self.pick)
        form.addRow("Train until step", self.steps)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Resume")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.runs))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if not self.runs:
            layout.addWidget(QLabel("No run has a checkpoint to continue from yet.",
                                    objectName="hint"))
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._picked(0)

    def _picked(self, i: int) -> None:
        if 0 <= i < len(self.runs):
            self.steps.setValue(default_steps(self.runs[i]))

    def choice(self) -> tuple[str, int] | None:
        i = self.pick.currentIndex()
        if not 0 <= i < len(self.runs):
            return None
        return str(self.runs[i]["number"]), self.steps.value()
