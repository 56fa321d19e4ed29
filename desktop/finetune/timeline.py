"""The fine-tune's timeline under the viewer: scrub its checkpoints, see the current image as
each one restores it next to the parent's result, and register the one you like best."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QToolButton, QWidget

SCRUB_MS = 200   # the slider settles this long before a checkpoint restores


class TimelineBar(QWidget):
    chosen = Signal(int)             # index of the entry to show (0: the parent)
    register_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="infoBar")
        self.entries: list[dict] = []   # {"label", "ref", "psnr"}; [0] is the parent
        self.title = QLabel("TIMELINE", objectName="sectionTitle")
        self.slider = QSlider(Qt.Orientation.Horizontal, toolTip="The fine-tune's checkpoints: "
                              "drag to see how each restores the current image")
        self.slider.setPageStep(1)
        self.label = QLabel("", objectName="hint")
        self.label.setMinimumWidth(190)
        self.register_button = QPushButton("Register this step",
                                           toolTip="Add the checkpoint shown to the model "
                                                   "library as a model of its own")
        close = QToolButton(text="✕", toolTip="Hide the timeline")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.register_button)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, interval=SCRUB_MS)
        self._timer.timeout.connect(lambda: self.chosen.emit(self.slider.value()))
        self.slider.valueChanged.connect(self._moved)
        self.register_button.clicked.connect(lambda: self.register_requested.emit(self.slider.value()))
        self.hide()

    def set_run(self, parent: str, parent_psnr, rows: list[dict]) -> None:
        """A finished fine-tune: the parent, then each kept checkpoint ({step, psnr, path})."""
        self.entries = [{"label": "parent", "ref": parent, "psnr": parent_psnr}] + [
            {"label": f"step {r['step']}", "ref": r["path"], "psnr": r.get("psnr")} for r in rows]
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.entries) - 1)
        self.slider.setValue(len(self.entries) - 1)
        self.slider.blockSignals(False)
        self._describe(self.slider.value())
        self.show()

    def _moved(self, index: int) -> None:
        self._describe(index)
        self._timer.start()

    def _describe(self, index: int) -> None:
        entry = self.entries[index]
        psnr = entry.get("psnr")
        score = f"  ·  {psnr:.2f} dB on your examples" if psnr is not None else ""
        self.label.setText(f"{entry['label']}{score}")
        self.register_button.setEnabled(index > 0)
