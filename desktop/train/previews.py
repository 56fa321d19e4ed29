"""Validation previews (input | output | target) per validation step, with a slider back in time."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from .widgets import ImageBox, qimage, section

KEYS = ("input", "output", "target")
MAX_FRAMES = 300


class PreviewStrip(QWidget):
    shown = Signal(int)   # step of the frame on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames: list[tuple[int, dict]] = []   # (step, name -> QImage)
        self.index = -1
        self.step_label = QLabel("", objectName="hint")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Earlier validation steps")
        self.slider.valueChanged.connect(self.show_index)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(section("Validation previews"))
        head.addStretch(1)
        head.addWidget(self.step_label)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.boxes: dict[str, ImageBox] = {}
        for col, key in enumerate(KEYS):
            caption = QLabel(key.capitalize(), objectName="hint")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box = ImageBox("Previews appear at each validation step" if key == "output" else "")
            self.boxes[key] = box
            grid.addWidget(caption, 0, col)
            grid.addWidget(box, 1, col)
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addLayout(grid, 1)
        layout.addWidget(self.slider)

    def add(self, step: int, images: dict) -> None:
        """A new validation preview; the view follows unless the slider was moved back."""
        following = self.index == len(self.frames) - 1
        self.frames.append((int(step), {k: qimage(v) for k, v in images.items() if k in KEYS}))
        if len(self.frames) > MAX_FRAMES:
            del self.frames[0]
            self.index -= 1
        self._sync(len(self.frames) - 1 if following else max(self.index, 0))

    def set_frames(self, frames) -> None:
        self.frames = [(int(s), {k: qimage(v) for k, v in imgs.items() if k in KEYS})
                       for s, imgs in list(frames)[-MAX_FRAMES:]]
        self._sync(len(self.frames) - 1)

    def clear(self) -> None:
        self.frames = []
        self._sync(-1)

    def _sync(self, index: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.frames) - 1))
        self.slider.setValue(max(index, 0))
        self.slider.setEnabled(len(self.frames) > 1)
        self.slider.blockSignals(False)
        self.show_index(index)

    def show_index(self, index: int) -> None:
        self.index = index
        if not 0 <= index < len(self.frames):
            for box in self.boxes.values():
                box.set_image(None)
            self.step_label.setText("")
            return
        step, images = self.frames[index]
        for key, box in self.boxes.items():
            box.set_image(images.get(key))
        self.step_label.setText(f"step {step} · {index + 1} of {len(self.frames)}")
        self.shown.emit(step)

    def current_step(self) -> int | None:
        return self.frames[self.index][0] if 0 <= self.index < len(self.frames) else None
