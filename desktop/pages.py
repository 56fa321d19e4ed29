"""Pages of the main window, the context they share, and placeholders for pages still to come.

Each page is a QWidget built by ``factory(context)``. ``PAGE_MODULES`` names
the module and class of every page; a page whose module does not exist yet
(Train, Datasets, Experiments) shows a :class:`PlaceholderPage` instead, so
adding ``desktop/train/page.py`` with ``TrainPage`` swaps it in without
touching the window.

Optional page hooks the window calls: ``on_shown()``, ``save_state()``,
``drop_paths(paths) -> bool`` (files dropped on the window while the page is
shown), ``busy_handles() -> list`` (jobs to stop before closing).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

PAGES = ("Restore", "Train", "Models", "Datasets", "Experiments")

PAGE_MODULES: dict[str, tuple[str, str]] = {
    "Restore": ("desktop.restore.page", "RestorePage"),
    "Train": ("desktop.train.page", "TrainPage"),
    "Models": ("desktop.library.models_page", "ModelsPage"),
    "Datasets": ("desktop.library.datasets_page", "DatasetsPage"),
    "Experiments": ("desktop.library.experiments_page", "ExperimentsPage"),
}

PLACEHOLDER_TEXT = {
    "Train": ("Train a model on your own pictures",
              "Pick a task and a preset, point it at a folder of clean images, design the "
              "degradation and watch loss curves and previews live while it trains."),
    "Datasets": ("Datasets",
                 "Folders of clean images or input/target pairs, with previews of the "
                 "degradations a training run will apply to them."),
    "Experiments": ("Experiments",
                    "Every training run with its config, curves, previews, checkpoints and "
                    "notes, side by side."),
}


class AppContext(QObject):
    """What pages share: settings, the job runner and its bridge, questions, navigation."""

    message = Signal(str, int)        # status bar text, timeout in ms
    navigate_requested = Signal(str)  # page name
    models_changed = Signal()         # a model was added, renamed or deleted
    use_model_requested = Signal(str)
    job_submitted = Signal(object)    # key
    jobs_changed = Signal()           # a job was cancelled or otherwise changed outside events

    def __init__(self, settings, runner, bridge, ask: Callable[[str, str], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = runner
        self.bridge = bridge
        self.ask = ask
        self.handles: dict[Any, Any] = {}
        self.quiet_ids: set[int] = set()
        self.close_policy: dict[int, str] = {}   # job id -> "abort" | "stop" | "finish"
        bridge.finished.connect(self._ended)
        bridge.failed.connect(self._ended)

    def submit(self, job, spec, key, *, title: str = "", device: str | None = None,
               quiet: bool = False, on_close: str | None = None):
        """Run a job on the engine's runner; its events come back through ``bridge``.

        ``quiet`` jobs (reading a file for the viewer, comparing) are stopped on
        close without asking the user first. ``on_close`` says what quitting does
        to the job: "abort" (drop it: the default for quiet jobs), "stop" (finish
        the step and save: the default for the others) or "finish" (let it end,
        for short writes such as saving results).
        """
        device = device or str(self.settings.get("device") or "auto")
        handle = self.runner.submit(job, spec, self.bridge.subscriber(key), device=device,
                                    title=title)
        if quiet:
            self.quiet_ids.add(handle.id)
        self.close_policy[handle.id] = on_close or ("abort" if quiet else "stop")
        self.handles[key] = handle
        self.job_submitted.emit(key)
        return handle

    def _ended(self, key, event) -> None:
        handle = self.handles.get(key)
        if handle is not None and getattr(event, "job_id", handle.id) == handle.id:
            self.handles.pop(key, None)
            self.quiet_ids.discard(handle.id)
        self.close_policy.pop(getattr(event, "job_id", None), None)

    def busy_handles(self) -> list:
        """Running or waiting jobs worth asking about before quitting: not the quiet ones, nor
        those that finish anyway (a save under way completes before the window goes)."""
        return [h for h in self.runner.jobs() if h.final is None and h.id not in self.quiet_ids
                and self.close_policy.get(h.id) != "finish"]

    def status(self, text: str, timeout_ms: int = 8000) -> None:
        self.message.emit(text, timeout_ms)


class PlaceholderPage(QWidget):
    """Stands in for a page that a later change adds (its module does not exist yet)."""

    placeholder = True

    def __init__(self, name: str, context: AppContext | None = None) -> None:
        super().__init__()
        self.name = name
        title, text = PLACEHOLDER_TEXT.get(name, (name, ""))
        box = QFrame(objectName="card")
        box.setFixedWidth(560)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        badge = QLabel("COMING IN A LATER VERSION", objectName="sectionTitle")
        head = QLabel(title, objectName="pageTitle")
        head.setWordWrap(True)
        body = QLabel(text, objectName="hint")
        body.setWordWrap(True)
        module, cls = PAGE_MODULES.get(name, ("", ""))
        note = QLabel(f"This page is a placeholder until {module}.{cls} exists. Meanwhile the "
                      f"command line has it: <code>restorelab {name.lower()} --help</code>",
                      objectName="hint")
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.RichText)
        for w in (badge, head, body, note):
            inner.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addLayout(row)
        layout.addStretch(3)


def build_page(name: str, context: AppContext) -> QWidget:
    """The page's real widget if its module exists, else a placeholder."""
    module_name, cls_name = PAGE_MODULES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if not module_name.startswith(missing) and missing != module_name:
            raise  # the page exists but something it imports is missing: a real error
        return PlaceholderPage(name, context)
    return getattr(module, cls_name)(context)
