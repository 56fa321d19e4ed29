"""The Models page: every installed model and classical method, its card, and what to do with it."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QPushButton, QSplitter, QTableView,
                               QVBoxLayout, QWidget)

from ..restore.catalog import TASK_TITLES, Choice, default_model, model_choices
from .import_report import from_folder, progress, summary
from .model_detail import ModelDetail
from .widgets import ResultsPanel

COLUMNS = ("Name", "Task", "Architecture", "Scale", "Source", "Metrics")
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SOURCE_TITLES = {"classical": "Built-in", "shipped": "Shipped", "trained": "Trained",
                 "imported": "Imported"}
MODEL_FILTER = "Model weights (*.pth *.pt *.ckpt *.safetensors);;All files (*)"
EXPORT_FILTER = "SafeTensors weights (*.safetensors);;ONNX model (*.onnx)"


def export_job(spec: tuple[str, str, str], control):
    """Export (model id, format, output path) with engine.export; the result is the path."""
    from engine.events import Progress
    from engine.export import export_model

    model_id, fmt, output = spec
    yield Progress(0, 1, f"exporting {model_id} as {fmt}")
    return str(export_model(model_id, fmt, output))


def importer_available() -> bool:
    """The Import/Export hooks need ``engine.importer`` (a colleague's module)."""
    try:
        return importlib.util.find_spec("engine.importer") is not None
    except (ImportError, ValueError):
        return False


def _metrics_summary(card: dict) -> str:
    metrics = card.get("metrics")
    if not isinstance(metrics, dict):
        return ""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = value.get("psnr", next(iter(value.values()), ""))
            key = f"{key} PSNR"
        if isinstance(value, float):
            value = f"{value:.4f}" if "ssim" in key.lower() else f"{value:.2f}"
        parts.append(f"{key} {value}")
    return ", ".join(parts[:3])


def follow_rename(old_id: str, entry) -> bool:
    """Point the experiment that trained a renamed model at its new id (the journal's
    "Open model in Restore" keeps working). True when an experiment was updated."""
    number = entry.card.get("experiment")
    if isinstance(number, bool) or not isinstance(number, int):
        return False
    from engine.errors import RestoreLabError
    from training.experiments import find

    try:
        exp = find(number)
        if exp.meta.get("model") != old_id:
            return False   # another run of that number (or it already moved on)
        exp.update(model=entry.id)
    except (RestoreLabError, OSError):
        return False   # the journal cannot say: the Experiments page still finds it by number
    return True


class ModelsPage(QWidget):
    def __init__(self, context) -> None:
        super().__init__()
        self.ctx = context
        self.settings = context.settings
        self.choices: dict[str, Choice] = {}

        title = QLabel("Models", objectName="pageTitle")
        subtitle = QLabel("Shipped, trained and imported models, and the classical methods "
                          "they are measured against.", objectName="hint")
        self.import_button = QPushButton("Import…")
        self.import_folder_button = QPushButton("Import Folder…")
        self.export_button = QPushButton("Export…")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.import_button.clicked.connect(lambda: self.import_models())
        self.import_folder_button.clicked.connect(lambda: self.import_folder())
        self.export_button.clicked.connect(lambda: self.export_model())
        head = QHBoxLayout()
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(title)
        texts.addWidget(subtitle)
        head.addLayout(texts, 1)
        self.notice = QLabel("", objectName="hint")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        texts.addWidget(self.notice)
        for b in (self.import_button, self.import_folder_button, self.export_button,
                  self.refresh_button):
            head.addWidget(b, 0, Qt.AlignmentFlag.AlignBottom)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(32)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())
        self.table.doubleClicked.connect(lambda _i: self.use_in_restore())

        self.detail = ModelDetail()
        self.detail.use_button.clicked.connect(self.use_in_restore)
        self.detail.default_button.clicked.connect(self.set_default)
        self.detail.rename_button.clicked.connect(lambda: self.rename_selected())
        self.detail.delete_button.clicked.connect(self.delete_selected)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 1)
        split.setSizes([820, 340])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(16)
        self.results = ResultsPanel()
        self.results.activated.connect(self.select)
        layout.addLayout(head)
        layout.addWidget(self.results)
        layout.addWidget(split, 1)
        self._batches: dict[tuple, dict] = {}   # key -> {"records": [...], "origin": ...}
        self._batch_count = 0
        self._set_import_state()
        self.ctx.bridge.finished.connect(self._job_ended)
        self.ctx.bridge.failed.connect(self._job_ended)
        self.ctx.bridge.item_done.connect(self._file_ended)
        self.ctx.bridge.item_failed.connect(self._file_ended)
        self.refresh()

    # ------------------------------------------------------------------- list
    def refresh(self, select: str | None = None) -> None:
        keep = select or self.current_id()
        try:
            choices = model_choices()
        except Exception as err:  # never an empty page without a reason
            self.ctx.status(f"Could not list models: {err}")
            choices = []
        self.choices = {c.id: c for c in choices}
        self.model.removeRows(0, self.model.rowCount())
        for c in choices:
            tasks = ", ".join(TASK_TITLES.get(t, t) for t in c.tasks) or "—"
            if default_model(c.task, self.settings, choices) == c.id and c.task:
                tasks += "  ★"
            arch = "classical" if c.kind == "classical" else \
                c.card.get("architecture_name") or c.card.get("arch", "")   # imported: ESRGAN, ...
            cells = [c.title, tasks, arch or "—", f"×{c.scale}", SOURCE_TITLES.get(c.kind, c.kind),
                     _metrics_summary(c.card)]
            items = [QStandardItem(str(text)) for text in cells]
            for it in items:
                it.setData(c.id, ID_ROLE)
                it.setToolTip(c.description or c.id)
            self.model.appendRow(items)
        if not (keep and self.select(keep)):
            if self.proxy.rowCount():
                self.table.selectRow(0)
        self._show_detail()

    def select(self, model_id: str) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ID_ROLE) == model_id:
                self.table.selectRow(row)
                self.table.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def current_id(self) -> str:
        idx = self.table.currentIndex()
        return str(idx.siblingAtColumn(0).data(ID_ROLE) or "") if idx.isValid() else ""

    def current(self) -> Choice | None:
        return self.choices.get(self.current_id())

    def ids(self) -> list[str]:
        return [self.model.item(r, 0).data(ID_ROLE) for r in range(self.model.rowCount())]

    def _show_detail(self) -> None:
        c = self.current()
        self.detail.show_choice(c, list(self.choices.values()), self.settings)
        self.export_button.setEnabled(importer_available() and c is not None and c.kind != "classical")

    def on_shown(self) -> None:
        self.refresh()

    # ---------------------------------------------------------------- actions
    def use_in_restore(self) -> None:
        c = self.current()
        if c is not None:
            self.ctx.use_model_requested.emit(c.id)
            self.ctx.navigate_requested.emit("Restore")

    def set_default(self) -> None:
        c = self.current()
        if c is None or not c.task:
            return
        self.settings.set_default_model(c.task, c.id)
        self.settings.save()
        self.ctx.status(f"{c.title} is now the default for {c.task}.")
        self.refresh(select=c.id)
        self.ctx.models_changed.emit()

    def delete_selected(self) -> bool:
        c = self.current()
        if c is None or not c.deletable:
            return False
        if not self.ctx.ask("Delete model?", f"Delete “{c.title}”? Its folder and weights are "
                                             "removed from disk. This cannot be undone."):
            return False
        from engine.checkpoints import delete_model
        from engine.errors import RestoreLabError

        try:
            delete_model(c.id)
        except (RestoreLabError, OSError) as err:
            self.ctx.status(f"Could not delete {c.title}: {err}")
            return False
        self.ctx.status(f"Deleted {c.title}.")
        self.refresh()
        self.ctx.models_changed.emit()
        return True

    def rename_selected(self, new_name: str | None = None) -> bool:
        c = self.current()
        if c is None or not c.deletable:
            return False
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename model", "New name:", text=c.title)
            if not ok:
                return False
        new_name = new_name.strip()
        if not new_name or new_name == c.title:
            return False
        from engine.checkpoints import rename_model
        from engine.errors import RestoreLabError

        try:
            entry = rename_model(c.id, new_name)
        except (RestoreLabError, OSError) as err:
            self.ctx.status(f"Could not rename {c.title}: {err}")
            return False
        follow_rename(c.id, entry)
        self.refresh(select=entry.id)
        self.ctx.models_changed.emit()
        return True

    # ------------------------------------------------------- import / export
    # Both run on the Runner: model_import.import_files_job (a drop, the file picker, a whole
    # folder: each file reported on its own) and export_job above around engine.export.
    # Their outcomes show in the notice line, the status bar and, for batches, the results panel
    # (its rows and the summary line: import_report.py).
    def _set_import_state(self) -> None:
        ok = importer_available()
        self.import_button.setEnabled(ok)
        self.import_folder_button.setEnabled(ok)
        tip = "" if ok else "Importing and exporting models needs engine.importer, " \
                            "which this build does not include yet."
        self.import_button.setToolTip(tip or "Import .pth / .safetensors weights (or drop them "
                                             "on the window)")
        self.export_button.setToolTip(tip or "Export the selected model as safetensors or ONNX")
        self.import_folder_button.setToolTip(tip or "Import every .pth / .pt / .ckpt / "
                                                    ".safetensors file of a folder at once")

    def notify(self, text: str, error: bool = False) -> None:
        self.notice.setObjectName("error" if error else "hint")
        self.notice.style().unpolish(self.notice)   # the stylesheet colours by object name
        self.notice.style().polish(self.notice)
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        if text:
            self.ctx.status(text)

    def import_models(self, paths: list[str] | None = None) -> bool:
        """Import model files (asked for with a file dialog when ``paths`` is None)."""
        if paths is None and importer_available():
            paths, _ = QFileDialog.getOpenFileNames(self, "Import models", str(Path.home()),
                                                    MODEL_FILTER)
        return self.import_files(paths or [])

    def import_folder(self, folder: str | None = None) -> bool:
        """Import every model file directly inside a folder (asked for when None)."""
        if not importer_available():
            return self.import_files([])   # says why
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Import every model in a folder",
                                                      str(Path.home()))
            if not folder:
                return False
        from .model_import import model_files

        found = model_files(folder)
        if not found:
            self.notify(f"No model files (.pth, .pt, .ckpt, .safetensors) in {Path(folder).name}.",
                        error=True)
            return False
        return self.import_files([str(p) for p in found], origin=str(folder))

    def import_files(self, paths: list[str], origin: str | None = None) -> bool:
        """One job on the runner imports them all, each reported on its own line; the list
        refreshes once, at the end. ``origin``: the folder they came from, if any."""
        if not importer_available():
            self.ctx.status("Importing models needs engine.importer, which this build does not "
                            "include yet.")
            return False
        paths = [str(p) for p in paths]
        if not paths:
            return False
        from .model_import import import_files_job

        self._batch_count += 1
        key = ("import", self._batch_count)
        batch = {"origin": origin, "records": [{"source": p, "name": Path(p).name} for p in paths]}
        self._batches[key] = batch
        one = Path(paths[0]).name
        self.ctx.submit(import_files_job, paths, key,
                        title=f"Importing {one}" if len(paths) == 1 else
                        f"Importing {len(paths)} model files")
        if len(paths) > 1 or origin:
            self._show_batch(batch)
        else:
            self.results.hide()   # an earlier batch's list would now mislead
        self.notify(f"Importing {one}…" if len(paths) == 1 else
                    f"Importing {len(paths)} model files{from_folder(origin)}…")
        return True

    def _show_batch(self, batch: dict) -> None:
        self.results.show_rows(*progress(batch))
        batch["shown"] = True

    def _file_ended(self, key, event) -> None:
        batch = self._batches.get(key)
        if batch is None:
            return
        record = batch["records"][event.index]
        if type(event).__name__ == "ItemFailed":
            record["error"] = event.message
        else:
            record["id"] = event.output
        if batch.get("shown"):
            self._show_batch(batch)

    def _import_ended(self, key, event) -> None:
        batch = self._batches.pop(key)
        records = batch["records"]
        if type(event).__name__ == "Finished" and isinstance(event.result, list):
            for record, final in zip(records, event.result):
                record.update(final)
        batch["finished"] = True
        done = [r for r in records if "id" in r]
        if done:
            self.refresh(select=done[0]["id"])
            self.ctx.models_changed.emit()
        if batch.get("shown"):
            self._show_batch(batch)
        self.notify(summary(batch, event), error=not done)

    def export_model(self, path: str | None = None, fmt: str | None = None) -> bool:
        c = self.current()
        if not importer_available() or c is None or c.kind == "classical":
            return False
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(
                self, "Export model", str(Path.home() / f"{c.id}.safetensors"), EXPORT_FILTER)
            if not path:
                return False
            fmt = fmt or ("onnx" if "onnx" in chosen.lower() else None)
        fmt = fmt or ("onnx" if Path(path).suffix.lower() == ".onnx" else "safetensors")
        self.ctx.submit(export_job, (c.id, fmt, str(path)), ("export", c.id),
                        title=f"Exporting {c.title}")
        self.notify(f"Exporting {c.title} as {fmt}…")
        return True

    def _job_ended(self, key, event) -> None:
        if key in self._batches:
            self._import_ended(key, event)
            return
        if not (isinstance(key, tuple) and key and key[0] == "export"):
            return
        name = Path(str(key[1])).name
        if type(event).__name__ == "Failed":
            self.notify(f"Could not export {name}: {event.message}", error=True)
        elif event.status == "done":
            self.notify(f"Exported {name} to {event.result}.")

    def drop_paths(self, paths: list[str]) -> bool:
        return self.import_files(paths)
