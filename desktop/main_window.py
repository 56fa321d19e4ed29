"""The main window: navigation between the pages, menus, status bar."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QMainWindow, QStackedWidget,
                               QWidget)

PAGES = ("Restore", "Train", "Models", "Datasets", "Experiments")


class _EngineStatus(QObject):
    ready = Signal(str)


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("RestoreLab")
        self.resize(1280, 800)
        self.nav = QListWidget()
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(150)
        self.stack = QStackedWidget()
        for name in PAGES:
            label = QLabel(f"{name}")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.stack.addWidget(label)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.engine_label = QLabel("Engine starting…")
        self.statusBar().addPermanentWidget(self.engine_label)
        self._engine_status = _EngineStatus()
        self._engine_status.ready.connect(self.engine_label.setText)
        self.engine_ready = False
        self._engine_status.ready.connect(lambda _: setattr(self, "engine_ready", True))

    def start_engine(self) -> None:
        from desktop.app import warm_up_engine

        warm_up_engine(self._engine_status.ready.emit)
