"""The run form: every part of a training config (``training.config.RunConfig``) as widgets.

The form edits a raw config dict: ``set_raw(raw)`` shows one, ``values()``
gives it back with the widgets' values written in, keeping keys the form has
no widget for (watchdog, adversarial, ...). What it offers (presets,
architectures, degradation types, defaults) comes from
``desktop.train.jobs.catalog_job``, run off the UI thread.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from .losses import LossEditor
from .recipe import RecipeEditor
from .widgets import ComboBox, ImageBox, NumberEdit, SpinBox, inline, parse_inline, section

TASKS = ("denoise", "deblur", "super-resolution", "filter", "dense", "autoencode")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def get_path(raw: dict, path: str, default: Any = None) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(raw: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = raw
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}   # a saved form may hold anything here: the widget's value wins
        node = node[part]
    node[parts[-1]] = value


def read(w: QWidget) -> Any:
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QComboBox):
        data = w.currentData()
        return data if data is not None else w.currentText().strip()
    if isinstance(w, (QSpinBox, NumberEdit)):
        return w.value()
    return w.text().strip()


def write(w: QWidget, value: Any) -> None:
    """Show ``value`` in ``w``; raises ValueError when it cannot hold it (nothing changes)."""
    if isinstance(w, QComboBox) and not (value is None or isinstance(value, (str, int, float))):
        raise ValueError(f"{str(value)[:40]!r} is not a choice")
    if isinstance(w, QSpinBox):
        value = _whole_in(value or 0, w.minimum(), w.maximum())
    elif isinstance(w, NumberEdit):
        value = _finite(value or 0)
    w.blockSignals(True)
    if isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QComboBox):
        i = w.findData(value)
        if i < 0 and value not in (None, ""):
            w.addItem(str(value), value)
            i = w.count() - 1
        w.setCurrentIndex(max(i, 0))
    elif isinstance(w, (QSpinBox, NumberEdit)):
        w.setValue(value)
    else:
        w.setText("" if value is None else str(value))
    w.blockSignals(False)


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{str(value)[:40]!r} is not a number")
    return float(value)


def _whole_in(value: Any, lo: int, hi: int) -> int:
    """A whole number, clamped to the spin box's range as Qt would."""
    number = _finite(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(min(max(number, lo), hi))


def combo(items, editable: bool = False) -> QComboBox:
    box = ComboBox(editable=editable)
    for item in items:
        text, data = item if isinstance(item, tuple) else (item, item)
        box.addItem(text, data)
    return box


def spin(lo: int, hi: int) -> QSpinBox:
    box = SpinBox()
    box.setRange(lo, hi)
    return box


class RunForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw: dict = {}
        self.defaults: dict = {}
        self.archs: dict[str, dict] = {}
        self.bound: list[tuple[str, QWidget]] = []
        self.ready = False
        self.bad_fields: list[str] = []   # fields of the last set_raw that got their default
        self.forms: list[QFormLayout] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 14, 18)
        layout.setSpacing(6)
        self.layout_ = layout

        self.preset = ComboBox()
        self.preset.setToolTip("A built-in starting point; every field below can change")
        self.load_button = QToolButton(text="Load…", toolTip="Load a run config (TOML)")
        self.save_button = QToolButton(text="Save…", toolTip="Save this run config as TOML")
        row = QHBoxLayout()
        row.addWidget(self.preset, 1)
        row.addWidget(self.load_button)
        row.addWidget(self.save_button)
        self.loading = QLabel("Loading presets and architectures…", objectName="hint")
        layout.addWidget(section("Start from"))
        layout.addLayout(row)
        layout.addWidget(self.loading)

        f = self._section("Run")
        self.name = self._bind("name", QLineEdit())
        self.description = self._bind("description", QLineEdit())
        self.task = self._bind("task", combo(TASKS, editable=True))
        self.device = self._bind("device", combo(DEVICES))
        self.precision = self._bind("precision", combo(PRECISIONS))
        self.threads = self._bind("threads", spin(0, 1024))
        self.threads.setSpecialValueText("all cores but one")
        self.threads.setToolTip("CPU threads the run may use; by default one core stays free "
                                "so the window keeps answering")
        f.addRow("Name", self.name)
        f.addRow("Description", self.description)
        f.addRow("Task", self.task)
        f.addRow("Device", self._pair(self.device, QLabel("Precision"), self.precision))
        f.addRow("CPU threads", self.threads)

        f = self._section("Data")
        self.dataset = self._bind("data.dataset", combo([("Folder below", "")]))
        self.folder = self._bind("data.train", QLineEdit())
        self.folder.setPlaceholderText("A folder of clean images")
        self.browse = QToolButton(text="…", toolTip="Choose the folder of training images")
        self.kind = self._bind("data.kind", combo([("Clean images + degradation", "degrade"),
                                                   ("Input/target pairs", "paired")]))
        self.target = self._bind("data.target", QLineEdit())
        self.target.setPlaceholderText("Folder of targets (same file names)")
        self.crop = self._bind("data.crop", spin(8, 4096))
        self.batch = self._bind("data.batch", spin(1, 4096))
        self.scale = self._bind("data.scale", spin(1, 8))
        self.max_images = self._bind("data.max_images", spin(0, 10_000_000))
        self.max_images.setSpecialValueText("all")
        self.grey = self._bind("data.grey", QCheckBox("Greyscale"))
        f.addRow("Dataset", self.dataset)
        f.addRow("Folder", self._pair(self.folder, self.browse))
        f.addRow("Kind", self.kind)
        f.addRow("Targets", self.target)
        f.addRow("Crop", self._pair(self.crop, QLabel("Batch"), self.batch))
        f.addRow("Scale", self._pair(self.scale, QLabel("Max images"), self.max_images))
        f.addRow("", self.grey)

        layout.addWidget(section("Degradation"))
        self.recipe = RecipeEditor()
        self.pairs = ImageBox("Sample pairs (input | target) appear here", min_height=150)
        self.pairs_note = QLabel("", objectName="hint")
        self.pairs_note.setWordWrap(True)
        self.shuffle = QToolButton(text="Other samples", toolTip="Draw other crops and noise")
        self.seed = 0
        layout.addWidget(self.recipe)
        layout.addWidget(self.pairs)
        layout.addLayout(self._pair(self.pairs_note, self.shuffle))

        f = self._section("Model")
        self.arch = self._bind("model.arch", ComboBox())
        self.kwargs = QLineEdit()
        self.kwargs.setToolTip("Architecture options as an inline table, e.g. { depth = 4, width = 16 }")
        self.params_label = QLabel("", objectName="hint")
        f.addRow("Architecture", self.arch)
        f.addRow("Options", self.kwargs)
        f.addRow("", self.params_label)

        layout.addWidget(section("Loss"))
        self.losses = LossEditor()
        layout.addWidget(self.losses)

        f = self._section("Optimizer and schedule")
        self.optim = self._bind("optim.name", combo(("adam", "adamw")))
        self.lr = self._bind("optim.lr", NumberEdit())
        self.weight_decay = self._bind("optim.weight_decay", NumberEdit())
        self.grad_clip = self._bind("optim.grad_clip", NumberEdit())
        self.ema = self._bind("optim.ema", NumberEdit())
        self.steps = self._bind("schedule.steps", spin(0, 100_000_000))
        self.warmup = self._bind("schedule.warmup", spin(0, 100_000_000))
        self.decay = self._bind("schedule.decay", ComboBox())
        self.min_lr = self._bind("schedule.min_lr", NumberEdit())
        f.addRow("Optimizer", self._pair(self.optim, QLabel("lr"), self.lr))
        f.addRow("Weight decay", self._pair(self.weight_decay, QLabel("Clip"), self.grad_clip))
        f.addRow("EMA decay", self.ema)
        f.addRow("Steps", self._pair(self.steps, QLabel("Warmup"), self.warmup))
        f.addRow("Decay", self._pair(self.decay, QLabel("Min lr"), self.min_lr))

        f = self._section("Validation")
        self.val_every = self._bind("val.every", spin(0, 100_000_000))
        self.val_every.setSpecialValueText("at the end")
        self.val_count = self._bind("data.val_count", spin(0, 100_000))
        self.val_crop = self._bind("val.crop", spin(0, 4096))
        self.val_crop.setSpecialValueText("2 × crop")
        self.previews = self._bind("val.previews", spin(0, 64))
        self.y_channel = self._bind("val.y_channel", QCheckBox("PSNR/SSIM on luma (Y)"))
        self.ckpt_every = self._bind("checkpoint.every", spin(0, 100_000_000))
        self.ckpt_every.setSpecialValueText("at the end")
        f.addRow("Every", self._pair(self.val_every, QLabel("Images"), self.val_count))
        f.addRow("Crop", self._pair(self.val_crop, QLabel("Previews"), self.previews))
        f.addRow("", self.y_channel)
        f.addRow("Checkpoint", self.ckpt_every)
        self.error = QLabel("", objectName="error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        layout.addStretch(1)

        self.browse.clicked.connect(self.choose_folder)
        self.dataset.currentIndexChanged.connect(self._sync_enabled)
        self.kind.currentIndexChanged.connect(self._sync_enabled)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self.shuffle.clicked.connect(self._reshuffle)
        for sig in (self.recipe.changed, self.losses.changed, self.kwargs.textEdited):
            sig.connect(self._emit)
        self._sync_enabled()

    # ---------------------------------------------------------------- building
    def _section(self, title: str) -> QFormLayout:
        self.layout_.addWidget(section(title))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        self.layout_.addLayout(form)
        self.forms.append(form)
        return form

    def _bind(self, path: str, widget: QWidget) -> QWidget:
        self.bound.append((path, widget))
        for name in ("textEdited", "valueChanged", "toggled", "currentIndexChanged"):
            sig = getattr(widget, name, None)
            if sig is not None:
                sig.connect(self._emit)
        if isinstance(widget, QComboBox) and widget.isEditable():
            widget.editTextChanged.connect(self._emit)
        return widget

    @staticmethod
    def _pair(*widgets) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            row.addWidget(w, 0 if isinstance(w, (QLabel, QToolButton)) else 1)
        return row

    def _emit(self, *_args) -> None:
        if self.ready:
            self.changed.emit()

    def _sync_enabled(self, *_args) -> None:
        named = bool(self.dataset.currentData())
        self.folder.setEnabled(not named)
        self.browse.setEnabled(not named)
        paired = self.kind.currentData() == "paired"
        self.target.setEnabled(paired and not named)
        self.recipe.setEnabled(not paired)

    # ----------------------------------------------------------------- catalog
    def set_catalog(self, catalog: dict) -> None:
        """Fill the choices (off-thread results of catalog_job)."""
        self.defaults = catalog.get("defaults", {})
        self.archs = catalog["archs"]
        self.preset.blockSignals(True)
        self.preset.clear()
        for name, (description, _raw) in catalog["presets"].items():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.preset.blockSignals(False)
        self.arch.blockSignals(True)
        for arch_id, info in self.archs.items():
            self.arch.addItem(f"{arch_id} · {', '.join(info['tasks'])}", arch_id)
        self.arch.blockSignals(False)
        for d in catalog["decays"]:
            self.decay.addItem(d, d)
        self.recipe.set_types(catalog["degradations"])
        self.losses.set_names(catalog["losses"])
        self.loading.hide()

    def set_datasets(self, names: list[str]) -> None:
        current = self.dataset.currentData()
        self.dataset.blockSignals(True)
        while self.dataset.count() > 1:
            self.dataset.removeItem(1)
        for name in names:
            self.dataset.addItem(name, name)
        i = self.dataset.findData(current)
        self.dataset.setCurrentIndex(max(i, 0))
        if current and i < 0:
            write(self.dataset, current)
        self.dataset.blockSignals(False)
        self._sync_enabled()

    # ------------------------------------------------------------------ values
    def set_raw(self, raw: dict) -> None:
        """Show a raw config; a field it holds that the form cannot show gets its default
        (``self.bad_fields`` names them) and the rest still shows."""
        self.ready = False
        self.raw = copy.deepcopy(raw) if isinstance(raw, dict) else {}
        sections = sorted({path.split(".")[0] for path, _w in self.bound if "." in path})
        self.bad_fields = [part for part in sections   # e.g. "data": 5
                           if part in self.raw and not isinstance(self.raw[part], dict)]
        for path, w in self.bound:
            default = get_path(self.defaults, path)
            try:
                write(w, get_path(self.raw, path, default))
            except ValueError:
                self.bad_fields.append(path)
                try:
                    write(w, default)
                except ValueError:
                    pass
        target = get_path(self.raw, "data.target", "")
        if isinstance(target, list) and all(isinstance(t, str) for t in target):
            target = ", ".join(target)
        write(self.target, target if isinstance(target, str) else "")
        kwargs = get_path(self.raw, "model.kwargs", {}) or {}
        if not isinstance(kwargs, dict):
            self.bad_fields.append("model.kwargs")
            kwargs = {}
        self.kwargs.setText(inline(kwargs))
        self._update_kwargs_hint()
        steps = get_path(self.raw, "data.recipe", []) or []
        if not isinstance(steps, list) or not all(isinstance(st, dict) for st in steps):
            self.bad_fields.append("data.recipe")
            steps = [st for st in steps if isinstance(st, dict)] if isinstance(steps, list) else []
        self.recipe.set_steps(steps)
        if not self.losses.set_terms(get_path(self.raw, "loss", {"l1": 1.0})):
            self.bad_fields.append("loss")
            if not self.losses.terms:
                self.losses.set_terms(get_path(self.defaults, "loss") or {"l1": 1.0})
        self._sync_enabled()
        self.ready = True
        self.changed.emit()

    def values(self) -> dict:
        """The config as a raw dict; a field that cannot be read raises ValueError."""
        raw = copy.deepcopy(self.raw)
        for path, w in self.bound:
            set_path(raw, path, read(w))
        if self.kind.currentData() == "paired":
            parts = [p.strip() for p in self.target.text().split(",") if p.strip()]
            set_path(raw, "data.target", parts[0] if len(parts) == 1 else parts)
        text = self.kwargs.text().strip()
        kwargs = parse_inline(text) if text else {}
        if not isinstance(kwargs, dict):
            raise ValueError("architecture options must be a table, e.g. { width = 16 }")
        set_path(raw, "model.kwargs", kwargs)
        set_path(raw, "data.recipe", self.recipe.recipe())
        raw["loss"] = self.losses.value()
        return raw

    def load_file(self, path: str) -> None:
        """Show a TOML run config (relative paths resolve against its folder)."""
        from training.config import load_raw

        self.set_raw(load_raw(path))

    def save_file(self, path: str) -> None:
        """Write the config, checked and complete, as TOML."""
        from engine.atomic import write_text
        from training.config import RunConfig

        write_text(path, RunConfig.from_dict(self.values()).to_toml())

    def preview_key(self) -> tuple:
        return (tuple(inline(s) for s in self.recipe.recipe()), self.folder.text().strip(),
                self.dataset.currentData(), self.crop.value(), self.grey.isChecked(), self.seed)

    # ---------------------------------------------------------------- actions
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training images",
                                                  self.folder.text() or "")
        if folder:
            self.folder.setText(folder)
            self._emit()

    def _arch_changed(self, *_args) -> None:
        if self.ready:
            self.kwargs.setText("{}")   # the previous architecture's options do not apply
        self._update_kwargs_hint()
        self._emit()

    def _update_kwargs_hint(self) -> None:
        defaults = self.archs.get(self.arch.currentData(), {}).get("defaults", {})
        self.kwargs.setPlaceholderText(inline(defaults)[:200])

    def _reshuffle(self) -> None:
        self.seed += 1
        self._emit()
