"""Marking what the model gets wrong: a rectangle on the restored image becomes a training example.

Shift+drag on the picture (or any drag while "Mark" is on) draws a rectangle in result
pixels; right-click offers "Add as training example" (the region's source crop, with the same
region of the clean reference when one is loaded) and "Fine-tune this model…". The examples
go to ``<data dir>/examples/<model id>`` (desktop.finetune.examples). After a fine-tune its
timeline sits under the viewer: each checkpoint restores the marked regions of the current
image (desktop.finetune.regions), shown next to the parent's; *Whole image* does all of it.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QMenu, QToolButton

from ..finetune.examples import ExampleSpec, add_example_job, describe, examples_dir, source_box
from ..finetune.timeline import TimelineBar
from .jobs import IO, restore_item_job
from .view import pill

_ids = itertools.count(1)
MAX_REGIONS = 8   # regions the timeline compares at most (the latest marked)


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
        self.timeline.whole_requested.connect(self.show_whole)
        self.timeline.register_requested.connect(self.register_checkpoint)
        self.timeline.strip.picked.connect(self.focus_region)
        self.run_model = ""                           # the model the last fine-tune registered
        self.run_examples: Path | None = None         # and the examples folder it learned from
        # (image path, checkpoint, source box or None for all of it) -> output pixels
        self.outputs: dict[tuple, object] = {}
        self._want: tuple[str, int, bool] | None = None   # (image path, timeline index, whole)
        self._busy = None                             # the region job under way
        self._asked: list = []                        # the regions it restores
        self._note = ""                               # what they are, when not this image's
        self._left = None                             # (key, the parent's side) last composed
        self._left_key = None
        self._shown_boxes: list[QRectF] = []          # those in the viewer, scene pixels
        viewer.state.changed.connect(self._scene_changed)
        page.queue_view.selectionModel().currentChanged.connect(lambda *_: self._item_changed())
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
            self.tool.regions = self._shown_boxes = []

    def _item_changed(self) -> None:
        """Another image is shown: the timeline's regions were those of the last one."""
        self.tool.regions = self._shown_boxes = []
        self._want = self._left = None
        if self.timeline.entries:
            self.timeline.strip.set_tiles([])
            self.timeline.strip.set_note("Scrub the timeline to compare this image's marked "
                                         "regions.")

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

    # -------------------------------------------------------------- timeline
    def set_run(self, result: dict) -> None:
        """A fine-tune ended: its checkpoints go on the timeline under the viewer."""
        if not result.get("model") or not result.get("timeline"):
            return
        self.run_model = result["model"]
        self.run_examples = self.dialog.examples if self.dialog is not None else self.folder()
        self.outputs.clear()
        self._want = self._left = None
        self.timeline.set_run(result["parent"], result.get("parent_psnr"), result["timeline"])

    def regions(self, item) -> tuple[list, str]:
        """The regions to compare: the mark and the examples added from this image, else the
        examples' crops (from other images); with a line saying which."""
        from ..finetune.examples import CLEAN, boxes_from, source_box
        from ..finetune.regions import Region

        source = item.image.pixels
        folder = self.run_examples or self.folder()
        boxes = boxes_from(folder, Path(item.path).stem)
        if self.tool.rect is not None:
            r, scene = self.tool.rect, self.page.viewer.state.scene
            box = source_box((r.x(), r.y(), r.width(), r.height()),
                             scene.width() / source.shape[1], (source.shape[1], source.shape[0]))
            if box is not None and box not in boxes:
                boxes.append(box)
        boxes = boxes[-MAX_REGIONS:]
        if boxes:
            return [Region(item.path, b, f"region {i + 1} · {b[2]}×{b[3]}")
                    for i, b in enumerate(boxes)], ""
        crops = sorted(p for p in folder.glob("*.png")
                       if not p.stem.endswith(CLEAN) and not p.name.startswith("."))
        if not crops:
            return [], ("No marked regions on this image and no examples: mark one "
                        "(Shift+drag) or press Whole image.")
        return ([Region(str(p), None, p.stem[:24]) for p in crops[:MAX_REGIONS]],
                "No marked regions on this image: these are your examples' crops. Mark a region "
                "(Shift+drag) or press Whole image.")

    def _entry_refs(self, index: int) -> tuple[str, str]:
        entries = self.timeline.entries
        return entries[0]["ref"], entries[index]["ref"]

    def show_checkpoint(self, index: int) -> None:
        """The marked regions of the current image as timeline entry ``index`` restores them,
        next to the parent's (entry 0: the parent next to the input)."""
        item = self._timeline_item()
        if item is not None:
            self._want = (item.path, index, False)
            self._request_regions()

    def show_whole(self, index: int) -> None:
        """The whole current image as timeline entry ``index`` restores it, next to the
        parent's (slow on big images: on demand only)."""
        item = self._timeline_item()
        if item is None:
            return
        self._want = (item.path, index, True)
        entries = self.timeline.entries
        for ref in dict.fromkeys(self._entry_refs(index)):
            if (item.path, ref, None) not in self.outputs:
                key = ("whole", next(_ids), item.path, ref)
                self.keys.add(key)
                self.outputs[(item.path, ref, None)] = None   # under way
                self.ctx.submit(restore_item_job, self.page.restore_spec(item, ref), key,
                                title=f"Restoring {item.name} with {entries[index]['label']}",
                                quiet=True)
        self._show_whole()

    def _timeline_item(self):
        item = self.page.current_item()
        if item is None or item.image is None or not self.timeline.entries:
            self.ctx.status("Select an image to see how the checkpoints restore it.")
            return None
        return item

    def _request_regions(self) -> None:
        """Restore what the wanted entry still lacks (one job at a time: scrubbing on while
        it runs asks again for the latest entry when it ends)."""
        from ..finetune.regions import RegionRequest, region_job, region_key

        item = self.page.current_item()
        if self._busy is not None or self._want is None or self._want[2] or item is None \
                or item.path != self._want[0]:
            return
        index = self._want[1]
        regions, note = self.regions(item)
        self.timeline.strip.set_note(note)
        if not regions:
            self.timeline.strip.set_tiles([])
            self.ctx.status(note)
            return
        refs = self._entry_refs(index)
        wanted = [region_key(r, ref) for r in regions for ref in refs]
        have = {k: self.outputs[k] for k in wanted if self.outputs.get(k) is not None}
        base = item.result.pixels if item.result is not None else None
        left_key = (item.path, refs[0], tuple(r.box for r in regions), base)
        same = self._left is not None and self._left[0][:3] == left_key[:3] \
            and self._left[0][3] is base
        left = self._left[1] if same else None
        request = RegionRequest(refs, self.page.restore_spec(item, refs[1]), tuple(regions),
                                have, base, left_input=index == 0, left=left)
        self._left_key = left_key
        key = ("regions", next(_ids), item.path, index)
        self.keys.add(key)
        self._busy, self._asked, self._note = key, regions, note
        label = self.timeline.entries[index]["label"]
        self.ctx.submit(region_job, request, key, title=f"Restoring the regions with {label}",
                        device=IO if len(have) == len(wanted) else None, quiet=True)

    def _regions_done(self, key, result: dict) -> None:
        self.outputs.update(result["patches"])
        item = self.page.current_item()
        if self._want != (key[2], key[3], False) or item is None or item.path != key[2]:
            self._request_regions()   # the user moved on meanwhile
            return
        index = key[3]
        label = self.timeline.entries[index]["label"]
        views = result["views"]
        self.timeline.strip.set_tiles(result["thumbs"])
        legend = f"{'input' if index == 0 else 'parent'} | {label}"
        self.timeline.strip.set_note(f"{self._note}\n{legend}" if self._note else legend)
        self._shown_boxes = []
        if views is not None:
            if index > 0:   # the parent's side, kept so the next entry reuses it (and its layer)
                self._left = (self._left_key, views[0])
            depth = item.image.info.bit_depth
            labels = ("Before", "parent") if index == 0 else ("parent", label)
            self.page.viewer.set_images(views[0], views[1], depth, keep_view=True, labels=labels)
            scale = views[1].shape[0] / item.image.pixels.shape[0]
            self._shown_boxes = [QRectF(x * scale, y * scale, w * scale, h * scale)
                                 for x, y, w, h in (r.box for r in self._asked)]
        self.tool.regions = self._shown_boxes
        self._repaint()

    def focus_region(self, i: int) -> None:
        """Zoom the viewer onto the i-th region of the strip (when it is on this image)."""
        if not 0 <= i < len(self._shown_boxes):
            return
        r = self._shown_boxes[i]
        state, size = self.page.viewer.state, self.page.viewer.canvas_a.size()
        state.center = r.center()
        state.set_zoom(min(size.width() / (1.6 * r.width()), size.height() / (1.6 * r.height())))

    def compare_sources(self, item) -> list[tuple[str, str, object]]:
        """The timeline's whole-image outputs of ``item`` (parent, checkpoints) for the
        compare panes, as (text, key, pixels)."""
        out = []
        for i, entry in enumerate(self.timeline.entries):
            pixels = self.outputs.get((item.path, entry["ref"], None))
            if pixels is not None:
                text = "fine-tune parent" if i == 0 else f"fine-tuned, {entry['label']}"
                out.append((text, f"timeline:{entry['ref']}", pixels))
        return out

    def _show_whole(self) -> None:
        item = self.page.current_item()
        if self._want is None or not self._want[2] or item is None or item.path != self._want[0]:
            return
        index = self._want[1]
        parent_ref, ref = self._entry_refs(index)
        parent = self.outputs.get((item.path, parent_ref, None))
        chosen = self.outputs.get((item.path, ref, None))
        if parent is None or chosen is None:
            return
        self.tool.regions = []
        depth = item.image.info.bit_depth
        sources = self.page.compare_sources(item) if item.result is not None else None
        if index == 0:
            self.page.viewer.set_images(item.image.pixels, parent, depth, keep_view=True,
                                        labels=("Before", "parent"), sources=sources)
        else:
            self.page.viewer.set_images(parent, chosen, depth, keep_view=True,
                                        labels=("parent", self.timeline.entries[index]["label"]),
                                        sources=sources)

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
        if key[0] == "regions":
            self._busy = None
            if event.status == "done" and event.result is not None:
                self._regions_done(key, event.result)
            return
        if key[0] == "whole":
            out = event.result
            if event.status == "done" and out is not None:
                self.outputs[(key[2], key[3], None)] = out.pixels
                self._show_whole()
            else:
                self.outputs.pop((key[2], key[3], None), None)
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
            if key[0] == "whole":
                self.outputs.pop((key[2], key[3], None), None)
            if key[0] == "regions":
                self._busy = None
                self.timeline.strip.set_note(f"Could not restore the regions: {event.message}")
                if self._want is not None and self._want[:2] != (key[2], key[3]):
                    self._request_regions()   # the user scrubbed on meanwhile
            what = {"whole": "restore with that checkpoint",
                    "regions": "restore the regions with that checkpoint",
                    "register": "register the checkpoint"}.get(key[0], "add the example")
            self.ctx.status(f"Could not {what}: {event.message}")

    def _log(self, key, event) -> None:
        if key in self.keys and event.level == "warning":
            self.ctx.status(event.text)
