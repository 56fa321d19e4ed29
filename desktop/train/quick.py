"""Small jobs of a page (previews, counts, listings), run on the Runner and coalesced."""
from __future__ import annotations

import itertools

from PySide6.QtCore import QObject, Signal

from .jobs import QUICK_LANE, as_job

_ids = itertools.count(1)


class QuickJobs(QObject):
    """Runs a page's small jobs under keys ``(tag, kind, n)`` and reports their ends by kind.

    With ``coalesce`` (the default) at most one job of a kind runs: asking again
    meanwhile re-runs it once, with the latest spec, when the running one ends.
    Results and errors of every job come back through ``done`` / ``failed``.
    """

    done = Signal(str, object)     # kind, result
    failed = Signal(str, str)      # kind, message for a person

    def __init__(self, ctx, tag: str, lane: str = QUICK_LANE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.tag, self.lane = ctx, tag, lane
        self.running: dict[str, tuple] = {}
        self._again: dict[str, tuple] = {}
        ctx.bridge.finished.connect(self._ended)
        ctx.bridge.failed.connect(self._ended)

    def run(self, kind: str, job, spec, title: str = "", lane: str | None = None,
            coalesce: bool = True, quiet: bool = True) -> bool:
        """Submit now (True) or, when one of this kind runs, once it ends (False)."""
        if coalesce and kind in self.running:
            self._again[kind] = (job, spec, title, lane, coalesce, quiet)
            return False
        key = (self.tag, kind, next(_ids))
        if coalesce:
            self.running[kind] = key
        self.ctx.submit(job, spec, key, title=title or kind, device=lane or self.lane, quiet=quiet)
        return True

    def busy(self, kind: str) -> bool:
        return kind in self.running

    def _ended(self, key, event) -> None:
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] == self.tag):
            return
        kind = key[1]
        if self.running.get(kind) == key:
            del self.running[kind]
        if type(event).__name__ == "Failed":
            self.failed.emit(kind, event.message)
        else:
            self.done.emit(kind, event.result)
        again = self._again.pop(kind, None)
        if again is not None and kind not in self.running:
            self.run(kind, *again)


@as_job
def warm_plots_job(_spec) -> bool:
    """Import pyqtgraph off the UI thread (about a second), before the first curve needs it."""
    import pyqtgraph  # noqa: F401

    return True
