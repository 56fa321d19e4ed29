"""The Restore page's side of the results kept between sessions (desktop.restore.kept).

A mixin of :class:`desktop.restore.page.RestorePage`. A new result is kept at
once (a "keep" job); whenever the workspace is saved, the cache's index is
written for the queue as it is ("sync"); at launch the queue's rows look up
their results ("kept-index") and read them back ("kept"). All on the IO lane.
"""
from __future__ import annotations

import itertools
import time

from . import kept
from .jobs import IO
from .queue import QueueItem

KEPT_KEYS = ("keep", "sync", "kept-index", "kept")   # keys of the jobs below
_sync_ids = itertools.count(1)


class KeptResults:
    _bringing_back = False                    # results of the last session on their way back
    _coming_back: set[int] = frozenset()      # ids of the rows they are for (a set once used)

    def unsaved(self) -> list[QueueItem]:
        """Rows whose result has not been saved anywhere by the user."""
        return [i for i in self.queue.items if i.result is not None and not i.saved_to]

    def keep(self, item: QueueItem) -> None:
        """Keep the item's new result in the cache dir (the queue comes back with it)."""
        res = item.result
        entry = {"file": kept.new_name(), "model": res.model, "seconds": float(res.seconds),
                 "time": time.time()}
        item.kept = entry
        spec = kept.KeepSpec(entry["file"], item.path, res.pixels, res.model, res.seconds)
        self.ctx.submit(kept.keep_job, spec, ("keep", item.id, entry["file"]),
                        title=f"Keeping the result of {item.name}", device=IO, quiet=True,
                        on_close="finish")

    def sync_kept(self) -> None:
        """Write the cache's index for the queue as it is now (and drop what it no longer has)."""
        if self._bringing_back:
            return   # the kept results are not all back yet: the index stays as it is
        rows = tuple((i.path, {**i.kept, "saved_to": i.saved_to} if i.result is not None
                      and i.kept else None) for i in self.queue.items)
        self.ctx.submit(kept.sync_job, rows, ("sync", next(_sync_ids)), title="Keeping results",
                        device=IO, quiet=True, on_close="finish")

    def bring_back_kept(self) -> None:
        """Look up the results the queue's rows had in the last session (at launch)."""
        rows = tuple((i.id, i.path) for i in self.queue.items)
        if rows:
            self._bringing_back = True
            self._coming_back = set()
            self.ctx.submit(kept.find_job, rows, ("kept-index", 0), title="Finding kept results",
                            device=IO, quiet=True)

    def _kept_event(self, key, event) -> None:
        """The end of one of the cache's jobs (Finished or Failed)."""
        ok = type(event).__name__ == "Finished" and event.status == "done"
        result = event.result if ok else None
        {"sync": self._kept_synced, "kept-index": self._kept_found, "keep": self._kept_written,
         "kept": self._kept_back}[key[0]](key, result, getattr(event, "message", "stopped"))

    def _kept_synced(self, _key, entries: dict | None, _why: str) -> None:
        for item in self.queue.items:   # results kept just now got their source's stamp
            if entries and item.kept and item.kept.get("file") in entries:
                item.kept = {**entries[item.kept["file"]], **item.kept}

    def _kept_found(self, _key, found: list | None, _why: str) -> None:
        for item_id, entry in found or []:
            item = self.queue.by_id(item_id)
            if item is None or item.result is not None:
                continue
            item.kept = entry      # so that no sync drops it while it comes back
            item.detail = "bringing back the last session's result…"
            self.queue.touch(item)
            self.ctx.submit(kept.bring_back_job, kept.BringBackSpec(item.path, entry),
                            ("kept", item.id), title=f"Reading {item.name}'s result",
                            device=IO, quiet=True)
            self._coming_back.add(item.id)
        self._bringing_back = bool(self._coming_back)

    def _kept_written(self, key, entry: dict | None, why: str) -> None:
        item = self.queue.by_id(key[1])
        if item is None or not item.kept or item.kept.get("file") != key[2]:
            return   # removed, or restored again meanwhile
        if entry is None:
            item.kept = None
            self.ctx.status(f"Could not keep the result of {item.name} for the next session: "
                            f"{why}")
            return
        item.kept = {**entry, "time": item.kept["time"]}
        self.queue_changed.emit()      # the index is written soon

    def _kept_back(self, key, res, _why: str) -> None:
        self._coming_back.discard(key[1])
        self._bringing_back = bool(self._coming_back)
        item = self.queue.by_id(key[1])
        if item is None:
            return
        if item.result is not None:
            pass   # restored again meanwhile: that result wins
        elif res is None:   # its picture changed, or the file is gone: the next sync drops it
            item.kept, item.detail = None, ""
        else:
            item.result, item.image = res, res.image
            item.status, item.progress, item.stage = "done", 1.0, ""
            item.saved_to = str(item.kept.get("saved_to") or "") if item.kept else ""
            item.detail = f"{res.model} · {res.seconds:.1f} s · from the last session"
        self._refresh(item)
        self._update_buttons()
