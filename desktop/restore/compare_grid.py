"""The viewer's Compare mode: 2-4 panes (2x1, 3x1, 2x2) zoomed and panned together.

Each pane shows one *source* picked in its own dropdown: the input, the current
result, or another result of the same image (the page's "Compare with" list).
Any pane but the first can instead show |its source - pane 1's source| as a
heatmap. Blink (B) cycles the image panes' sources in place, so one spot of
the picture flips between, say, two models' results.

All panes share the viewer's :class:`~.view.ViewState`. Layers and heatmaps
come from :mod:`.render_worker` on pool threads (a small image converts at
once); every request is checked against the sources shown now when it comes
back, so a stale one never paints.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from . import render_worker
from .images import ImageLayer
from .modes import DifferenceRenderer, MessageRenderer, SingleRenderer, paint_layer
from .overlay import draw_labels, draw_legend
from .view import Canvas, ViewState

LAYOUTS = {2: "2 panes", 3: "3 panes", 4: "2×2"}
CELLS = {2: [(0, 0), (0, 1)], 3: [(0, 0), (0, 1), (0, 2)], 4: [(0, 0), (0, 1), (1, 0), (1, 1)]}
_tokens = itertools.count(1)


@dataclass(frozen=True)
class Source:
    text: str        # as the dropdown names it
    key: object      # the page's id for it (0: the input, else a queue row's id)
    pixels: np.ndarray


def _fit_label(painter, text: str, width: float, mode=Qt.TextElideMode.ElideRight) -> str:
    """``text`` shortened with … to fit a pane's label pill (model names can be long)."""
    return painter.fontMetrics().elidedText(text, mode, max(int(width) - 56, 24))


class PaneImage(SingleRenderer):
    """One source in a pane, its label shortened to the pane's width."""

    def paint(self, painter, canvas) -> None:
        paint_layer(painter, canvas, self.layer)
        draw_labels(painter, canvas.width(), _fit_label(painter, self.label, canvas.width()))


class PaneHeatmap(DifferenceRenderer):
    """|source - pane 1's source| in a pane: the difference mode's heatmap and legend; the
    label ("|this − that|") shortened in the middle, so both names keep their ends."""

    def paint(self, painter, canvas) -> None:
        paint_layer(painter, canvas, self.layer)
        draw_labels(painter, canvas.width(), _fit_label(painter, self.note, canvas.width(),
                                                        Qt.TextElideMode.ElideMiddle))
        draw_legend(painter, canvas.width(), canvas.height(), self.peak, self.depth_max,
                    title="|difference| (levels)")


class ShownCanvas(Canvas):
    """A canvas that refits the shared view only while it is shown: a hidden canvas's resize
    (a grab sends the pending ones too) must not zoom the canvases that are visible."""

    def resizeEvent(self, event) -> None:
        if self.isVisible():
            super().resizeEvent(event)
        else:
            QWidget.resizeEvent(self, event)


class Pane(QWidget):
    """One cell: its number, its source dropdown, the heatmap switch, and a canvas."""

    def __init__(self, number: int, state: ViewState) -> None:
        super().__init__()
        self.number = number
        self.combo = QComboBox(toolTip=f"What pane {number} shows")
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.heat_button = QToolButton(text="Δ", checkable=True,
                                       toolTip="Show this pane as a heatmap of "
                                               "|this source − pane 1's source|")
        self.heat_button.setEnabled(number > 1)   # pane 1 is what the heatmaps compare with
        self.canvas = ShownCanvas(state)
        self.canvas.setMinimumSize(80, 80)
        head = QHBoxLayout()
        head.setContentsMargins(4, 2, 4, 2)
        head.setSpacing(4)
        head.addWidget(QLabel(str(number), objectName="hint"))
        head.addWidget(self.combo, 1)
        head.addWidget(self.heat_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addLayout(head)
        box.addWidget(self.canvas, 1)

    def choice(self) -> object:
        return self.combo.currentData()


class CompareGrid(QWidget):
    hovered = Signal(float, float)      # scene coords under the cursor, in any pane
    left = Signal()
    difference_failed = Signal(str)     # a heatmap worker's error, one line
    image_failed = Signal(str)          # a layer worker's error, one line

    def __init__(self, state: ViewState, sync_pixels: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.sync_pixels = sync_pixels   # images up to this many pixels convert at once
        self.sources: list[Source] = []
        self.depth_max = 255
        self.chosen_count: int | None = None   # None: as many panes as sources (2 to 4)
        self.blink_step = 0
        self.busy = False                # the viewer is still preparing its own layers
        self._layers: dict[int, ImageLayer] = {}          # id(pixels) -> layer
        self._converting: set[int] = set()                # id(pixels) on a worker now
        self._layer_errors: dict[int, str] = {}
        self._heat: dict[tuple[int, int], tuple[ImageLayer, float]] = {}
        self._heat_wait: dict[int, tuple] = {}            # token -> (pair, a pixels, b pixels)
        self._heat_errors: dict[tuple[int, int], str] = {}
        self._layer_signals = render_worker.LayerSignals(self)
        self._layer_signals.done.connect(self._layers_done)
        self._layer_signals.failed.connect(self._layers_failed)
        self._layer_wait: dict[int, list[np.ndarray]] = {}   # token -> the pixels asked for
        self._diff_signals = render_worker.DifferenceSignals(self)
        self._diff_signals.done.connect(self._heat_done)
        self._diff_signals.failed.connect(self._heat_failed)

        self.layout_box = QComboBox(toolTip="How many panes")
        for n, text in LAYOUTS.items():
            self.layout_box.addItem(text, n)
        self.layout_box.activated.connect(
            lambda i: self.set_count(self.layout_box.itemData(i)))
        self.blink_button = QToolButton(text="Blink", toolTip="Cycle the image panes' "
                                                              "sources in place (B)")
        self.blink_button.clicked.connect(self.blink)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.layout_box)
        bar.addWidget(self.blink_button)
        bar.addStretch(1)
        self.panes = [Pane(n + 1, state) for n in range(4)]
        for pane in self.panes:
            pane.combo.activated.connect(self._chosen)
            pane.heat_button.toggled.connect(self._chosen)
            pane.canvas.hovered.connect(self.hovered)
            pane.canvas.left.connect(self.left)
        self.cells = QGridLayout()
        self.cells.setContentsMargins(0, 0, 0, 0)
        self.cells.setSpacing(2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addLayout(bar)
        outer.addLayout(self.cells, 1)
        self._place()

    # ------------------------------------------------------------- sources
    def set_sources(self, sources: list[tuple[str, object, np.ndarray]]) -> None:
        """What the dropdowns offer, as (text, key, pixels); the panes keep their picks if the
        list is the same one (else pane i shows source i). Layers and heatmaps of pixels no
        longer offered are dropped. Nothing is converted until :meth:`refresh` (the viewer
        calls it once its own layers, which the panes adopt, are under way)."""
        before = [s.key for s in self.sources]
        self.sources = [Source(*s) for s in sources]
        picks = [p.choice() for p in self.panes]
        keys = [s.key for s in self.sources]
        for i, pane in enumerate(self.panes):
            pane.combo.clear()
            for s in self.sources:
                pane.combo.addItem(s.text, s.key)
            if self.sources:
                keep = picks[i] if keys == before else keys[i % len(keys)]
                pane.combo.setCurrentIndex(keys.index(keep))
        live = {id(s.pixels) for s in self.sources}
        for table in (self._layers, self._layer_errors):
            for k in [k for k in table if k not in live]:
                del table[k]
        for table in (self._heat, self._heat_errors):
            for k in [k for k in table if not set(k) <= live]:
                del table[k]
        self.blink_step = 0
        self._place()

    def adopt(self, layers) -> None:
        """Layers the viewer already made (the input, the result): not converted twice."""
        live = {id(s.pixels) for s in self.sources}
        for layer in layers:
            if layer is not None and id(layer.pixels) in live:
                self._layers.setdefault(id(layer.pixels), layer)

    def count(self) -> int:
        return self.chosen_count or min(max(len(self.sources), 2), 4)

    def set_count(self, n: int) -> None:
        if n not in LAYOUTS:
            raise ValueError(f"the compare grid has 2, 3 or 4 panes, not {n!r}")
        self.chosen_count = n
        self.blink_step = 0
        self._place()
        self.refresh()

    def _place(self) -> None:
        n = self.count()
        self.layout_box.setCurrentIndex(self.layout_box.findData(n))
        for pane in self.panes:
            self.cells.removeWidget(pane)
        for i, pane in enumerate(self.panes):
            pane.setVisible(i < n)
            if i < n:
                self.cells.addWidget(pane, *CELLS[n][i])
        for r in range(2):
            self.cells.setRowStretch(r, 1 if n == 4 or r == 0 else 0)
        for c in range(3):
            self.cells.setColumnStretch(c, 1 if c < (2 if n == 4 else n) else 0)

    def _chosen(self, *_args) -> None:
        self.blink_step = 0   # a new pick shows as picked
        self.refresh()

    def source_of(self, key: object) -> Source | None:
        return next((s for s in self.sources if s.key == key), None)

    def shown(self) -> list[tuple[Source | None, bool]]:
        """Per visible pane: the source it shows now (blink applied) and whether as a heatmap."""
        panes = self.panes[:self.count()]
        heat = [p.number > 1 and p.heat_button.isChecked() for p in panes]
        picks = [self.source_of(p.choice()) for p in panes]
        images = [i for i, h in enumerate(heat) if not h]
        shown = list(picks)
        for j, i in enumerate(images):   # blink: each image pane shows the next one's pick
            shown[i] = picks[images[(j + self.blink_step) % len(images)]]
        return list(zip(shown, heat))

    def blink(self) -> None:
        """Cycle the image panes' sources one step (heatmap panes stay as they are)."""
        self.blink_step += 1
        self.refresh()

    # ------------------------------------------------------------- painting
    def refresh(self) -> None:
        """Give every visible pane its renderer; start the layers and heatmaps still missing."""
        if not self.isVisible():
            return
        missing: list[np.ndarray] = []
        reference = self.source_of(self.panes[0].choice())
        blinking = self.blink_step % max(1, sum(not h for _s, h in self.shown())) != 0
        for pane, (source, heat) in zip(self.panes, self.shown()):
            if source is None:
                renderer = MessageRenderer("Nothing to show")
            elif self.busy:
                renderer = MessageRenderer("Preparing the image…")
            elif heat:
                renderer = self._heat_renderer(reference, source)
            else:
                layer = self._layer(source, missing)
                error = self._layer_errors.get(id(source.pixels))
                label = source.text + ("  ·  B" if blinking else "")
                renderer = (MessageRenderer(error) if error else
                            PaneImage(layer, label) if layer is not None else
                            MessageRenderer("Preparing the image…"))
            pane.canvas.set_renderer(renderer)
        if missing:
            token = next(_tokens)
            self._layer_wait[token] = missing
            self._converting.update(id(p) for p in missing)
            render_worker.start_layers(token, [(p, self._scale(p), "") for p in missing],
                                       self._layer_signals)

    def _scale(self, pixels: np.ndarray) -> float:
        """Scene pixels per image pixel (the scene is the current result's grid)."""
        return self.state.scene.width() / max(pixels.shape[1], 1)

    def _layer(self, source: Source, missing: list) -> ImageLayer | None:
        """The source's layer at the scene's scale, or None (then it is asked for)."""
        layer = self._layers.get(id(source.pixels))
        if layer is None:
            if id(source.pixels) in self._converting or id(source.pixels) in self._layer_errors:
                return None
            if source.pixels.shape[0] * source.pixels.shape[1] > self.sync_pixels:
                if not any(p is source.pixels for p in missing):
                    missing.append(source.pixels)
                return None
            layer = self._layers[id(source.pixels)] = ImageLayer(source.pixels)
        scale = self._scale(source.pixels)
        if (layer.scale, layer.label) != (scale, source.text):
            layer = self._layers[id(source.pixels)] = layer.relabelled(scale, source.text)
        return layer

    def _heat_renderer(self, reference: Source | None, source: Source) -> PaneHeatmap:
        if reference is None:
            return PaneHeatmap(None, 1.0, self.depth_max, "Pane 1 shows nothing")
        pair = self._pair(reference, source)
        if pair in self._heat_errors:
            return PaneHeatmap(None, 1.0, self.depth_max, self._heat_errors[pair])
        found = self._heat.get(pair)
        if found is None:
            self._request_heat(pair, reference.pixels, source.pixels)
            return PaneHeatmap(None, 1.0, self.depth_max, "Computing difference…")
        layer, peak = found
        scale = self.state.scene.width() / max(layer.width, 1)
        if layer.scale != scale:
            layer = layer.relabelled(scale, layer.label)
            self._heat[pair] = (layer, peak)
        return PaneHeatmap(layer, peak, self.depth_max, f"|{source.text} − {reference.text}|")

    @staticmethod
    def _pair(a: Source, b: Source) -> tuple[int, int]:
        return tuple(sorted((id(a.pixels), id(b.pixels))))

    def _request_heat(self, pair, a: np.ndarray, b: np.ndarray) -> None:
        if any(w[0] == pair for w in self._heat_wait.values()):
            return   # under way
        if a.shape[0] * a.shape[1] > b.shape[0] * b.shape[1]:
            a, b = b, a   # |a - b| is symmetric: compare on the larger grid, never shrink one
        token = next(_tokens)
        self._heat_wait[token] = (pair, a, b)
        render_worker.start_difference(token, a, b, self._diff_signals)

    def difference(self, pane: int) -> tuple[ImageLayer, float] | None:
        """The heatmap (layer, peak) pane ``pane`` (0-based) shows, once it is there."""
        renderer = self.panes[pane].canvas.renderer
        if isinstance(renderer, DifferenceRenderer) and renderer.layer is not None:
            return renderer.layer, renderer.peak
        return None

    # -------------------------------------------------------- worker results
    def _live(self, *arrays: np.ndarray) -> bool:
        """Are these exact arrays still among the sources? (Else the result is stale.)"""
        return all(any(s.pixels is a for s in self.sources) for a in arrays)

    def _layers_done(self, token: int, layers: list) -> None:
        asked = self._layer_wait.pop(token, [])
        for pixels, layer in zip(asked, layers):
            self._converting.discard(id(pixels))
            if self._live(pixels):
                self._layers[id(pixels)] = layer
        self.refresh()

    def _layers_failed(self, token: int, message: str) -> None:
        asked = self._layer_wait.pop(token, [])
        text = f"Could not show the image: {message}"
        for pixels in asked:
            self._converting.discard(id(pixels))
            if self._live(pixels):
                self._layer_errors[id(pixels)] = text
        if asked:
            self.image_failed.emit(text)
        self.refresh()

    def _heat_done(self, token: int, layer: ImageLayer, peak: float) -> None:
        pair, a, b = self._heat_wait.pop(token, (None, None, None))
        if pair is not None and self._live(a, b):
            self._heat[pair] = (layer, peak)
            self.refresh()

    def _heat_failed(self, token: int, message: str) -> None:
        pair, a, b = self._heat_wait.pop(token, (None, None, None))
        if pair is not None and self._live(a, b):
            self._heat_errors[pair] = text = f"Difference failed: {message}"
            self.difference_failed.emit(text)
            self.refresh()

    # -------------------------------------------------------------- readout
    def readout(self, x: float, y: float, fmt) -> list[str]:
        """"<pane> <values>" for every visible pane at scene point (x, y); a heatmap pane
        gives the mean |difference| of its two sources there, in the same levels."""
        reference = self.source_of(self.panes[0].choice())
        parts = []
        for pane, (source, heat) in zip(self.panes, self.shown()):
            if source is None:
                continue
            v = self._value(source, x, y)
            if heat and reference is not None:
                r = self._value(reference, x, y)
                d = None if v is None or r is None else \
                    float(np.mean(np.abs(_colour(v) - _colour(r)))) * self.depth_max
                parts.append(f"Δ{pane.number} " + ("–" if d is None else f"{d:.0f}"))
            else:
                parts.append(f"{pane.number}:{fmt(v)}")
        return parts

    def _value(self, source: Source, x: float, y: float) -> np.ndarray | None:
        s = self._scale(source.pixels)
        px, py = int(x // s), int(y // s)
        h, w = source.pixels.shape[:2]
        return np.atleast_1d(source.pixels[py, px]) if 0 <= px < w and 0 <= py < h else None


def _colour(v: np.ndarray) -> np.ndarray:
    """A pixel's colour channels (alpha dropped)."""
    v = np.asarray(v, np.float32)
    return v[:-1] if v.size in (2, 4) else v
