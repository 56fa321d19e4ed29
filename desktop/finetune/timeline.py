"""The fine-tune's timeline under the viewer: scrub its checkpoints and see the marked regions
of the current image as each one restores them, next to the parent's (a strip of thumbnails,
and the regions in the viewer); *Whole image* restores all of it; register the step you like."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QScrollArea, QSlider,
                               QToolButton, QVBoxLayout, QWidget)

SCRUB_MS = 200   # the slider settles this long before a checkpoint restores


def pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap of a small uint8 RGB array (thumbnails only: the big ones go off-thread)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class RegionStrip(QScrollArea):
    """parent | checkpoint thumbnails of the regions; a click shows that region in the viewer."""

    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(112)
        inner = QWidget()
        self.row = QHBoxLayout(inner)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(8)
        self.note = QLabel("", objectName="hint")
        self.note.setWordWrap(True)
        self.row.addWidget(self.note)
        self.row.addStretch(1)
        self.setWidget(inner)
        self.tiles: list[QToolButton] = []

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def set_tiles(self, thumbs: list[tuple[np.ndarray, str]]) -> None:
        for tile in self.tiles:
            self.row.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        for i, (rgb, caption) in enumerate(thumbs):
            tile = QToolButton(text=caption, toolTip=f"{caption}: left the parent, right the "
                                                     "checkpoint; click to look at it")
            tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            tile.setIcon(QIcon(pixmap(rgb)))
            tile.setIconSize(QSize(rgb.shape[1], rgb.shape[0]))
            tile.setAutoRaise(True)
            tile.clicked.connect(lambda _=False, i=i: self.picked.emit(i))
            self.row.insertWidget(1 + i, tile)
            self.tiles.append(tile)


class TimelineBar(QWidget):
    chosen = Signal(int)             # index of the entry to show (0: the parent)
    whole_requested = Signal(int)    # restore the whole current image with that entry
    register_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="infoBar")
        self.entries: list[dict] = []   # {"label", "ref", "psnr"}; [0] is the parent
        self.title = QLabel("TIMELINE", objectName="sectionTitle")
        self.slider = QSlider(Qt.Orientation.Horizontal, toolTip="The fine-tune's checkpoints: "
                              "drag to see how each restores the marked regions")
        self.slider.setPageStep(1)
        self.label = QLabel("", objectName="hint")
        self.whole_button = QPushButton("Whole image",
                                        toolTip="Restore the whole current image with the "
                                                "checkpoint shown (and the parent), to compare "
                                                "everywhere (slower on big images)")
        self.register_button = QPushButton("Register this step",
                                           toolTip="Add the checkpoint shown to the model "
                                                   "library as a model of its own")
        close = QToolButton(text="✕", toolTip="Hide the timeline")
        close.clicked.connect(self.hide)
        self.strip = RegionStrip()
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.slider, 1)
        top.addWidget(self.label)
        top.addWidget(close)
        buttons = QVBoxLayout()
        buttons.addWidget(self.whole_button)
        buttons.addWidget(self.register_button)
        buttons.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.strip, 1)
        bottom.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self._timer = QTimer(self, singleShot=True, interval=SCRUB_MS)
        self._timer.timeout.connect(lambda: self.chosen.emit(self.slider.value()))
        self.slider.valueChanged.connect(self._moved)
        self.whole_button.clicked.connect(lambda: self.whole_requested.emit(self.slider.value()))
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
        self.strip.set_tiles([])
        self.strip.set_note("Scrub the checkpoints: your marked regions of the current image "
                            "restore with each, next to the parent's.")
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
