"""Marking what the model gets wrong: a rectangle on the restored image becomes a training example.

Shift+drag on the picture (or any drag while "Mark" is on) draws a rectangle in result
pixels; right-click offers "Add as training example" (the region's source crop, with the same
region of the clean reference when one is loaded) and "Fine-tune this model…". The examples
go to ``<data dir>/examples/<model id>`` (desktop.finetune.examples). After a fine-tune its
timeline sits under the viewer (timeline_view.py): each checkpoint restores the marked regions
of the current image, shown next to the parent's.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QMenu, QToolButton

from ..finetune.examples import ExampleSpec, add_example_job, describe, examples_dir, source_box
from .jobs import IO
from .timeline_view import TimelineView
from .view import pill

_ids = itertools.count(1)


class RegionTool:
    """The rubber band: claims Shift+drags (every left drag while armed), paints the rectangle."""

    def __init__(self, changed) -> None:
        self.rect: QRectF | None = None   # scene (result) pixels
        self.regions: list[QRectF] = []   # the timeline's regions, outlined (scene pixels)
        self.armed = False
        self._start: QPointF | None = None
        self._changed = changed

    def press(self, canvas, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or canvas.state.scene.isEmpty():
            return False
        if not (self.armed or event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            return False
        self._start = self._clip(canvas, canvas.state.to_scene(event.position(), canvas.size()))
        self.rect = QRectF(self._start, self._start)
        self._changed()
        return True

    def drag(self, canvas, pos) -> None:
        if self._start is not None:
            end = self._clip(canvas, canvas.state.to_scene(pos, canvas.size()))
            self.rect = QRectF(self._start, end).normalized()
            self._changed()

    def release(self, canvas, pos) -> None:
        self.drag(canvas, pos)
        self._start = None
        if self.rect is not None and min(self.rect.width(), self.rect.height()) < 2:
            self.rect = None
        self._changed()

    @staticmethod
    def _clip(canvas, p: QPointF) -> QPointF:
        size = canvas.state.scene
        return QPointF(round(min(max(p.x(), 0.0), size.width())),
                       round(min(max(p.y(), 0.0), size.height())))

    def paint(self, painter: QPainter, canvas) -> None:
        if self.regions:
            painter.save()
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for region in self.regions:
                r = canvas.map_rect(region)
                painter.setPen(QPen(QColor(0, 0, 0, 140), 3))
                painter.drawRect(r)
                painter.setPen(QPen(QColor("#4ac8ff"), 1.5, Qt.PenStyle.DashLine))
                painter.drawRect(r)
            painter.restore()
            for i, region in enumerate(self.regions):
                pill(painter, canvas.map_rect(region).topLeft() + QPointF(2, 2), str(i + 1))
        if self.rect is None:
            return
        r = canvas.map_rect(self.rect)
        painter.save()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
        painter.drawRect(r)
        pen = QPen(QColor("#ffd24a"), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(r)
        painter.restore()
        text = f"{int(self.rect.width())}×{int(self.rect.height())}  ·  right-click: add as example"
        # under the rectangle, kept inside the canvas when the rectangle runs off its edge
        width = painter.fontMetrics().horizontalAdvance(text) + 16
        x = min(max(r.left(), 4.0), max(4.0, canvas.width() - width))
        y = min(r.bottom() + 4, canvas.height() - painter.fontMetrics().height() - 12)
        pill(painter, QPointF(x, y), text)


class Marking(QObject):
    """The page's marking: the tool on every canvas, the Mark button, the context menu, and
    the timeline of the fine-tune started from it."""

    added = Signal(str)   # the examples folder an example was written to

    def __init__(self, page) -> None:
        super().__init__(page)
        self.page, self.ctx = page, page.ctx
        self.keys: set = set()
        self.dialog = None
        viewer = page.viewer
        self.tool = RegionTool(self._repaint)
        self.button = QToolButton(text="Mark", checkable=True,
                                  toolTip="Drag a rectangle over a region the model gets wrong "
                                          "(Shift+drag works any time), then right-click it: "
                                          "Add as training example")
        self.button.toggled.connect(self._arm)
        viewer.info_layout.insertWidget(0, self.button)   # the top bar is full at usual widths
        for canvas in viewer.canvases():      # the compare panes too
            canvas.tool = self.tool
            canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            canvas.customContextMenuRequested.connect(
                lambda pos, c=canvas: self._menu(c, pos))
        self.timeline = TimelineView(page, self.tool, self.folder, self._repaint)
        viewer.state.changed.connect(self._scene_changed)
        self._scene = viewer.state.scene
        b = self.ctx.bridge
        b.finished.connect(self._finished)
        b.failed.connect(self._failed)
        b.log.connect(self._log)

    # ---------------------------------------------------------------- state
    def _arm(self, on: bool) -> None:
        self.tool.armed = on
        if on:
            self.ctx.status("Drag a rectangle over a region the model gets wrong, then "
                            "right-click it: Add as training example.")

    def _repaint(self) -> None:
        for canvas in self.page.viewer.canvases():
            canvas.update()

    def _scene_changed(self) -> None:
        scene = self.page.viewer.state.scene
        if scene != self._scene:   # another image: its mark does not apply
            self._scene = scene
            self.tool.rect = None
            self.timeline.forget_regions()

    def set_region(self, x: float, y: float, w: float, h: float) -> None:
        """Mark a region in result pixels (what a drag does)."""
        self.tool.rect = QRectF(x, y, w, h)
        self._repaint()

    def model_id(self) -> str:
        return self.page.picker.current_id()

    def folder(self):
        return examples_dir(self.model_id())

    # --------------------------------------------------------------- actions
    def _menu(self, canvas, pos) -> None:
        menu = QMenu(canvas)
        add = menu.addAction("Add as training example", self.add_example)
        add.setEnabled(self.tool.rect is not None and self._current() is not None)
        menu.addAction("Fine-tune this model…", self.open_finetune)
        if self.tool.rect is not None:
            menu.addAction("Clear the mark", lambda: self.set_region_none())
        menu.exec(canvas.mapToGlobal(pos))

    def set_region_none(self) -> None:
        self.tool.rect = None
        self._repaint()

    def _current(self):
        item = self.page.current_item()
        return item if item is not None and item.result is not None else None

    def add_example(self) -> bool:
        """Write the marked region of the current result's source (and reference) as an example."""
        item, rect = self._current(), self.tool.rect
        if item is None or rect is None:
            self.ctx.status("Restore an image and mark a region on it first (Shift+drag).")
            return False
        source = item.result.image.pixels
        scale = item.result.pixels.shape[1] / source.shape[1]
        box = source_box((rect.x(), rect.y(), rect.width(), rect.height()), scale,
                         (source.shape[1], source.shape[0]))
        if box is None:
            self.ctx.status("That region is too small to learn from: mark a larger one.")
            return False
        x, y, w, h = box
        spec = ExampleSpec(str(self.folder()), Path(item.path).stem,
                           source[y:y + h, x:x + w].copy(), box, max(1, round(scale)),
                           item.reference or "")
        key = ("example", next(_ids))
        self.keys.add(key)
        self.ctx.submit(add_example_job, spec, key, title="Adding a training example", device=IO,
                        quiet=True, on_close="finish")
        return True

    def open_finetune(self):
        """The fine-tune window for the current model and its examples."""
        from ..finetune.dialog import FinetuneDialog

        model = self.model_id()
        if not model:
            self.ctx.status("Choose a model first.")
            return None
        if self.dialog is not None and self.dialog.model == model and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        self.dialog = FinetuneDialog(self.ctx, model, self.page.picker.current().title,
                                     self.folder(), parent=self.page.window())
        self.dialog.run_finished.connect(self.set_run)
        self.dialog.show()
        return self.dialog

    def set_run(self, result: dict) -> None:
        """A fine-tune ended: its checkpoints go on the timeline, with the examples it learned."""
        self.timeline.set_run(result, self.dialog.examples if self.dialog is not None
                              else self.folder())

    # ------------------------------------------------------------ job events
    def _finished(self, key, event) -> None:
        if key not in self.keys:
            return
        self.keys.discard(key)
        result = event.result or {}
        if result.get("paths"):
            what = ("with its clean reference" if result["kind"] == "pair" else
                    "without a reference (it trains with the model's own degradation recipe)")
            self.ctx.status(f"Added a training example {what}. {describe(self.folder())} "
                            "Right-click: Fine-tune this model…")
            self.added.emit(result["folder"])

    def _failed(self, key, event) -> None:
        if key in self.keys:
            self.keys.discard(key)
            self.ctx.status(f"Could not add the example: {event.message}")

    def _log(self, key, event) -> None:
        """Warnings from the examples' jobs and the timeline's go to the status bar."""
        if event.level == "warning" and (key in self.keys or key in self.timeline.keys):
            self.ctx.status(event.text)
