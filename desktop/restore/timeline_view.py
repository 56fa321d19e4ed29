"""The fine-tune's timeline on the restore page: what each checkpoint makes of the current image.

After a fine-tune (started from marking.py) its checkpoints sit in a TimelineBar under the
viewer (desktop.finetune.timeline). Scrubbing restores the marked regions of the current image
with the chosen checkpoint (desktop.finetune.regions) and shows them next to the parent's;
*Whole image* restores all of it, and those whole outputs join the Compare panes; *Register
this step* adds a checkpoint to the model library.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QRectF

from ..finetune.timeline import TimelineBar
from .jobs import IO, restore_item_job

_ids = itertools.count(1)
MAX_REGIONS = 8   # regions the timeline compares at most (the latest marked)


class TimelineView(QObject):
    """Drives the TimelineBar: restores regions or the whole image per checkpoint, shows them.

    ``tool`` is the marking's RegionTool (its mark is compared too; the regions shown are
    outlined on it), ``examples`` gives the current model's examples folder and ``repaint``
    redraws the canvases.
    """

    def __init__(self, page, tool, examples, repaint) -> None:
        super().__init__(page)
        self.page, self.ctx = page, page.ctx
        self.tool, self._examples, self._repaint = tool, examples, repaint
        self.keys: set = set()
        self.bar = TimelineBar()
        page.viewer_box_layout.addWidget(self.bar)
        self.bar.chosen.connect(self.show_checkpoint)
        self.bar.whole_requested.connect(self.show_whole)
        self.bar.register_requested.connect(self.register_checkpoint)
        self.bar.strip.picked.connect(self.focus_region)
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
        page.queue_view.selectionModel().currentChanged.connect(lambda *_: self._item_changed())
        b = self.ctx.bridge
        b.finished.connect(self._finished)
        b.failed.connect(self._failed)

    # ---------------------------------------------------------------- state
    def forget_regions(self) -> None:
        """The regions outlined in the viewer no longer apply (another picture is shown)."""
        self.tool.regions = self._shown_boxes = []

    def _item_changed(self) -> None:
        """Another image is shown: the timeline's regions were those of the last one."""
        self.forget_regions()
        self._want = self._left = None
        if self.bar.entries:
            self.bar.strip.set_tiles([])
            self.bar.strip.set_note("Scrub the timeline to compare this image's marked "
                                    "regions.")

    def set_run(self, result: dict, examples: Path) -> None:
        """A fine-tune ended (learning from ``examples``): its checkpoints go on the timeline."""
        if not result.get("model") or not result.get("timeline"):
            return
        self.run_model = result["model"]
        self.run_examples = examples
        self.outputs.clear()
        self._want = self._left = None
        self.bar.set_run(result["parent"], result.get("parent_psnr"), result["timeline"])

    def regions(self, item) -> tuple[list, str]:
        """The regions to compare: the mark and the examples added from this image, else the
        examples' crops (from other images); with a line saying which."""
        from ..finetune.examples import CLEAN, boxes_from, source_box
        from ..finetune.regions import Region

        source = item.image.pixels
        folder = self.run_examples or self._examples()
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
        entries = self.bar.entries
        return entries[0]["ref"], entries[index]["ref"]

    # --------------------------------------------------------------- showing
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
        entries = self.bar.entries
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
        if item is None or item.image is None or not self.bar.entries:
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
        self.bar.strip.set_note(note)
        if not regions:
            self.bar.strip.set_tiles([])
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
        label = self.bar.entries[index]["label"]
        self.ctx.submit(region_job, request, key, title=f"Restoring the regions with {label}",
                        device=IO if len(have) == len(wanted) else None, quiet=True)

    def _regions_done(self, key, result: dict) -> None:
        self.outputs.update(result["patches"])
        item = self.page.current_item()
        if self._want != (key[2], key[3], False) or item is None or item.path != key[2]:
            self._request_regions()   # the user moved on meanwhile
            return
        index = key[3]
        label = self.bar.entries[index]["label"]
        views = result["views"]
        self.bar.strip.set_tiles(result["thumbs"])
        legend = f"{'input' if index == 0 else 'parent'} | {label}"
        self.bar.strip.set_note(f"{self._note}\n{legend}" if self._note else legend)
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
        state, size = self.page.viewer.state, self.page.viewer._view_size()
        state.center = r.center()
        state.set_zoom(min(size.width() / (1.6 * r.width()), size.height() / (1.6 * r.height())))

    def compare_sources(self, item) -> list[tuple[str, str, object]]:
        """The timeline's whole-image outputs of ``item`` (parent, checkpoints) for the
        compare panes, as (text, key, pixels)."""
        out = []
        for i, entry in enumerate(self.bar.entries):
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
                                        labels=("parent", self.bar.entries[index]["label"]),
                                        sources=sources)

    def register_checkpoint(self, index: int) -> None:
        from ..finetune.jobs import RegisterRequest, register_checkpoint_job

        if index <= 0 or not self.run_model:
            return
        key = ("register", next(_ids))
        self.keys.add(key)
        self.ctx.submit(register_checkpoint_job,
                        RegisterRequest(self.run_model, self.bar.entries[index]["ref"]), key,
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
        elif key[0] == "whole":
            out = event.result
            if event.status == "done" and out is not None:
                self.outputs[(key[2], key[3], None)] = out.pixels
                self._show_whole()
            else:
                self.outputs.pop((key[2], key[3], None), None)
        else:   # register
            result = event.result or {}
            self.ctx.status(f"Registered '{result.get('model')}' in the model library.")
            self.ctx.models_changed.emit()

    def _failed(self, key, event) -> None:
        if key not in self.keys:
            return
        self.keys.discard(key)
        if key[0] == "whole":
            self.outputs.pop((key[2], key[3], None), None)
        if key[0] == "regions":
            self._busy = None
            self.bar.strip.set_note(f"Could not restore the regions: {event.message}")
            if self._want is not None and self._want[:2] != (key[2], key[3]):
                self._request_regions()   # the user scrubbed on meanwhile
        what = {"whole": "restore with that checkpoint",
                "regions": "restore the regions with that checkpoint"}.get(
                    key[0], "register the checkpoint")
        self.ctx.status(f"Could not {what}: {event.message}")
