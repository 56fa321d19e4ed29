"""The main window: navigation between the pages, status bar, drops, a clean close (its menus
are in :mod:`desktop.menus`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QMainWindow,
                               QMessageBox, QStackedWidget, QVBoxLayout, QWidget)

from . import theme
from .bridge import JobBridge
from .menus import build_menus
from .pages import PAGES, AppContext, build_page
from .settings import Settings, SettingsDialog

VERSION = "0.1.0"
STOP_WAIT_S = 5.0     # how long a stopped job may take to finish its step (or a short job to
                      # end: they cannot be interrupted) before it is aborted
ABORT_WAIT_S = 1.0    # how long an aborted restore may take to reach its next tile
JOIN_WAIT_S = 0.5     # then how long the runner's threads get to end


class _EngineStatus(QObject):
    ready = Signal(str)


def _ask_box(parent: QWidget) -> Callable[[str, str], bool]:
    def ask(title: str, text: str) -> bool:
        answer = QMessageBox.question(parent, title, text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
    return ask


class MainWindow(QMainWindow):
    """``ask(title, text) -> bool`` answers yes/no questions (a message box unless given)."""

    def __init__(self, settings: Settings | None = None, runner=None,
                 ask: Callable[[str, str], bool] | None = None,
                 restore_workspace: bool = True) -> None:
        super().__init__()
        from engine.jobs import Runner  # torch-free

        self.settings = settings or Settings()
        self.runner = runner or Runner()
        self.ask = ask or _ask_box(self)
        self.shutdown_clean: bool | None = None
        self._closed = False
        self.warmup = None          # the engine's warm-up thread, once started
        self._active: dict = {}     # job id -> [title, fraction, key] of jobs that started
        theme.apply_theme(QApplication.instance(), self.settings.get("theme"))
        self.setWindowTitle("RestoreLab")
        self.setAcceptDrops(True)
        self.setMinimumSize(900, 600)

        self.bridge = JobBridge(self)
        self.ctx = AppContext(self.settings, self.runner, self.bridge,
                              lambda title, text: self.ask(title, text), self)
        self._build()
        self.actions = build_menus(self)            # by name: "open", "paste", "dark", ...
        self.dark_action = self.actions["dark"]
        self._connect()
        self._restore_geometry()
        if restore_workspace:
            self.restore_page.restore_workspace()
        if self.settings.load_error:
            self.ctx.status(self.settings.load_error, 20000)   # said once, and long enough to read

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.nav = QListWidget(objectName="nav")
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(170)
        brand = QLabel("RestoreLab", objectName="brand")
        side = QWidget(objectName="navPanel")
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.setSpacing(0)
        sv.addWidget(brand)
        sv.addWidget(self.nav, 1)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for name in PAGES:
            page = build_page(name, self.ctx)
            self.pages[name] = page
            self.stack.addWidget(page)
        self.restore_page = self.pages["Restore"]
        self.models_page = self.pages["Models"]
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(side)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        bar = self.statusBar()
        self.job_label = QLabel("")
        self.queue_label = QLabel("")
        self.device_label = QLabel("")
        for w in (self.job_label, self.queue_label, self.device_label):
            bar.addPermanentWidget(w)
        self._show_device()
        self._engine_status = _EngineStatus()
        self.engine_ready = False
        self._engine_status.ready.connect(self._engine_ready)

    def _connect(self) -> None:
        self.nav.currentRowChanged.connect(self._nav_changed)
        self.ctx.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.ctx.navigate_requested.connect(self.show_page)
        b = self.bridge
        b.started.connect(self._job_started)
        b.progress.connect(self._job_progress)
        b.finished.connect(self._job_ended)
        b.failed.connect(self._job_ended)
        self.ctx.job_submitted.connect(lambda _k: self._update_jobs())
        self.ctx.jobs_changed.connect(self._update_jobs)
        # the queue is the workspace: keep it on disk soon after it changes (not only on close)
        self._autosave = QTimer(self, singleShot=True, interval=1500)
        self._autosave.timeout.connect(self.save_state)
        self.restore_page.queue_changed.connect(self._autosave.start)
        page = self.settings.get("page")
        self.show_page(page if page in self.pages else "Restore")
        self._update_jobs()   # nothing runs yet: no empty job or queue labels

    # ------------------------------------------------------------------- pages
    def show_page(self, name: str) -> None:
        row = PAGES.index(name)
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
        else:
            self._nav_changed(row)

    def current_page_name(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        self.settings.set("page", PAGES[row])
        page = self.pages[PAGES[row]]
        if hasattr(page, "on_shown"):
            page.on_shown()

    # ------------------------------------------------------------- status bar
    def _show_device(self, text: str | None = None) -> None:
        choice = self.settings.get("device") or "auto"
        self.device_label.setText(text or f"Device: {choice}")
        self.device_label.setToolTip("Where restores run; change it in Settings (Ctrl+,)")

    def _engine_ready(self, text: str) -> None:
        self.engine_ready = True
        self._show_device(text.replace("Engine ready: ", "Device: "))

    def start_engine(self) -> None:
        from .app import warm_up_engine

        self.warmup = warm_up_engine(self._engine_status.ready.emit)

    def _job_started(self, key, event) -> None:
        self._active[event.job_id] = [event.title, None, key]
        self._update_jobs()

    def _job_progress(self, key, event) -> None:
        for job in self._active.values():
            if job[2] == key and event.total:
                job[1] = float(event.done) / float(event.total)
                self._update_jobs()

    def _job_ended(self, key, event) -> None:
        self._active.pop(getattr(event, "job_id", None), None)
        self._update_jobs()

    def waiting_jobs(self) -> list:
        """Jobs the user asked for that have not started yet and still will."""
        return [h for h in self.runner.jobs()
                if h.final is None and not h.control.aborted and h.id not in self._active
                and h.id not in self.ctx.quiet_ids]

    def _update_jobs(self) -> None:
        if self._closed:
            return
        running = list(self._active.values())
        if running:
            title, frac, _key = running[0]
            self.job_label.setText(f"{title}" + (f" · {frac * 100:.0f}%" if frac is not None else ""))
        else:
            self.job_label.setText("")
        waiting = len(self.waiting_jobs())
        self.queue_label.setText(f"{waiting} waiting" if waiting else "")
        self.queue_label.setVisible(bool(waiting))
        self.job_label.setVisible(bool(running))

    # --------------------------------------------------------------- settings
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.values())

    def apply_settings(self, values: dict) -> None:
        changed = {k: v for k, v in values.items() if self.settings.get(k) != v}
        self.settings.update(**values)
        if "theme" in changed:
            theme.apply_theme(QApplication.instance(), values["theme"])
            self.dark_action.setChecked(values["theme"] == "dark")
            self.update()
        if "device" in changed:
            self._show_device(f"Device: {values['device']} (from the next job)")
        if "tile" in changed:
            self.restore_page.options.load(self.settings)
        if not self.settings.save():
            self.ctx.status(self.settings.load_error)

    def toggle_theme(self) -> None:
        self.apply_settings({"theme": "dark" if self.dark_action.isChecked() else "light"})

    def _restore_geometry(self) -> None:
        saved = self.settings.get("window") or {}
        geometry = saved.get("geometry")
        if not (geometry and self.restoreGeometry(QByteArray.fromHex(geometry.encode()))):
            self.resize(1440, 900)
        sizes = saved.get("splitter")
        if isinstance(sizes, list) and len(sizes) == 3 and all(isinstance(s, int) for s in sizes):
            self.restore_page.splitter.setSizes(sizes)

    def save_state(self) -> None:
        self.settings.set("window", {
            "geometry": bytes(self.saveGeometry().toHex()).decode(),
            "splitter": self.restore_page.splitter.sizes(),
        })
        for page in self.pages.values():
            if hasattr(page, "save_state"):
                page.save_state()
        self.settings.save()

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.drop_paths(paths)

    def drop_paths(self, paths: list[str]) -> None:
        """Model files go to the Models page (imported in a job), everything else to the
        Restore queue; a folder of model files with no images in it offers to import them."""
        from .library.model_import import is_model_file

        models = [str(p) for p in paths if is_model_file(p) and not Path(p).is_dir()]
        others = [str(p) for p in paths if str(p) not in models]
        folders = {}
        for folder in [p for p in others if Path(p).is_dir()]:
            found = self._models_only_folder(folder)
            if found is not None:
                others.remove(folder)
                folders[folder] = found
        if models or any(folders.values()):
            self.show_page("Models")
        if models:
            self.models_page.drop_paths(models)
        for folder, found in folders.items():
            if found:
                self.models_page.import_files(found, origin=folder)
        if others:
            self.show_page("Restore")
            self.restore_page.add_paths(others)

    def _models_only_folder(self, folder: str) -> list[str] | None:
        """The model files of a folder without images, to import if the user says yes
        (an empty list if not); None when the folder is one for the Restore queue."""
        from .library.model_import import model_files
        from .restore.files import expand

        found = model_files(folder)
        if not found or expand([folder])[0]:
            return None
        name = Path(folder).name
        listed = ", ".join(p.name for p in found[:3]) + (" …" if len(found) > 3 else "")
        if not self.ask("Import models?", f"{name} holds no images but {len(found)} model "
                                          f"file{'s' if len(found) > 1 else ''} ({listed}). "
                                          "Import them into the model library?"):
            self.ctx.status(f"Nothing imported from {name}.")
            return []
        return [str(p) for p in found]

    # --------------------------------------------------------------- closing
    def closeEvent(self, event) -> None:
        if self._closed:
            event.accept()
            return
        question = self.quit_question()
        if question and not self.ask("Quit RestoreLab?", question):
            event.ignore()
            return
        self.save_state()
        self.hide()      # gone at once for the user, while the jobs wind down
        self.shutdown()
        event.accept()

    def quit_question(self) -> str:
        """What quitting now would lose or stop, as a question; "" when nothing."""
        parts = []
        busy = self.ctx.busy_handles()
        if busy:
            n = len(busy)
            parts.append(f"{n} job{'s are' if n > 1 else ' is'} still running or waiting "
                         f"({busy[0].title}): quitting stops {'them' if n > 1 else 'it'}.")
        unsaved = self.restore_page.unsaved()
        if unsaved:
            n = len(unsaved)
            names = ", ".join(i.name for i in unsaved[:3]) + (" …" if n > 3 else "")
            parts.append(f"{n} restored image{'s are' if n > 1 else ' is'} not saved ({names}). "
                         "The queue keeps "
                         f"{'them' if n > 1 else 'it'} for the next launch, but only Save puts "
                         f"{'them' if n > 1 else 'it'} in your folders.")
        return "\n\n".join(parts + ["Quit anyway?"]) if parts else ""

    def shutdown(self) -> bool:
        """End every job and the runner's threads, within a few seconds.

        Jobs are told what their ``close_policy`` says: restores and quick jobs are
        aborted (nothing half done is worth keeping), training runs are stopped
        (they finish the step and save a checkpoint), short writes finish. What
        has not ended by the deadline is aborted. A thread that is still inside
        one long native call after that cannot be interrupted: ``shutdown_clean``
        is then False and :func:`desktop.app.run_window` ends the process without
        waiting for it.
        """
        import time

        self._closed = True
        self._autosave.stop()
        started = time.monotonic()
        waits = []
        for h in self.runner.jobs():
            policy = self.ctx.close_policy.get(h.id, "stop")
            if policy == "abort":
                h.control.abort()
            elif policy == "stop":
                h.control.stop()
            long_job = policy == "abort" and h.id not in self.ctx.quiet_ids
            waits.append((h, ABORT_WAIT_S if long_job else STOP_WAIT_S))
        for h, wait_s in waits:
            h.done.wait(max(0.0, started + wait_s - time.monotonic()))
        self.shutdown_clean = self.runner.shutdown(JOIN_WAIT_S)  # aborts the rest
        self.bridge.close()
        return self.shutdown_clean

    # ------------------------------------------------------------------- help
    def open_data_folder(self) -> None:
        from engine.paths import data_dir

        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def about(self) -> None:
        QMessageBox.about(self, "About RestoreLab",
                          f"<h3>RestoreLab {VERSION}</h3><p>Restore images with neural networks "
                          "and classical methods, compare before and after, and train your own "
                          "models.</p><p>Drop images on the window to begin.</p>")
