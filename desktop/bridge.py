"""Engine events -> Qt signals.

The runner calls a job's subscriber on its worker thread. :class:`JobBridge`
hands out subscribers that only append the event to a locked queue and wake
the UI thread with a queued signal; the UI thread drains the queue and emits
one typed signal per event, in order, each with the key the job was
submitted under.

Floods are throttled: a ``Progress`` event replaces the one of the same job
still waiting, unless something other than metrics, progress or previews of
that job came between (a training yields one per step, between its metrics);
consecutive ``Preview`` events of one job replace each other; ``Metric``
events are delivered in batches (``metrics(key, [Metric, ...])``). Routine
events are drained at most every ``interval_ms``; a ``Started``, ``Log``,
``Finished``, ``Failed`` or item event is delivered at once, after everything
queued before it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

_THROTTLED = ("Progress", "Metric", "Preview")


class JobBridge(QObject):
    started = Signal(object, object)      # key, Started
    progress = Signal(object, object)     # key, Progress (the latest one)
    metrics = Signal(object, object)      # key, list[Metric]
    preview = Signal(object, object)      # key, Preview (the latest one)
    log = Signal(object, object)          # key, Log
    saved = Signal(object, object)        # key, Saved
    item_done = Signal(object, object)    # key, ItemDone
    item_failed = Signal(object, object)  # key, ItemFailed
    rollback = Signal(object, object)     # key, Rollback
    finished = Signal(object, object)     # key, Finished
    failed = Signal(object, object)       # key, Failed
    event = Signal(object, object)        # key, any event (after its typed signal)

    _wake = Signal()

    def __init__(self, parent: QObject | None = None, interval_ms: int = 50) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._lock = threading.Lock()
        self._queue: list[tuple[Any, Any]] = []
        self._progress_at: dict[Any, int] = {}   # key -> index of its Progress still queued
        self._wake_pending = False
        self._urgent = False
        self._closed = False
        self._last_drain = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.drain)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------- worker side
    def subscriber(self, key: Any) -> Callable[[Any], None]:
        """A runner subscriber that tags every event with ``key``."""
        def on_event(event: Any) -> None:
            self.post(key, event)
        return on_event

    def post(self, key: Any, event: Any) -> None:
        """Queue an event (any thread)."""
        name = type(event).__name__
        with self._lock:
            if self._closed:
                return
            if name == "Progress" and key in self._progress_at:
                self._queue[self._progress_at[key]] = (key, event)   # the newer one says it all
                return
            if name == "Preview" and self._queue:
                last_key, last = self._queue[-1]
                if last_key == key and type(last).__name__ == name:
                    self._queue[-1] = (key, event)
                    return
            if name == "Progress":
                self._progress_at[key] = len(self._queue)
            elif name not in _THROTTLED:
                self._urgent = True
                self._progress_at.pop(key, None)   # progress after it stays after it
            self._queue.append((key, event))
            if self._wake_pending:
                return
            self._wake_pending = True
        self._wake.emit()

    def close(self) -> None:
        """Drop whatever arrives from now on (the window is going away)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._progress_at.clear()
        self._timer.stop()

    # ----------------------------------------------------------------- UI side
    def _on_wake(self) -> None:
        with self._lock:
            self._wake_pending = False
            urgent = self._urgent
        wait_ms = self.interval_ms - (time.monotonic() - self._last_drain) * 1000
        if urgent or wait_ms <= 0:
            self.drain()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(wait_ms)))

    def drain(self) -> None:
        """Emit everything queued so far (UI thread)."""
        with self._lock:
            items, self._queue = self._queue, []
            self._progress_at.clear()
            self._urgent = False
        self._last_drain = time.monotonic()
        batch_key, batch = None, []
        for key, event in items:
            name = type(event).__name__
            if name == "Metric":
                if batch and key != batch_key:
                    self.metrics.emit(batch_key, batch)
                    batch = []
                batch_key = key
                batch.append(event)
                self.event.emit(key, event)
                continue
            if batch:
                self.metrics.emit(batch_key, batch)
                batch = []
            signal = _SIGNALS.get(name)
            if signal is not None:
                getattr(self, signal).emit(key, event)
            self.event.emit(key, event)
        if batch:
            self.metrics.emit(batch_key, batch)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)


_SIGNALS = {
    "Started": "started", "Progress": "progress", "Preview": "preview", "Log": "log",
    "Saved": "saved", "ItemDone": "item_done", "ItemFailed": "item_failed",
    "Rollback": "rollback", "Finished": "finished", "Failed": "failed",
}
