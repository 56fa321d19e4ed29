"""What the Restore page does: open, paste, run, cancel, retry, save, compare; and job events.

A mixin of :class:`desktop.restore.page.RestorePage` (it uses the page's
widgets). Every job goes through the context's Runner; its events come back
through the bridge tagged with a key: ("restore" | "load" | "metrics", item id)
or ("save", n).
"""
from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from engine.imagebase import SUPPORTED_SUFFIXES

from . import files
from .keeping import KEPT_KEYS
from .jobs import (IO, MetricsSpec, RestoreItemSpec, SaveSpec, load_image_job, metrics_job,
                   restore_item_job, save_job)
from .queue import QueueItem

IMAGE_FILTER = ("Images (" + " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES)) + ");;"
                "All files (*)")
_save_ids = itertools.count(1)


class RestoreActions:
    # ------------------------------------------------------------ adding files
    def _start_dir(self, key: str = "last_dir") -> str:
        return self.settings.get(key) or str(Path.home())

    def open_files(self, paths: list[str] | None = None) -> list[QueueItem]:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self._start_dir(),
                                                    IMAGE_FILTER)
        if not paths:
            return []
        self.settings.set("last_dir", str(Path(paths[0]).parent))
        return self.add_paths(paths)

    def open_folder(self, folder: str | None = None) -> list[QueueItem]:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open a folder of images",
                                                      self._start_dir())
        if not folder:
            return []
        self.settings.set("last_dir", folder)
        return self.add_paths([folder])

    def paste(self) -> list[QueueItem]:
        """Queue the clipboard's image (kept as a PNG in the cache dir) or its image files."""
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls():
            local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if local:
                return self.add_paths(local)
        image = clipboard.image()
        if image.isNull():
            self.ctx.status("Nothing to paste: copy an image (or image files) first.")
            return []
        target = files.paste_target()
        if not image.save(str(target), "PNG"):
            self.ctx.status(f"Could not keep the pasted image in {target.parent}.")
            return []
        self.ctx.status(f"Pasted a {image.width()}×{image.height()} image.")
        return self.add_paths([str(target)])

    def remove(self, item: QueueItem) -> None:
        if item.busy:
            self.cancel(item)
        self.queue.remove(item)
        current = self.current_item()
        if current is not None and current.path == item.path:
            self.show_current()   # it may have been what the current result was compared with

    def remove_finished(self) -> None:
        for item in [i for i in self.queue.items if i.status == "done"]:
            self.queue.remove(item)

    def clear_queue(self) -> None:
        for item in self.queue.items:
            if item.busy:
                self.cancel(item)
        self.queue.clear()

    # --------------------------------------------------------------- running
    def run_selected(self) -> None:
        items = self.queue_view.selected_items()
        if not items and self.current_item() is not None:
            items = [self.current_item()]
        self.run_items(items)

    def run_all(self) -> None:
        self.run_items([i for i in self.queue.items if i.status != "done"])

    def run_items(self, items: list[QueueItem]) -> None:
        model = self.picker.current_id()
        if not model:
            self.ctx.status("Choose a model first.")
            return
        for item in items:
            if item.busy:
                continue
            spec = self.restore_spec(item, model)
            item.status, item.progress, item.stage, item.error = "queued", 0.0, "", ""
            item.handle = self.ctx.submit(restore_item_job, spec, ("restore", item.id),
                                          title=f"Restoring {item.name}", on_close="abort")
            self.queue.touch(item)
        self._update_buttons()
        if self.current_item() in items:
            self.show_current()

    def restore_spec(self, item: QueueItem, model: str) -> RestoreItemSpec:
        """How ``model`` restores ``item`` with the options and settings chosen now."""
        opts = self.options.values()
        s = self.settings
        return RestoreItemSpec(
            path=item.path, model=model, image=item.image, scale=opts["scale"],
            options=self.options.method_options(), device=str(s.get("device") or "auto"),
            threads=int(s.get("threads") or 0), tile=opts["tile"],
            budget_mb=int(s.get("budget_mb") or 512), precision=opts["precision"],
            backend=opts["backend"], strength=opts["strength"] / 100.0, post=tuple(opts["post"]))

    def cancel(self, item: QueueItem) -> None:
        if item.handle is None or not item.busy:
            return
        item.handle.control.abort()
        if item.status == "queued":   # never started: done now (the runner skips it later)
            item.handle, item.status, item.stage = None, "cancelled", ""
            self._update_buttons()
        else:
            item.stage = "cancelling…"
        self.queue.touch(item)
        self.ctx.jobs_changed.emit()   # no longer waiting

    def retry(self, item: QueueItem) -> None:
        item.error = ""
        self.run_items([item])

    def item_action(self, item: QueueItem, action: str) -> None:
        (self.cancel if action == "cancel" else self.retry)(item)

    def load(self, item: QueueItem) -> None:
        key = ("load", item.id)
        if key not in self.ctx.handles:
            self.ctx.submit(load_image_job, item.path, key, title=f"Opening {item.name}",
                            device=IO, quiet=True)

    # ----------------------------------------------------------------- saving
    def _sources(self) -> set[Path]:
        return {files.same_file_key(i.path) for i in self.queue.items}

    def save_current(self, path: str | None = None):
        item = self.current_item()
        if item is None or item.result is None:
            self.ctx.status("Nothing to save yet: restore the image first.")
            return None
        if path is None:
            start = Path(self.settings.get("save_dir") or Path(item.path).parent)
            path, _ = QFileDialog.getSaveFileName(self, "Save the result",
                                                  str(start / files.output_name(item.path)),
                                                  IMAGE_FILTER)
            if not path:
                return None
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(Path(item.path).suffix or ".png")
        if files.same_file_key(target) in self._sources() and not self.ctx.ask(
                "Replace the original?",
                f"{target.name} is a picture in the queue (an original, not a result). "
                "Saving there replaces it with the result, and the original is lost. Replace it?"):
            self.ctx.status(f"Not saved: {target.name} is an original.")
            return None
        self.settings.set("save_dir", str(target.parent))
        return self._submit_save([(item, target)], f"Saving {target.name}")

    def save_all(self, folder: str | None = None):
        done = [i for i in self.queue.items if i.result is not None]
        if not done:
            self.ctx.status("Nothing to save yet: restore some images first.")
            return None
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Save all results to",
                                                      self._start_dir("save_dir"))
            if not folder:
                return None
        self.settings.set("save_dir", folder)
        targets = files.unique_outputs([i.path for i in done], Path(folder), avoid=self._sources())
        return self._submit_save(list(zip(done, targets)), f"Saving {len(done)} results")

    def save_quality(self) -> int | None:
        """The JPEG / WebP quality chosen for saving; None: the engine's default."""
        return int(self.settings.get("save_quality") or 0) or None

    def _submit_save(self, pairs: list[tuple[QueueItem, Path]], title: str):
        spec = SaveSpec(tuple((str(t), i.result.pixels, i.result.image.info) for i, t in pairs),
                        quality=self.save_quality())
        key = ("save", next(_save_ids), tuple((i.id, str(t)) for i, t in pairs))
        return self.ctx.submit(save_job, spec, key, title=title, device=IO, on_close="finish")

    # -------------------------------------------------------------- reference
    def set_reference(self, path: str | None = None) -> None:
        item = self.current_item()
        if item is None:
            self.ctx.status("Select an image first, then pick its clean reference.")
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Clean reference image",
                                                  self._start_dir(), IMAGE_FILTER)
            if not path:
                return
        item.reference = str(path)
        self.compute_metrics(item)

    def compute_metrics(self, item: QueueItem) -> None:
        image = item.result.image if item.result is not None else item.image
        if not item.reference or image is None:
            if item.reference:
                self.ctx.status("Open the image first, then compare it with the reference.")
            return
        item.metrics_text = "Comparing with the reference…"
        self.viewer.set_metrics_text(item.metrics_text)
        result = item.result.pixels if item.result is not None else None
        self.ctx.submit(metrics_job, MetricsSpec(item.reference, result, image.pixels),
                        ("metrics", item.id), title="Comparing with the reference", device=IO,
                        quiet=True)

    # -------------------------------------------------------------- job events
    def _item(self, key, *kinds: str, event=None) -> QueueItem | None:
        """The queue item a job's key names; None for other pages' jobs and for events of a
        restore job the item has moved on from (cancelled while queued, then retried)."""
        if not (isinstance(key, tuple) and key and key[0] in kinds):
            return None
        item = self.queue.by_id(key[1])
        if item is not None and key[0] == "restore" and event is not None:
            if item.handle is None or getattr(event, "job_id", None) != item.handle.id:
                return None
        return item

    def _refresh(self, item: QueueItem) -> None:
        self.queue.touch(item)
        current = self.current_item()
        if current is not None and (item is current or item.path == current.path):
            self.show_current()   # a row of the same file: what it can be compared with changed

    def _on_started(self, key, _event) -> None:
        item = self._item(key, "restore", event=_event)
        if item is not None and not item.handle.control.aborted:
            item.status = "running"
            self.queue.touch(item)

    def _on_progress(self, key, event) -> None:
        item = self._item(key, "restore")
        if item is not None and item.status == "running":
            item.progress = float(event.done) / max(float(event.total), 1e-9)
            item.stage = event.stage
            self.queue.touch(item)

    def _on_finished(self, key, event) -> None:
        if isinstance(key, tuple) and key and key[0] in KEPT_KEYS:
            self._kept_event(key, event)
            return
        if isinstance(key, tuple) and key and key[0] == "save":
            result = event.result or {}
            written = result.get("written", [])
            if written:
                where = Path(written[0]).parent if len(written) > 1 else written[0]
                self.ctx.status(f"Saved {len(written)} file{'s' * (len(written) > 1)}: {where}")
            return
        item = self._item(key, "restore", "load", "metrics", event=event)
        if item is None:
            return
        kind = key[0]
        if kind == "load":
            if event.status == "done" and event.result is not None:
                item.image = event.result
                self._refresh(item)
        elif kind == "metrics":
            item.metrics_text = _metrics_text(event.result or {})
            if item is self.current_item():
                self.viewer.set_metrics_text(item.metrics_text)
        else:
            item.handle = None
            if event.status == "done" and event.result is not None:
                res = event.result
                item.result, item.image, item.saved_to = res, res.image, ""
                item.status, item.progress, item.stage = "done", 1.0, ""
                self.keep(item)
                item.detail = f"{res.model} · {res.seconds:.1f} s"
                # a read's warning (damaged EXIF) was shown as it came: say it again here,
                # or this line would replace it at once
                warned = "; ".join(getattr(res.image, "warnings", ()))
                self.ctx.status(f"Restored {item.name} in {res.seconds:.1f} s."
                                + (f" Warning: {warned}" if warned else ""),
                                15000 if warned else 8000)
                if item.reference:
                    self.compute_metrics(item)
            else:
                item.status, item.stage = "cancelled", ""
            self._refresh(item)
        self._update_buttons()

    def _on_failed(self, key, event) -> None:
        if isinstance(key, tuple) and key and key[0] in KEPT_KEYS:
            self._kept_event(key, event)
            return
        if isinstance(key, tuple) and key and key[0] == "save":
            self.ctx.status(f"Could not save: {event.message}")
            return
        item = self._item(key, "restore", "load", "metrics", event=event)
        if item is None:
            return
        if key[0] == "metrics":
            item.metrics_text = f"Reference: {event.message}"
            if item is self.current_item():
                self.viewer.set_metrics_text(item.metrics_text)
            self.ctx.status(f"Could not compare with the reference: {event.message}")
            return
        item.handle = None if key[0] == "restore" else item.handle
        item.status, item.error, item.stage = "failed", event.message, ""
        self.ctx.status(f"Could not restore {item.name}: {event.message}")
        self._refresh(item)
        self._update_buttons()

    def _on_saved(self, key, event) -> None:
        if isinstance(key, tuple) and key and key[0] == "save" and len(key) > 2:
            for item_id, target in key[2]:
                item = self.queue.by_id(item_id)
                if item is not None and target == event.path:
                    item.saved_to = event.path
                    self.queue_changed.emit()   # the cache's index remembers it was saved

    def _on_item_failed(self, key, event) -> None:
        if isinstance(key, tuple) and key and key[0] == "save":
            self.ctx.status(f"Could not save {Path(event.source).name}: {event.message}")

    def _on_log(self, key, event) -> None:
        if self._item(key, "restore") is not None and event.level in ("warning", "error"):
            self.ctx.status(event.text)


def _metrics_text(result: dict) -> str:
    parts = []
    for name in ("result", "input"):
        if name in result:
            p, s = result[name]
            parts.append(f"{name}: PSNR {p:.2f} dB · SSIM {s:.4f}")
    return "vs reference — " + "   ".join(parts) if parts else ""
