"""Start the window: Qt first, the engine (torch) warms up in the background."""
from __future__ import annotations

import os
import sys
import threading


def warm_up_engine(done) -> threading.Thread:
    """Import torch and the registry off the UI thread; call ``done(text)`` when ready."""
    def work() -> None:
        try:
            from engine import devices, registry

            registry.all_specs()
            device = devices.resolve("auto")
            done(f"Engine ready: {devices.describe(device)}")
        except Exception as err:  # reported in the status bar, never a dead window
            done(f"Engine failed to start: {err}")

    thread = threading.Thread(target=work, name="restorelab-warmup", daemon=True)
    thread.start()
    return thread


def create_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("RestoreLab")
    app.setOrganizationName("RestoreLab")
    return app


def main(argv: list[str] | None = None) -> int:
    app = create_app(argv)
    from desktop.main_window import MainWindow
    from desktop.settings import Settings

    window = MainWindow(Settings())  # applies the saved theme before it shows
    window.show()
    window.start_engine()
    if os.environ.get("RESTORELAB_QUIT_AFTER_MS"):  # smoke tests of the bundle
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(os.environ["RESTORELAB_QUIT_AFTER_MS"]), window.close)
    return app.exec()
