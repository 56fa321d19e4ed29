"""The bridge: worker-thread events become UI-thread signals, in order, with floods throttled."""
from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from desktop.bridge import JobBridge
from engine.events import Failed, Finished, Log, Metric, Progress, Started


def test_events_arrive_on_the_ui_thread_in_order_with_progress_coalesced(qtbot):
    bridge = JobBridge(interval_ms=30)
    seen, threads = [], set()

    def record(kind):
        def slot(key, event):
            threads.add(QThread.currentThread())
            seen.append((kind, key, event))
        return slot

    for name in ("started", "progress", "log", "finished"):
        getattr(bridge, name).connect(record(name))
    post = bridge.subscriber("job")

    def work():
        post(Started(1, "t"))
        for i in range(2000):
            post(Progress(i + 1, 2000, "s"))
        post(Log("info", "half"))
        for i in range(2000):
            post(Progress(i + 1, 2000, "s2"))
        post(Finished(1, "done", 42))

    worker = threading.Thread(target=work)
    with qtbot.waitSignal(bridge.finished, timeout=5000):
        worker.start()
    worker.join()
    kinds = [k for k, _, _ in seen]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert seen[-1][2].result == 42 and all(key == "job" for _, key, _ in seen)
    progress = [e for k, _, e in seen if k == "progress"]
    assert len(progress) < 400, "progress floods are coalesced"
    log_at = kinds.index("log")
    last_before_log = [e for k, _, e in seen[:log_at] if k == "progress"][-1]
    assert (last_before_log.done, last_before_log.stage) == (2000, "s")   # nothing lost at the edges
    assert (progress[-1].done, progress[-1].stage) == (2000, "s2")
    assert threads == {QThread.currentThread()}


def test_metrics_come_in_batches_and_none_is_lost(qtbot):
    bridge = JobBridge(interval_ms=30)
    batches = []
    bridge.metrics.connect(lambda key, batch: batches.append(list(batch)))
    post = bridge.subscriber(("train", 1))

    def work():
        for i in range(500):
            post(Metric(i, "loss", 1.0 / (i + 1)))
        post(Failed(1, "boom"))

    with qtbot.waitSignal(bridge.failed, timeout=5000) as blocker:
        threading.Thread(target=work).start()
    assert blocker.args[1].message == "boom"
    steps = [m.step for batch in batches for m in batch]
    assert steps == list(range(500))
    assert len(batches) < 500


def test_a_closed_bridge_drops_late_events(qtbot):
    bridge = JobBridge()
    got = []
    bridge.event.connect(lambda key, ev: got.append(ev))
    bridge.close()
    bridge.post("k", Log("info", "late"))
    qtbot.wait(30)
    assert got == [] and bridge.pending() == 0
