"""Restore options: output scale, tiles, precision, strength, a classical method's knobs, and the
noise or blur level of models that take one."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget)

from .catalog import Choice

SCALES = (0, 1, 2, 3, 4)
# engine.postprocess.STEPS with their labels (kept here: the panel must not import the engine)
POST_STEPS = (("nlmeans", "Gentle denoise", "Two-stage NL-means: removes fine noise, keeps lines"),
              ("autocontrast", "Auto-contrast", "Stretch the histogram (same for every channel)"),
              ("dither", "Dither to 8 bits", "Triangular dither before 8-bit quantisation: no banding"))


# level-map models (engine.levels): range, default, step and unit of the sigma the user may give
LEVELS = {"noise": (0.0, 75.0, 25.0, 1.0, " /255"), "blur": (0.3, 3.5, 1.6, 0.1, " px")}
LEVEL_TIPS = {
    "noise": "Unticked, the model judges the noise itself (blind). Tick it and give the noise "
             "standard deviation on the 0-255 scale when you know it (e.g. from a flat patch).",
    "blur": "Unticked, the blur is estimated from the image's edges (blind). Tick it and give "
            "the Gaussian blur radius (sigma, pixels) when you know it: sharper results.",
}


def level_of(choice: Choice | None) -> str:
    """'noise' or 'blur' for models that take a level map, else ''."""
    if choice is None or choice.kind == "classical":
        return ""
    kwargs = choice.card.get("kwargs") if isinstance(choice.card.get("kwargs"), dict) else {}
    level = kwargs.get("level")
    return level if level in LEVELS else ""


class OptionsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setVerticalSpacing(8)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        self.scale = QComboBox(toolTip="Size of the result. Classical resizers use it directly; "
                                       "for other models the output is resampled to it.")
        self.scale.addItem("Model's own", 0)
        for s in SCALES[1:]:
            self.scale.addItem(f"×{s}", s)
        self.form.addRow("Output scale", self.scale)

        tile_row = QWidget()
        row = QHBoxLayout(tile_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.tile_mode = QComboBox(toolTip="Large images are processed in overlapping tiles. "
                                           "Auto sizes them from the memory budget.")
        self.tile_mode.addItem("Auto", "auto")
        self.tile_mode.addItem("Custom", "custom")
        self.tile_mode.setMinimumWidth(96)   # "Custom" and the arrow, with the theme's padding
        self.tile = QSpinBox(suffix=" px")
        self.tile.setRange(32, 8192)
        self.tile.setSingleStep(64)
        self.tile.setValue(512)
        self.tile.setEnabled(False)
        self.tile_mode.currentIndexChanged.connect(
            lambda: self.tile.setEnabled(self.tile_mode.currentData() == "custom"))
        row.addWidget(self.tile_mode)
        row.addWidget(self.tile, 1)
        self.form.addRow("Tiles", tile_row)

        self.precision = QComboBox(toolTip="auto: bf16 where the model's check measured it equal to "
                                           "fp32 and the hardware runs it natively; classical "
                                           "methods always run in fp32.")
        self.precision.addItem("auto", "auto")
        self.precision.addItem("fp32 (exact)", "fp32")
        self.precision.addItem("bf16 (fast)", "bf16")
        self.form.addRow("Precision", self.precision)
        self.backend = QComboBox(toolTip="What runs the net. Auto: the fastest that matched "
                                         "PyTorch's output when measured (once per model, on "
                                         "the first big image); the model card shows it.")
        for text, data in (("auto (fastest)", "auto"), ("PyTorch", "eager"),
                           ("ONNX Runtime", "onnxruntime"), ("OpenVINO", "openvino")):
            self.backend.addItem(text, data)
        self.form.addRow("Backend", self.backend)

        strength_row = QWidget()
        srow = QHBoxLayout(strength_row)
        srow.setContentsMargins(0, 0, 0, 0)
        self.strength = QSlider(Qt.Orientation.Horizontal, toolTip="Blend of the result over "
                                                                   "the input: 0 % keeps the input")
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength_label = QLabel("100 %")
        self.strength_label.setMinimumWidth(44)
        self.strength_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        srow.addWidget(self.strength, 1)
        srow.addWidget(self.strength_label)
        self.form.addRow("Strength", strength_row)

        post_box = QWidget(toolTip="Applied after the model, in this order (seed note 004)")
        post_col = QVBoxLayout(post_box)
        post_col.setContentsMargins(0, 0, 0, 0)
        post_col.setSpacing(2)
        self.post: dict[str, QCheckBox] = {}
        for name, label, tip in POST_STEPS:
            box = QCheckBox(label, toolTip=tip)
            box.toggled.connect(self.changed)
            post_col.addWidget(box)
            self.post[name] = box
        self.form.addRow("Post-process", post_box)

        self.method_rows: dict[str, QWidget] = {}
        for w in (self.scale, self.tile_mode, self.precision, self.backend):
            w.currentIndexChanged.connect(self.changed)
        self.tile.valueChanged.connect(self.changed)
        self.strength.valueChanged.connect(self.changed)

    # ---------------------------------------------------------------- state
    def set_choice(self, choice: Choice | None, saved: dict[str, Any] | None = None) -> None:
        """Show the options the chosen model takes (``saved``: its last method options)."""
        for name, widget in self.method_rows.items():
            self.form.removeRow(widget)
        self.method_rows = {}
        classical = choice is not None and choice.kind == "classical"
        self.precision.setEnabled(not classical)
        self.backend.setEnabled(not classical)
        if classical:
            self.precision.setCurrentIndex(0)
        saved = saved or {}
        level = level_of(choice)
        if level:
            self._add_level_row(level, saved)
        if choice is None or not classical:
            return
        for name, default in choice.defaults.items():
            if name == "scale" or isinstance(default, bool) or not isinstance(default, (int, float)):
                continue
            value = saved.get(name, default)
            if isinstance(default, int):
                box = QSpinBox()
                box.setRange(1, 999)
                if name in ("template", "search"):
                    box.setSingleStep(2)
                box.setValue(int(value))
            else:
                box = QDoubleSpinBox()
                box.setDecimals(3)
                box.setRange(0.0, 100.0)
                box.setSingleStep(0.01 if default < 0.2 else 0.1)
                box.setValue(float(value))
            box.setToolTip(f"{name} (default {default})")
            box.valueChanged.connect(self.changed)
            self.form.addRow(name.replace("_", " ").capitalize(), box)
            self.method_rows[name] = box

    def _add_level_row(self, level: str, saved: dict[str, Any]) -> None:
        """Sigma of a level-map model: blind (estimated) unless the user says what it is."""
        lo, hi, default, step, unit = LEVELS[level]
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        known = QCheckBox("Known:", toolTip=LEVEL_TIPS[level])
        box = QDoubleSpinBox(suffix=unit, decimals=1 if level == "noise" else 2)
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setValue(float(saved.get("sigma", default)))
        known.setChecked("sigma" in saved)
        box.setEnabled(known.isChecked())
        known.toggled.connect(box.setEnabled)
        known.toggled.connect(self.changed)
        box.valueChanged.connect(self.changed)
        line.addWidget(known)
        line.addWidget(box, 1)
        self.level_known, self.level_box = known, box
        self.form.addRow("Noise level" if level == "noise" else "Blur sigma", row)
        self.method_rows["sigma"] = row

    def method_options(self) -> dict[str, Any]:
        """Options of the chosen method; a classical method's own "sigma" (unsharp mask) is a
        spin box of its own, the level row of a level-map model is a box and a tick."""
        out = {}
        for name, widget in self.method_rows.items():
            if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                out[name] = widget.value()
            elif name == "sigma" and self.level_known.isChecked():
                out["sigma"] = self.level_box.value()
        return out

    def values(self) -> dict[str, Any]:
        return {
            "scale": int(self.scale.currentData()),
            "tile": self.tile.value() if self.tile_mode.currentData() == "custom" else 0,
            "precision": self.precision.currentData(),
            "backend": self.backend.currentData(),
            "strength": self.strength.value(),
            "post": [name for name, box in self.post.items() if box.isChecked()],
        }

    def load(self, settings) -> None:
        idx = self.scale.findData(int(settings.get("scale") or 0))
        self.scale.setCurrentIndex(max(idx, 0))
        tile = int(settings.get("tile") or 0)
        self.tile_mode.setCurrentIndex(1 if tile else 0)
        if tile:
            self.tile.setValue(tile)
        self.precision.setCurrentIndex(max(self.precision.findData(settings.get("precision")), 0))
        self.backend.setCurrentIndex(max(self.backend.findData(settings.get("backend")), 0))
        self.strength.setValue(int(settings.get("strength") if settings.get("strength") is not None else 100))
        post = settings.get("post") or []
        for name, box in self.post.items():
            box.setChecked(name in post)
