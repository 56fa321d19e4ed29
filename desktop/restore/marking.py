"""Marking what the model gets wrong: a rectangle on the restored image becomes a training example.

Shift+drag on the picture (or any drag while "Mark" is on) draws a rectangle in result
pixels; right-click offers "Add as training example" (the region's source crop, with the same
region of the clean reference when one is loaded) and "Fine-tune this model…". The examples
go to ``<data dir>/examples/<model id>`` (desktop.finetune.examples).
"""
from __future__ import annotations

import itertools

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QMenu, QToolButton

from ..finetune.examples import ExampleSpec, add_example_job, describe, examples_dir, source_box
from ..finetune.timeline import TimelineBar
from .jobs import IO, restore_item_job
from .view import pill

_ids = itertools.count(1)


class RegionTool:
    """The rubber band: claims Shift+drags (every left drag while armed), paints the rectangle."""

    def __init__(self, changed) -> None:
        self.rect: QRectF | None = None   # scene (result) pixels
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
        pill(painter, QPointF(r.left(), r.bottom() + 4), text)


class Marking(QObject):
    """The page's marking: the tool on both canvases, the Mark button, the context menu."""

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
        for canvas in (viewer.canvas_a, viewer.canvas_b):
            canvas.tool = self.tool
            canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            canvas.customContextMenuRequested.connect(
                lambda pos, c=canvas: self._menu(c, pos))
        self.timeline = TimelineBar()
        page.viewer_box_layout.addWidget(self.timeline)
        self.timeline.chosen.connect(self.show_checkpoint)
        self.timeline.register_requested.connect(self.register_checkpoint)
        self.run_model = ""                           # the model the last fine-tune registered
        self.outputs: dict[tuple[str, str], object] = {}   # (image path, checkpoint) -> pixels
        self._want: tuple[str, int] | None = None     # (image path, timeline index) to show
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
        self.page.viewer.canvas_a.update()
        self.page.viewer.canvas_b.update()

    def _scene_changed(self) -> None:
        scene = self.page.viewer.state.scene
        if scene != self._scene:   # another image: its mark does not apply
            self._scene = scene
            self.tool.rect = None

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
        from pathlib import Path

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

    # -------------------------------------------------------------- timeline
    def set_run(self, result: dict) -> None:
        """A fine-tune ended: its checkpoints go on the timeline under the viewer."""
        if not result.get("model") or not result.get("timeline"):
            return
        self.run_model = result["model"]
        self.outputs.clear()
        self.timeline.set_run(result["parent"], result.get("parent_psnr"), result["timeline"])

    def show_checkpoint(self, index: int) -> None:
        """The current image as timeline entry ``index`` restores it, next to the parent's."""
        item = self.page.current_item()
        if item is None or item.image is None or not self.timeline.entries:
            self.ctx.status("Select an image to see how the checkpoints restore it.")
            return
        self._want = (item.path, index)
        entries = self.timeline.entries
        for ref in {entries[0]["ref"], entries[index]["ref"]}:
            if (item.path, ref) not in self.outputs:
                key = ("timeline", next(_ids), item.path, ref)
                self.keys.add(key)
                self.outputs[(item.path, ref)] = None   # under way
                self.ctx.submit(restore_item_job, self.page.restore_spec(item, ref), key,
                                title=f"Restoring {item.name} with {entries[index]['label']}",
                                quiet=True)
        self._show()

    def _show(self) -> None:
        item = self.page.current_item()
        if self._want is None or item is None or item.path != self._want[0]:
            return
        entries = self.timeline.entries
        index = self._want[1]
        parent = self.outputs.get((item.path, entries[0]["ref"]))
        chosen = self.outputs.get((item.path, entries[index]["ref"]))
        if parent is None or chosen is None:
            return
        depth = item.image.info.bit_depth
        if index == 0:
            self.page.viewer.set_images(item.image.pixels, parent, depth, keep_view=True,
                                        labels=("Before", "parent"))
        else:
            self.page.viewer.set_images(parent, chosen, depth, keep_view=True,
                                        labels=("parent", entries[index]["label"]))

    def register_checkpoint(self, index: int) -> None:
        from ..finetune.jobs import RegisterRequest, register_checkpoint_job

        if index <= 0 or not self.run_model:
            return
        key = ("register", next(_ids))
        self.keys.add(key)
        self.ctx.submit(register_checkpoint_job,
                        RegisterRequest(self.run_model, self.timeline.entries[index]["ref"]), key,
                        title="Registering a checkpoint", device=IO, on_close="finish")

    # ------------------------------------------------------------ job events
    def _finished(self, key, event) -> None:
        if key not in self.keys:
            return
        self.keys.discard(key)
        if key[0] == "timeline":
            out = event.result
            if event.status == "done" and out is not None:
                self.outputs[(key[2], key[3])] = out.pixels
                self._show()
            else:
                self.outputs.pop((key[2], key[3]), None)
            return
        result = event.result or {}
        if key[0] == "register":
            self.ctx.status(f"Registered '{result.get('model')}' in the model library.")
            self.ctx.models_changed.emit()
            return
        if result.get("paths"):
            what = ("with its clean reference" if result["kind"] == "pair" else
                    "without a reference (it trains with the model's own degradation recipe)")
            self.ctx.status(f"Added a training example {what}. {describe(self.folder())} "
                            "Right-click: Fine-tune this model…")
            self.added.emit(result["folder"])

    def _failed(self, key, event) -> None:
        if key in self.keys:
            self.keys.discard(key)
            if key[0] == "timeline":
                self.outputs.pop((key[2], key[3]), None)
            what = {"timeline": "restore with that checkpoint",
                    "register": "register the checkpoint"}.get(key[0], "add the example")
            self.ctx.status(f"Could not {what}: {event.message}")

    def _log(self, key, event) -> None:
        if key in self.keys and event.level == "warning":
            self.ctx.status(event.text)
