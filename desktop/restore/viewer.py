"""Before/after viewer: split, side by side, difference, blink, compare; a pixel readout."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from . import render_worker
from .compare_grid import CompareGrid, ShownCanvas
from .images import ImageLayer
from .modes import DifferenceRenderer, MessageRenderer, SingleRenderer, SplitRenderer
from .view import Canvas, ViewState

SYNC_PIXELS = 1 << 18   # images up to this many pixels convert at once (a few ms, no flicker)
MODES = {"split": "Split", "side": "Side", "difference": "Diff", "blink": "Blink",
         "compare": "Compare"}   # short: the bar must fit the viewer at 1280 px wide
MODE_TIPS = {
    "split": "Before left of the divider, after right; drag the divider (1)",
    "side": "Before and after next to each other, zoomed and panned together (2)",
    "difference": "Heatmap of how much each pixel changed (3)",
    "blink": "One image at a time; click again or press B to flip before/after",
    "compare": "2-4 panes zoomed together, each showing a source you pick; B blinks them (5)",
}


class Viewer(QWidget):
    mode_changed = Signal(str)
    compare_changed = Signal(object)   # the data of the chosen "Compare with" entry
    reference_requested = Signal()
    readout_changed = Signal(str)
    difference_failed = Signal(str)   # the heatmap worker's error, one line
    image_failed = Signal(str)        # the image worker's error, one line

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = ViewState(self)
        self.mode = "split"
        self.message = ""
        self.showing_before = False  # blink mode
        self.before_layer: ImageLayer | None = None
        self.after_layer: ImageLayer | None = None
        self.depth_max = 255
        self._diff: tuple[ImageLayer, float] | None = None
        self._diff_token = 0              # bumped per image pair; older results are dropped
        self._diff_pending = False
        self.diff_error = ""
        self._diff_signals = render_worker.DifferenceSignals(self)
        self._diff_signals.done.connect(self._difference_done)
        self._diff_signals.failed.connect(self._difference_failed)
        self._layer_token = 0             # bumped per set_images; older conversions are dropped
        self._layer_slots: list = []      # the requested layers; None where still converting
        self.layers_pending = False
        self._layer_slots_missing: list[int] = []
        self.image_error = ""
        self._layer_signals = render_worker.LayerSignals(self)
        self._layer_signals.done.connect(self._layers_done)
        self._layer_signals.failed.connect(self._layers_failed)
        self.split = SplitRenderer(None, None)

        self.canvas_a = Canvas(self.state)
        self.canvas_b = ShownCanvas(self.state)   # hidden but in split mode: must not refit
        self.canvas_b.hide()
        self.grid = CompareGrid(self.state, SYNC_PIXELS)   # the compare mode's panes
        self.grid.hide()
        self.grid.difference_failed.connect(self.difference_failed)
        self.grid.image_failed.connect(self.image_failed)
        self._compare_count = 0
        self._refit_soon = QTimer(self, singleShot=True, interval=0)   # dies with the viewer
        self._refit_soon.timeout.connect(self._refit)
        for canvas in (self.canvas_a, self.canvas_b, self.grid):
            canvas.hovered.connect(self._hover)
            canvas.left.connect(lambda: self._set_readout(""))

        bar = QWidget(objectName="viewerBar")
        top = QHBoxLayout(bar)
        top.setContentsMargins(8, 4, 8, 4)
        top.setSpacing(2)
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QToolButton] = {}
        for key, text in MODES.items():
            b = QToolButton(text=text, checkable=True, toolTip=MODE_TIPS[key])
            b.clicked.connect(lambda _=False, k=key: self._mode_clicked(k))
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            self.mode_group.addButton(b)
            self.mode_buttons[key] = b
            top.addWidget(b)
        top.addStretch(1)
        self.fit_button = QToolButton(text="Fit", toolTip="Zoom to fit (Ctrl+0)")
        self.fit_button.clicked.connect(self.fit)
        self.one_button = QToolButton(text="1:1", toolTip="Actual pixels (Ctrl+1)")
        self.one_button.clicked.connect(self.one_to_one)
        out_b = QToolButton(text="−", toolTip="Zoom out (Ctrl+-)")
        out_b.clicked.connect(lambda: self.zoom_by(1 / 1.25))
        in_b = QToolButton(text="+", toolTip="Zoom in (Ctrl++)")
        in_b.clicked.connect(lambda: self.zoom_by(1.25))
        self.zoom_label = QLabel("100%", objectName="hint")
        self.zoom_label.setMinimumWidth(44)
        for b in (out_b, in_b):
            b.setFixedWidth(28)   # one character: no need for the padding of a word
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.fit_button, self.one_button, out_b, self.zoom_label, in_b):
            w.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            top.addWidget(w)
        top.addSpacing(4)
        self.reference_button = QToolButton(
            text="Ref…", toolTip="Compare the result and the input with a clean reference "
                                 "image (PSNR, SSIM)")
        self.reference_button.clicked.connect(self.reference_requested)
        self.reference_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        top.addWidget(self.reference_button)

        area = QWidget()
        canvases = QHBoxLayout(area)
        canvases.setContentsMargins(0, 0, 0, 0)
        canvases.setSpacing(2)
        canvases.addWidget(self.canvas_a)
        canvases.addWidget(self.canvas_b)
        canvases.addWidget(self.grid)

        info = QWidget(objectName="infoBar")
        bottom = QHBoxLayout(info)
        bottom.setContentsMargins(10, 3, 10, 3)
        self.readout = QLabel("", objectName="readout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metrics_label = QLabel("", objectName="hint")
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.size_label = QLabel("", objectName="hint")
        self.compare_label = QLabel("Compare with", objectName="hint")
        self.compare_box = QComboBox(toolTip="Show this result next to the input, or next to "
                                             "another model's result for the same image")
        self.compare_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compare_box.activated.connect(
            lambda i: self.compare_changed.emit(self.compare_box.itemData(i)))
        bottom.addWidget(self.readout, 1)
        bottom.addWidget(self.metrics_label)
        bottom.addSpacing(12)
        for w in (self.compare_label, self.compare_box):
            bottom.addWidget(w)
            w.hide()
        bottom.addSpacing(12)
        bottom.addWidget(self.size_label)
        self.info_layout = bottom   # where other tools add their buttons (marking.py)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(area, 1)
        layout.addWidget(info)
        self.state.changed.connect(self._update_zoom_label)
        self._apply_mode()

    # ------------------------------------------------------------------ images
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None = None,
                   bit_depth: int = 8, keep_view: bool = False,
                   labels: tuple[str, str] = ("Before", "After"),
                   sources: list | None = None) -> None:
        """Show an input and (optionally) its result; the scene is the result's pixel grid.

        ``labels`` name the two sides (another model's result can stand for "Before").
        ``sources`` ((text, key, pixels) each) are what the compare panes offer; None keeps
        those they have."""
        self.depth_max = 65535 if bit_depth == 16 else 255
        self._diff = None
        self._diff_token += 1
        self._diff_pending = False
        self.diff_error = ""
        self._layer_token += 1
        self.layers_pending = False
        self._set_readout("")
        scene = after if after is not None else before
        if sources is not None or scene is None:
            self.grid.set_sources(sources or [])
        self.grid.depth_max = self.depth_max
        if scene is None:
            self.before_layer = self.after_layer = None
            self.state.scene = QSize(0, 0)
            self._apply_mode()
            self.size_label.setText("")
            return
        sh, sw = scene.shape[:2]
        self._prepare_layers([(before, sw / before.shape[1], labels[0]) if before is not None
                              else None, (after, 1.0, labels[1]) if after is not None else None])
        old = QSize(self.state.scene)
        if not keep_view or old != QSize(sw, sh):
            self.state.fitted = True
        self.state.set_scene(QSize(sw, sh), self._view_size())
        text = f"{before.shape[1]}×{before.shape[0]}" if before is not None else ""
        if after is not None and before is not None and after.shape[:2] != before.shape[:2]:
            text += f" → {sw}×{sh}" if labels[0] == "Before" else f" vs {sw}×{sh}"
        self.size_label.setText(text)
        self._apply_mode()

    def _prepare_layers(self, wanted: list) -> None:
        """Layers for (pixels, scale, label) requests: those of arrays already shown are reused,
        small ones are converted at once, big ones on a worker (the UI never waits on them)."""
        shown = [layer for layer in (self.before_layer, self.after_layer) if layer is not None]
        slots, missing = [], []
        for i, want in enumerate(wanted):
            layer = None
            if want is not None:
                pixels, scale, label = want
                same = next((s for s in shown if s.pixels is pixels), None)
                if same is not None:
                    layer = same if (same.scale, same.label) == (scale, label) \
                        else same.relabelled(scale, label)
                elif pixels.shape[0] * pixels.shape[1] <= SYNC_PIXELS:
                    layer = ImageLayer(pixels, scale, label)
                else:
                    missing.append((i, want))
            slots.append(layer)
        self.before_layer, self.after_layer = slots
        self._layer_slots = slots
        self.image_error = ""
        if missing:
            self.layers_pending = True
            self.message = "Preparing the image…"
            self._layer_slots_missing = [i for i, _ in missing]
            render_worker.start_layers(self._layer_token, [w for _, w in missing],
                                       self._layer_signals)

    def _layers_done(self, token: int, layers: list) -> None:
        if token != self._layer_token:
            return  # superseded by newer images
        for i, layer in zip(self._layer_slots_missing, layers):
            self._layer_slots[i] = layer
        self.layers_pending = False
        self.before_layer, self.after_layer = self._layer_slots
        self._apply_mode()

    def _layers_failed(self, token: int, message: str) -> None:
        if token != self._layer_token:
            return
        self.layers_pending = False
        self.image_error = self.message = f"Could not show the image: {message}"
        self.before_layer = self.after_layer = None   # so the message shows, not half a pair
        self.image_failed.emit(self.image_error)
        self._apply_mode()

    def set_compare_choices(self, choices: list[tuple[str, object]],
                            current: object = None) -> None:
        """Entries of "Compare with" as (text, data); hidden when there is only one or none."""
        box = self.compare_box
        box.blockSignals(True)
        box.clear()
        for text, data in choices:
            box.addItem(text, data)
        box.setCurrentIndex(max(box.findData(current), 0))
        box.blockSignals(False)
        self._compare_count = len(choices)
        self._show_compare_box()

    def _show_compare_box(self) -> None:
        for w in (self.compare_label, self.compare_box):   # the compare panes have their own
            w.setVisible(self._compare_count > 1 and self.mode != "compare")

    def labels(self) -> tuple[str, str]:
        """What the two sides are called now."""
        return (self.before_layer.label if self.before_layer else "",
                self.after_layer.label if self.after_layer else "")

    def has_result(self) -> bool:
        return self.after_layer is not None

    def clear(self, message: str = "") -> None:
        """No picture; ``message`` says why (loading, or what went wrong)."""
        self.message = message
        self.set_images(None, None)
        self.set_metrics_text("")

    def set_metrics_text(self, text: str) -> None:
        self.metrics_label.setText(text)

    # ------------------------------------------------------------------- modes
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown viewer mode {mode!r}")
        changed = mode != self.mode
        self.mode = mode
        self._apply_mode()
        if changed:
            self.mode_changed.emit(mode)

    def _mode_clicked(self, mode: str) -> None:
        if mode == "blink" and self.mode == "blink":
            self.toggle_blink()  # the Blink button flips, like B
        else:
            self.set_mode(mode)

    def toggle_blink(self) -> None:
        if self.mode != "blink":
            self.showing_before = True
            self.set_mode("blink")
            return
        self.showing_before = not self.showing_before
        self._apply_mode()

    def difference_layer(self) -> tuple[ImageLayer, float] | None:
        """The heatmap layer and its peak, computed here (blocking) if the worker has not yet."""
        if self._diff is None and self.after_layer is not None and self.before_layer is not None:
            self._diff = render_worker.difference_layer(self.before_layer.pixels,
                                                        self.after_layer.pixels)
        return self._diff

    def _request_difference(self) -> None:
        """Start the heatmap on a pool thread once per image pair; the UI stays responsive."""
        if self._diff is not None or self._diff_pending or self.diff_error \
                or self.after_layer is None or self.before_layer is None:
            return
        self._diff_pending = True
        render_worker.start_difference(self._diff_token, self.before_layer.pixels,
                                       self.after_layer.pixels, self._diff_signals)

    def _difference_done(self, token: int, layer: ImageLayer, peak: float) -> None:
        if token != self._diff_token:
            return  # superseded by newer images
        self._diff_pending = False
        self._diff = (layer, peak)
        if self.mode == "difference":
            self._apply_mode()

    def _difference_failed(self, token: int, message: str) -> None:
        if token != self._diff_token:
            return
        self._diff_pending = False
        self.diff_error = f"Difference failed: {message}"
        self.difference_failed.emit(self.diff_error)
        if self.mode == "difference":
            self._apply_mode()

    def _apply_mode(self) -> None:
        result = self.after_layer is not None
        self.mode_group.setExclusive(False)   # so that none is checked while there is no result
        for key, button in self.mode_buttons.items():
            button.setEnabled(result)
            button.setChecked(result and key == self.mode)
        self.mode_group.setExclusive(True)
        self.canvas_b.setVisible(result and self.mode == "side")
        grid = result and self.mode == "compare"
        if grid != self.grid.isVisibleTo(self):   # other canvases now: refit once laid out
            self._refit_soon.start()
        self.canvas_a.setVisible(not grid)
        self.grid.setVisible(grid)
        self._show_compare_box()
        if not result:
            if self.before_layer is None:
                self.canvas_a.set_renderer(MessageRenderer(self.message))
                return
            self.message = ""
            self.canvas_a.set_renderer(SingleRenderer(self.before_layer, "Input"))
            return
        if self.mode == "split":
            self.split.before, self.split.after = self.before_layer, self.after_layer
            self.canvas_a.set_renderer(self.split)
        elif self.mode == "side":
            before, after = self.labels()
            self.canvas_a.set_renderer(SingleRenderer(self.before_layer, before))
            self.canvas_b.set_renderer(SingleRenderer(self.after_layer, after))
        elif self.mode == "compare":
            self.grid.busy = self.layers_pending   # its layers would be converted twice
            self.grid.adopt((self.before_layer, self.after_layer))
            self.grid.refresh()
        elif self.mode == "difference":
            self._request_difference()
            layer, peak = self._diff or (None, 1.0)
            note = self.diff_error or ("" if layer else "Computing difference…")
            self.canvas_a.set_renderer(DifferenceRenderer(layer, peak, self.depth_max, note))
        else:
            layer = self.before_layer if self.showing_before else self.after_layer
            label = self.labels()[0 if self.showing_before else 1] + "  ·  B to flip"
            self.canvas_a.set_renderer(SingleRenderer(layer, label))

    def canvases(self) -> list:
        """Every canvas that shows the image: split/side's two and the compare panes'."""
        return [self.canvas_a, self.canvas_b] + [p.canvas for p in self.grid.panes]

    # -------------------------------------------------------------------- zoom
    def _view_size(self) -> QSize:
        """The size of the canvas the view is fitted to (the first pane in compare mode)."""
        return (self.grid.panes[0].canvas.size() if self.grid.isVisible()
                else self.canvas_a.size())

    def fit(self) -> None:
        self.state.fit(self._view_size())

    def _refit(self) -> None:
        if self.state.fitted:
            self.fit()

    def one_to_one(self) -> None:
        self.state.set_zoom(1.0)

    def zoom_by(self, factor: float) -> None:
        self.state.set_zoom(self.state.zoom * factor)

    def _update_zoom_label(self) -> None:
        self.zoom_label.setText(f"{self.state.zoom * 100:.0f}%")

    # ----------------------------------------------------------------- readout
    def _fmt(self, v: np.ndarray | None) -> str:
        if v is None:
            return "–"
        return " ".join(f"{round(float(c) * self.depth_max):>{5 if self.depth_max > 255 else 3}d}"
                        for c in v)

    def readout_at(self, x: float, y: float) -> str:
        layer = self.after_layer or self.before_layer
        if layer is None or x < 0 or y < 0 or x >= self.state.scene.width() \
                or y >= self.state.scene.height():
            return ""
        if self.grid.isVisible():   # up to 4 panes: a compact line
            return "  ".join([f"{int(x)},{int(y)}"] + self.grid.readout(x, y, self._fmt))
        parts = [f"x {int(x):>4d}  y {int(y):>4d}"]
        if self.before_layer is not None:
            bx, by = int(x // self.before_layer.scale), int(y // self.before_layer.scale)
            where = f" ({bx}, {by})" if self.before_layer.scale != 1 else ""
            parts.append(f"before{where} {self._fmt(self.before_layer.value_at(x, y))}")
        if self.after_layer is not None:
            parts.append(f"after {self._fmt(self.after_layer.value_at(x, y))}")
        return "    ".join(parts)

    def _hover(self, x: float, y: float) -> None:
        self._set_readout(self.readout_at(x, y))

    def _set_readout(self, text: str) -> None:
        self.readout.setText(text)
        self.readout_changed.emit(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = {Qt.Key.Key_1: "split", Qt.Key.Key_2: "side", Qt.Key.Key_3: "difference",
                Qt.Key.Key_4: "blink", Qt.Key.Key_5: "compare"}
        if event.key() == Qt.Key.Key_B and self.mode == "compare" and self.has_result():
            self.grid.blink()
        elif event.key() == Qt.Key.Key_B and self.has_result():
            self.toggle_blink()
        elif event.key() in keys and self.has_result() and not event.modifiers():
            self.set_mode(keys[event.key()])
        else:
            super().keyPressEvent(event)
