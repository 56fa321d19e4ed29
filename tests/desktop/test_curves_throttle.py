"""Live training curves: floods of metrics are drawn in a few coalesced redraws, values exact."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject

from desktop.bridge import JobBridge
from engine.events import Log, Metric, Progress

NAMES = ("loss/total", "loss/l1", "lr", "grad_norm", "throughput")


def value(step: int, name: str) -> float:
    return 1.0 / (step + NAMES.index(name) + 1) + 1e-9 * step   # distinct at every step


class Paints(QObject):
    """Counts the paint events of a widget."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


@pytest.fixture
def live(qtbot):
    """A shown dashboard fed by a bridge, as the Train page wires them."""
    from desktop.train.dashboard import Dashboard

    bridge = JobBridge(interval_ms=50)
    dash = Dashboard()
    qtbot.addWidget(dash)
    dash.resize(1000, 640)
    dash.show()
    qtbot.waitExposed(dash)
    board = dash.ensure_curves()
    bridge.metrics.connect(lambda _key, batch: dash.on_metrics(batch))
    qtbot.wait(50)
    yield bridge, dash, board
    bridge.close()


def post_steps(bridge, first: int, last: int, pause_s: float = 0.0) -> None:
    """The events of training steps first..last, posted from a worker thread."""
    post = bridge.subscriber("run")

    def work() -> None:
        for step in range(first, last + 1):
            for name in NAMES:
                post(Metric(step, name, value(step, name)))
            if pause_s:
                time.sleep(pause_s)

    worker = threading.Thread(target=work)
    worker.start()
    return worker


def test_a_burst_of_1000_metrics_is_drawn_in_a_few_redraws_with_exact_values(live, qtbot):
    from desktop.train.curves import REDRAW_MS

    bridge, dash, board = live
    paints = Paints(board.viewport())
    post_steps(bridge, 1, 200).join()   # 1000 events wait in the bridge
    qtbot.waitUntil(lambda: dash.latest.get("loss/total") == value(200, "loss/total"), timeout=5000)
    delivered = time.monotonic()
    assert board.points("loss/total") < 200          # not drawn at once: the redraw is coalesced
    qtbot.waitUntil(lambda: board.points("loss/total") == 200, timeout=5000)
    assert time.monotonic() - delivered < REDRAW_MS / 1000 + 1.0   # the machine may be busy
    qtbot.wait(3 * REDRAW_MS)                        # range refits end
    assert board.redraws <= 3, "one redraw for the burst, then at most two range refits"
    assert paints.count <= 8
    for name in ("loss/total", "loss/l1", "lr", "grad_norm"):
        item = board.curve(name)
        assert np.array_equal(item.xData, np.arange(1, 201))
        assert np.array_equal(item.yData, [value(s, name) for s in range(1, 201)])   # exact
    assert "throughput" not in board.curves
    assert f"total {value(200, 'loss/total'):.4g}" in dash.values.text()


def test_a_steady_run_updates_live_at_the_redraw_rate(live, qtbot):
    from desktop.train.curves import REDRAW_MS

    bridge, _dash, board = live
    batches = []
    bridge.metrics.connect(lambda _key, batch: batches.append(len(batch)))
    start = time.monotonic()
    worker = post_steps(bridge, 1, 150, pause_s=0.01)   # ~100 steps/s for ~1.5 s
    seen = set()
    while worker.is_alive():
        seen.add(board.points("loss/total"))
        qtbot.wait(20)
    qtbot.waitUntil(lambda: board.points("loss/total") == 150, timeout=5000)
    elapsed_ms = 1000 * (time.monotonic() - start)
    assert len(seen - {0, 150}) >= 2, "the curves grow while the run goes, not only at its end"
    assert board.redraws <= elapsed_ms / REDRAW_MS + 4      # the redraw rate, whatever comes
    assert board.redraws < len(batches)                     # not one redraw per delivery
    assert board.curve("grad_norm").yData[-1] == value(150, "grad_norm")


def test_a_hidden_board_waits_and_catches_up_when_shown(live, qtbot):
    bridge, dash, board = live
    post_steps(bridge, 1, 20).join()
    qtbot.waitUntil(lambda: board.points("loss/total") == 20, timeout=5000)
    qtbot.wait(300)
    dash.hide()                                   # the user went to another page
    redraws = board.redraws
    post_steps(bridge, 21, 60).join()
    qtbot.waitUntil(lambda: dash.latest.get("lr") == value(60, "lr"), timeout=5000)
    qtbot.wait(400)
    assert board.redraws == redraws and board.points("loss/total") == 20   # nothing drawn unseen
    dash.show()
    qtbot.waitUntil(lambda: board.points("loss/total") == 60, timeout=5000)
    assert board.curve("lr").yData[-1] == value(60, "lr")


def test_progress_between_metrics_is_coalesced_but_not_moved_past_a_log(qtbot):
    bridge = JobBridge(interval_ms=30)
    progress, order = [], []
    bridge.progress.connect(lambda _k, e: (progress.append(e.done), order.append(("p", e.done))))
    bridge.log.connect(lambda _k, e: order.append(("log", e.text)))
    bridge.metrics.connect(lambda _k, batch: order.append(("m", len(batch))))
    post = bridge.subscriber("run")

    def work() -> None:
        for step in range(1, 501):                # a training: progress, then its metrics
            post(Progress(step, 1000, "step"))
            post(Metric(step, "loss/total", 1.0 / step))
        post(Log("info", "validating"))
        post(Progress(501, 1000, "step"))

    with qtbot.waitSignal(bridge.log, timeout=5000):
        threading.Thread(target=work).start()
    qtbot.waitUntil(lambda: progress and progress[-1] == 501, timeout=5000)
    assert len(progress) < 60, "one progress per delivery, not one per step"
    assert progress == sorted(progress) and 500 in progress   # nothing lost before the log
    assert order.index(("log", "validating")) < order.index(("p", 501))
    assert sum(n for kind, n in order if kind == "m") == 500
