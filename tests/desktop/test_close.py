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


# -- quitting the real app in a process of its own: exit code 0, within seconds -------------
CHILD = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
kind, arg = sys.argv[1], sys.argv[2]
from desktop.app import create_app, run_window
app = create_app()
from PySide6.QtCore import QTimer
from desktop.main_window import MainWindow
from desktop.settings import Settings

settings = Settings()
settings.update(threads=1, device="cpu")
window = MainWindow(settings, ask=lambda title, text: True, restore_workspace=False)
window.show()
if kind == "restore":            # one big tile through a network: one long native call
    page = window.restore_page
    item = page.add_paths([arg])[0]
    page.picker.select("denoise-color")
    page.options.tile_mode.setCurrentIndex(page.options.tile_mode.findData("custom"))
    page.options.tile.setValue(4096)
    page.run_items([item])
    busy = lambda: item.status == "running" and item.stage not in ("", "reading")
else:                            # a training run (the smoke preset) between its steps
    from desktop.train.jobs import RunRequest
    from training.config import load_raw

    page = window.pages["Train"]
    page.ensure_built()
    raw = load_raw(preset="smoke")
    raw["data"]["train"] = arg
    raw["schedule"]["steps"] = 1_000_000
    raw["device"], raw["threads"] = "cpu", 1
    page._submit(RunRequest(raw=raw, name="quit-test"), "quit-test")
    busy = lambda: page.dashboard.state == "running"

def poll():
    if busy():
        QTimer.singleShot(800, quit_now)     # well inside the work
    else:
        QTimer.singleShot(50, poll)

def quit_now():
    print("QUIT", flush=True)
    window.close()

QTimer.singleShot(0, poll)
QTimer.singleShot(90_000, app.quit)          # never hang the test run
sys.exit(run_window(app, window))
"""


def quit_child(kind: str, arg: str) -> tuple[int, float, str]:
    """(exit code, seconds from the quit to the end of the process, output)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, arg], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, quit_at = [], None
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("QUIT"):
                quit_at = time.monotonic()
                break
        rest, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate()
    lines.append(rest or "")
    after = time.monotonic() - quit_at if quit_at is not None else float("inf")
    return proc.returncode, after, "".join(lines)


def test_quitting_the_app_mid_restore_exits_cleanly_and_soon(tmp_path, images):
    big = images.write_png(tmp_path / "big.png", images.gradient(1600, 1600))
    code, after, output = quit_child("restore", str(big))
    assert code == 0, output[-2000:]
    assert after < 4.0, f"the process took {after:.1f} s to end after the quit\n{output[-2000:]}"
    assert "terminate called" not in output


def test_quitting_the_app_mid_training_stops_the_run_and_exits_cleanly(tmp_path, images,
                                                                        restorelab_home):
    import json

    import numpy as np

    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        pixels = np.clip(images.gradient(48, 48) + 0.05 * rng.standard_normal((48, 48, 3)), 0, 1)
        images.write_png(folder / f"clean{i}.png", pixels.astype(np.float32))
    code, after, output = quit_child("train", str(folder))
    assert code == 0, output[-2000:]
    assert after < 6.0, f"the process took {after:.1f} s to end after the quit\n{output[-2000:]}"
    runs = sorted((restorelab_home / "data" / "experiments").glob("*/run.json"))
    assert runs, output[-2000:]
    meta = json.loads(runs[-1].read_text(encoding="utf-8"))
    assert meta["status"] == "stopped", meta          # the run was stopped, not killed
