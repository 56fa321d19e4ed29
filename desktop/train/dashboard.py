"""The live view of a training run: state, progress, curves, previews and a log.

It only displays; :class:`desktop.train.page.TrainPage` feeds it the run's
events and owns the buttons' logic. The pyqtgraph board is built the first
time it is needed, so opening the window never waits for pyqtgraph.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from .previews import PreviewStrip
from .widgets import section

STATES = {  # state -> (text, colour key)
    "idle": ("Ready", "muted"), "starting": ("Starting…", "accent"), "running": ("Running", "success"),
    "paused": ("Paused", "warning"), "stopping": ("Stopping…", "warning"),
    "done": ("Finished", "success"), "stopped": ("Stopped", "warning"),
    "aborted": ("Aborted", "warning"), "failed": ("Failed", "danger"),
}


def clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Dashboard(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = "idle"
        self.curves = None            # CurveBoard, built on first use
        self.latest: dict[str, float] = {}
        self.title = QLabel("No run yet", objectName="pageTitle")
        self.state_label = QLabel()
        self.stats = QLabel("", objectName="hint")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.error_label = QLabel("", objectName="error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.start_button = QPushButton("Start")
        self.start_button.setProperty("primary", True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.open_button = QPushButton("Open in Restore")
        self.log_check = QCheckBox("Log scale")
        self.values = QLabel("", objectName="hint")

        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(self.title)
        head.addWidget(self.state_label)
        head.addStretch(1)
        for b in (self.start_button, self.pause_button, self.stop_button, self.open_button):
            head.addWidget(b)
        stats = QHBoxLayout()
        stats.addWidget(self.progress, 1)
        stats.addWidget(self.stats)
        bar = QHBoxLayout()
        bar.addWidget(section("Curves"))
        bar.addStretch(1)
        bar.addWidget(self.values)
        bar.addSpacing(12)
        bar.addWidget(self.log_check)

        self.curve_stack = QStackedWidget()
        self.curve_hint = QLabel("Curves of every loss term, validation PSNR/SSIM and the "
                                 "learning rate appear here while a run trains.", objectName="hint")
        self.curve_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.curve_hint.setWordWrap(True)
        self.curve_stack.addWidget(self.curve_hint)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(4)
        tl.addLayout(bar)
        tl.addWidget(self.curve_stack, 1)

        self.previews = PreviewStrip()
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setPlaceholderText("The run's log")
        log_box = QWidget()
        lv = QVBoxLayout(log_box)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(6)
        lv.addWidget(section("Log"))
        lv.addWidget(self.log_view, 1)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.previews)
        bottom.addWidget(log_box)
        bottom.setSizes([620, 360])
        bottom.setChildrenCollapsible(False)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(top)
        self.split.addWidget(bottom)
        self.split.setSizes([430, 270])
        self.split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addLayout(stats)
        layout.addWidget(self.error_label)
        layout.addWidget(self.split, 1)
        self.log_check.toggled.connect(self._set_log)
        self.set_state("idle")

    # --------------------------------------------------------------- building
    def ensure_curves(self):
        if self.curves is None:
            from .curves import CurveBoard

            self.curves = CurveBoard()
            self.curves.set_log(self.log_check.isChecked())
            self.curve_stack.addWidget(self.curves)
            self.curve_stack.setCurrentWidget(self.curves)
        return self.curves

    def _set_log(self, on: bool) -> None:
        if self.curves is not None:
            self.curves.set_log(on)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:   # the theme changed
            if self.curves is not None:
                self.curves.restyle()
            self.set_state(self.state)

    # ------------------------------------------------------------------ state
    def reset(self, title: str) -> None:
        self.title.setText(title)
        self.latest.clear()
        self.values.setText("")
        self.stats.setText("")
        self.progress.setValue(0)
        self.previews.clear()
        self.log_view.clear()
        self.show_error("")
        if self.curves is not None:
            self.curves.clear_all()

    def set_state(self, state: str, detail: str = "") -> None:
        from .. import theme

        self.state = state
        text, colour = STATES.get(state, (state, "muted"))
        self.state_label.setText(f"● {text}")
        self.state_label.setStyleSheet(f"color: {theme.colors()[colour]}; font-weight: 600;")
        if state == "failed":
            self.show_error(detail)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # ----------------------------------------------------------------- events
    def on_progress(self, event) -> None:
        if self.curves is not None and event.total and event.stage.startswith("step"):
            self.curves.set_total(float(event.total))
        if event.total:
            self.progress.setValue(int(1000 * min(1.0, float(event.done) / float(event.total))))
        parts = [event.stage] if event.stage else []
        if "throughput" in self.latest:
            parts.append(f"{self.latest['throughput']:.1f} samples/s")
        if event.eta_s is not None:
            parts.append(f"ETA {clock(event.eta_s)}")
        self.stats.setText("  ·  ".join(parts))

    def on_metrics(self, metrics) -> None:
        self.ensure_curves().add(metrics)
        for m in metrics:
            self.latest[m.name] = m.value
        shown = [(k, self.latest[k]) for k in ("loss/total", "val/psnr", "val/ssim", "lr")
                 if k in self.latest]
        self.values.setText("   ".join(f"{k.split('/')[-1]} {v:.4g}" for k, v in shown))

    def on_preview(self, event) -> None:
        self.previews.add(event.step, event.images)

    def on_rollback(self, event) -> None:
        self.ensure_curves().rollback(event.step)
        self.log("warning", f"rollback to step {event.step} ({event.reason}); lr now {event.new_lr:.3g}")

    def load_history(self, hist) -> None:
        """Curves, rollback markers and previews of the steps a resumed run already did."""
        board = self.ensure_curves()
        for name, (xs, ys) in hist.curves.items():
            board.add_arrays(name, xs, ys)
        for step in hist.rollbacks:
            board.add_marker(step)
        if hist.previews:
            self.previews.set_frames(hist.previews)

    def log(self, level: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = "" if level == "info" else f"{level.upper()}: "
        self.log_view.appendPlainText(f"{stamp}  {prefix}{text}")
