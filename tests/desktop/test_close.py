"""Closing the window while a job runs: it asks, stops the job cleanly, ends the runner."""
from __future__ import annotations

import threading
import time

import pytest

from engine.descriptor import Restorer


class SlowRestorer(Restorer):
    id = title = "slow"

    def run(self, x, precision=None):
        time.sleep(0.03)
        return x.copy()


@pytest.fixture
def slow_job(monkeypatch, tmp_path, images):
    import engine.models

    monkeypatch.setattr(engine.models, "load_restorer", lambda *a, **k: SlowRestorer())
    return images.write_png(tmp_path / "big.png", images.gradient(256, 256))


def start_slow(window, path, qtbot):
    page = window.restore_page
    item = page.add_paths([path])[0]
    page.options.tile_mode.setCurrentIndex(page.options.tile_mode.findData("custom"))
    page.options.tile.setValue(32)
    page.run_items([item])
    qtbot.waitUntil(lambda: item.status == "running" and item.progress > 0, timeout=10000)
    return item


def test_closing_during_a_job_asks_then_stops_it_cleanly(make_window, answers, slow_job, qtbot):
    window = make_window()
    item = start_slow(window, slow_job, qtbot)
    handle = item.handle
    started = time.monotonic()
    assert window.close()
    elapsed = time.monotonic() - started
    assert len(answers.asked) == 1 and "running" in answers.asked[0][1]
    assert handle.done.is_set() and handle.final.status in ("aborted", "stopped")
    assert window.shutdown_clean is True
    assert not [t for t in threading.enumerate() if t.name.startswith("restorelab-")
                and t.name != "restorelab-warmup" and t.is_alive()]
    assert elapsed < 4.0, f"closing took {elapsed:.1f} s"
    assert not window.isVisible()


def test_saying_no_keeps_the_window_and_the_job(make_window, answers, slow_job, qtbot):
    answers.yes = False
    window = make_window()
    item = start_slow(window, slow_job, qtbot)
    assert not window.close()
    assert window.isVisible() and len(answers.asked) == 1
    assert not item.handle.done.is_set() and item.status == "running"
    answers.yes = True
    assert window.close()
    assert window.shutdown_clean is True


def test_closing_idle_asks_nothing_and_saves_the_workspace(make_window, answers, tiny_png):
    from desktop.settings import Settings

    window = make_window()
    window.restore_page.add_paths([tiny_png])
    assert window.close()
    assert answers.asked == []
    assert Settings().get("workspace") == [str(tiny_png)]
