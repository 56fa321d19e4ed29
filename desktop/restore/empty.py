"""What the Restore page shows with an empty queue: how to start, and the sample."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

SAMPLE_NAME = "noisy-scene.png"
SAMPLE_TASK = "denoise"


def sample_path() -> Path:
    from engine.paths import resources_dir

    return resources_dir() / "samples" / SAMPLE_NAME


class EmptyState(QWidget):
    open_files = Signal()
    open_folder = Signal()
    try_sample = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Restore an image", objectName="emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Drop images or folders anywhere on this window, open them, "
                      "or paste one from the clipboard (Ctrl+V).", objectName="hint")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setFixedWidth(440)
        hint_row = QHBoxLayout()
        hint_row.addStretch(1)
        hint_row.addWidget(hint)
        hint_row.addStretch(1)

        self.open_button = QPushButton("Open images…")
        self.open_button.clicked.connect(self.open_files)
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)

        card = QFrame(objectName="card")
        card.setFixedWidth(500)
        row = QHBoxLayout(card)
        row.setContentsMargins(14, 14, 14, 14)
        row.setSpacing(14)
        self.thumb = QLabel()
        self.thumb.setFixedSize(96, 96)
        pix = QPixmap(str(sample_path()))
        if not pix.isNull():
            self.thumb.setPixmap(pix.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))
        text = QVBoxLayout()
        text.setSpacing(4)
        head = QLabel("<b>New here? Try the sample</b>")
        self.sample_text = QLabel("A noisy 256×256 scene, denoised with the default "
                                  "denoising model.", objectName="hint")
        self.sample_text.setWordWrap(True)
        self.sample_button = QPushButton("Try the sample")
        self.sample_button.setProperty("primary", True)
        self.sample_button.clicked.connect(self.try_sample)
        text.addWidget(head)
        text.addWidget(self.sample_text)
        text.addStretch(1)
        text.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.thumb)
        row.addLayout(text, 1)

        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addWidget(title)
        layout.addSpacing(4)
        layout.addLayout(hint_row)
        layout.addSpacing(14)
        layout.addLayout(buttons)
        layout.addSpacing(30)
        card_row = QHBoxLayout()
        card_row.addStretch(1)
        card_row.addWidget(card)
        card_row.addStretch(1)
        layout.addLayout(card_row)
        layout.addStretch(4)

    def set_sample_model(self, title: str) -> None:
        self.sample_text.setText(f"A noisy 256×256 scene, denoised with {title}.")
