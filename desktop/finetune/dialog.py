"""The fine-tune window: a prefilled short run from the current model and its examples.

Parent = the model in use, data = its "my photos" examples mixed with its base training set,
a schedule of a few minutes at a tenth of its learning rate. The run's curves, the marked
regions re-restored at every validation (the previews) and its log show live, as on the Train
page; when it ends the timeline lists every kept checkpoint with its PSNR on the examples,
and the best one is the registered model.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QListWidget, QSpinBox, QVBoxLayout, QWidget)

from engine.job_process import in_process

from ..train.dashboard import Dashboard
from ..train.jobs import TRAIN_LANE
from .examples import count, describe
from .jobs import FinetuneRequest, finetune_run_job

_ids = itertools.count(1)


class FinetuneDialog(QDialog):
    run_finished = Signal(dict)   # the job's result: model, parent, parent_psnr, timeline

    def __init__(self, ctx, model: str, title: str, examples: Path, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.model, self.examples = ctx, model, Path(examples)
        self.key = None
        self.handle = None
        self.result: dict = {}
        self.setWindowTitle(f"Fine-tune {title}")
        self.resize(1040, 900)   # room for the curves beside the form and the timeline
        self.about = QLabel("", objectName="hint")
        self.about.setWordWrap(True)
        self.minutes = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=600.0, value=3.0,
                                      suffix=" min", toolTip="Stepping-time budget of the run")
        self.steps = QSpinBox(minimum=2, maximum=1_000_000, value=300,
                              toolTip="At most this many steps (whichever of steps and minutes "
                                      "ends first)")
        self.mix = QSpinBox(minimum=0, maximum=100, value=50, suffix=" %",
                            toolTip="Share of each batch drawn from your examples; the rest "
                                    "comes from the model's base training set, so it does not "
                                    "forget what it knew")
        self.lr_scale = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=10.0, value=0.1,
                                       singleStep=0.05, prefix="× ",
                                       toolTip="Learning rate as a multiple of the parent's: low, "
                                               "so a short run adjusts rather than relearns")
        form = QFormLayout()
        form.addRow("Parent", QLabel(f"{title}  ({model})"))
        form.addRow("Examples", self.about)
        form.addRow("Time", self.minutes)
        form.addRow("Steps", self.steps)
        form.addRow("Your examples", self.mix)
        form.addRow("Learning rate", self.lr_scale)
        self.dashboard = Dashboard()
        self.dashboard.reset(f"Fine-tune {title}")
        self.dashboard.pause_button.hide()
        self.dashboard.open_button.setText("Use this model")
        self.timeline = QListWidget()
        self.timeline.setMaximumHeight(120)
        self.timeline.setToolTip("Every validation kept its weights; the best one on your "
                                 "examples is the registered model")
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(20, 0, 20, 12)
        bl.addWidget(QLabel("TIMELINE", objectName="sectionTitle"))
        bl.addWidget(self.timeline)
        top = QHBoxLayout()
        top.setContentsMargins(20, 16, 20, 0)
        top.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.dashboard, 1)
        layout.addWidget(box)
        self.dashboard.start_button.clicked.connect(lambda: self.start())
        self.dashboard.stop_button.clicked.connect(self.stop)
        self.dashboard.open_button.clicked.connect(self.use_model)
        b = ctx.bridge
        b.progress.connect(lambda k, e: self._mine(k) and self.dashboard.on_progress(e))
        b.metrics.connect(self._metrics)
        b.preview.connect(lambda k, e: self._mine(k) and self.dashboard.on_preview(e))
        b.log.connect(lambda k, e: self._mine(k) and self.dashboard.log(e.level, e.text))
        b.rollback.connect(lambda k, e: self._mine(k) and self.dashboard.on_rollback(e))
        b.finished.connect(self._finished)
        b.failed.connect(self._failed)
        self.refresh()

    def _mine(self, key) -> bool:
        return key is not None and key == self.key

    def running(self) -> bool:
        return self.handle is not None and self.handle.final is None

    def refresh(self) -> None:
        self.about.setText(f"{describe(self.examples)}\n{self.examples}")
        self._buttons()

    def _buttons(self) -> None:
        d = self.dashboard
        d.start_button.setEnabled(not self.running() and sum(count(self.examples)) > 0)
        d.stop_button.setEnabled(self.running())
        d.open_button.setEnabled(bool(self.result.get("model")) and not self.running())

    # --------------------------------------------------------------- running
    def start(self, device: str = "") -> bool:
        if self.running() or not sum(count(self.examples)):
            return False
        request = FinetuneRequest(self.model, str(self.examples), minutes=self.minutes.value(),
                                  steps=self.steps.value(), mix=self.mix.value() / 100.0,
                                  lr_scale=self.lr_scale.value(), device=device)
        self.key = ("finetune", next(_ids))
        self.result = {}
        self.timeline.clear()
        self.dashboard.reset(self.windowTitle())
        self.dashboard.ensure_curves()
        self.dashboard.set_state("starting")
        self.handle = self.ctx.submit(in_process(finetune_run_job), request, self.key,
                                      title=self.windowTitle(), device=TRAIN_LANE)
        self._buttons()
        return True

    def stop(self) -> None:
        if self.running():
            self.handle.control.stop()
            self.dashboard.set_state("stopping")

    def use_model(self) -> None:
        if self.result.get("model"):
            self.ctx.use_model_requested.emit(self.result["model"])
            self.ctx.navigate_requested.emit("Restore")

    def _metrics(self, key, metrics) -> None:
        if not self._mine(key):
            return
        if self.dashboard.state == "starting":
            self.dashboard.set_state("running")
        self.dashboard.on_metrics(metrics)

    def _finished(self, key, event) -> None:
        if not self._mine(key):
            return
        self.result = event.result or {}
        self.dashboard.set_state(event.status)
        self.timeline.clear()
        parent = self.result.get("parent_psnr")
        if parent is not None:
            self.timeline.addItem(f"parent  ·  {parent:.2f} dB on your examples")
        for row in self.result.get("timeline", []):
            psnr = row.get("psnr")
            self.timeline.addItem(f"step {row['step']}  ·  "
                                  + (f"{psnr:.2f} dB" if psnr is not None else "not validated"))
        model = self.result.get("model")
        if model:
            self.dashboard.log("info", f"model '{model}' is in the library")
            self.ctx.status(f"Fine-tuned model '{model}' is in the library: Use this model "
                            "to restore with it.")
            self.ctx.models_changed.emit()
        self._buttons()
        self.run_finished.emit(self.result)

    def _failed(self, key, event) -> None:
        if self._mine(key):
            self.dashboard.set_state("failed", event.message)
            self._buttons()

    def closeEvent(self, event) -> None:
        if self.running() and not self.ctx.ask("Stop the fine-tune?",
                                               "The run stops after this step and keeps what "
                                               "it learned as a model."):
            event.ignore()
            return
        self.stop()
        super().closeEvent(event)
