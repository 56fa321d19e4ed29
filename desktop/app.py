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


def run_window(app, window) -> int:
    """Run the event loop until the window closes; return the exit code.

    The window ends its jobs and the runner's threads when it closes. A worker
    still inside one long native call (a big tile through a network) cannot be
    interrupted: letting the interpreter finalize under it aborts the process
    ("terminate called without an active exception", exit 134), so then the
    process ends at once, everything the window keeps being saved already.
    """
    code = app.exec()
    if not window._closed:      # the loop ended some other way (app.quit, a signal)
        window.save_state()
        window.shutdown()
    warming = window.warmup is not None and window.warmup.is_alive()
    if window.shutdown_clean is False or warming:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


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
    return run_window(app, window)
