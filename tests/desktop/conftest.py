"""Desktop test helpers: windows that always close, runner threads that must end, tiny images."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


def _runner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name.startswith("restorelab-") and t.name != "restorelab-warmup" and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leaks(qapp):
    """After each test: every window closed, every runner thread ended."""
    before = set(_runner_threads())
    yield
    from PySide6.QtWidgets import QApplication

    for w in QApplication.topLevelWidgets():
        if w.isVisible():
            w.close()
    qapp.processEvents()
    deadline = time.monotonic() + 5.0
    while _runner_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    leaked = [t.name for t in _runner_threads() if t not in before]
    assert not leaked, f"runner threads still alive after the test: {leaked}"


class Answers:
    """A stand-in for the yes/no message box: records questions, answers ``yes``."""

    def __init__(self, yes: bool = True) -> None:
        self.yes = yes
        self.asked: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> bool:
        self.asked.append((title, text))
        return self.yes


@pytest.fixture
def answers():
    return Answers(True)


@pytest.fixture
def make_window(qtbot, answers):
    """Build MainWindows that close (answering yes) and shut their runner down after the test."""
    made = []

    def make(settings=None, ask=None, show=True, **kw):
        from desktop.main_window import MainWindow
        from desktop.settings import Settings

        window = MainWindow(settings or Settings(), ask=ask or answers, **kw)
        made.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        return window

    yield make
    for window in made:
        window.ask = Answers(True)
        window.close()
        if not window._closed:  # never shown, or the close was refused: shut down anyway
            window.shutdown()
        assert window.shutdown_clean is not False, "the runner's threads did not end"
        window.deleteLater()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def viewer(qtbot):
    """The before/after viewer on its own, shown at 640x480."""
    from desktop.restore.viewer import Viewer

    v = Viewer()
    qtbot.addWidget(v)
    v.resize(640, 480)
    v.show()
    qtbot.waitExposed(v)
    return v


def write_png(path: Path, pixels: np.ndarray, bit_depth: int = 8) -> Path:
    from engine.imageio import ImageInfo, write_image

    c = pixels.shape[2]
    info = ImageInfo(format="PNG", bit_depth=bit_depth, has_alpha=c in (2, 4),
                     is_grey=c in (1, 2))
    write_image(path, pixels.astype(np.float32), info)
    return path


def gradient(h: int = 16, w: int = 24, c: int = 3) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = [x / max(w - 1, 1), y / max(h - 1, 1), (x + y) / max(h + w - 2, 1), np.ones_like(x)]
    return np.stack(planes[:c], axis=2)


@pytest.fixture
def tiny_png(tmp_path):
    return write_png(tmp_path / "tiny.png", gradient())


def wait_status(qtbot, item, statuses=("done", "failed", "cancelled"), timeout=20000):
    qtbot.waitUntil(lambda: item.status in statuses, timeout=timeout)
    return item.status


class _Images:
    write_png = staticmethod(write_png)
    gradient = staticmethod(gradient)
    wait_status = staticmethod(wait_status)


@pytest.fixture
def images():
    """Helpers: ``images.write_png(path, pixels)``, ``images.gradient(h, w, c)``."""
    return _Images
