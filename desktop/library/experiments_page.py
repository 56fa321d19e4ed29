"""The Experiments page: the journal of training runs, their notes, and curves side by side.

The journal is ``training.experiments`` (the same as ``restorelab experiments``).
Select several runs to overlay a metric from their ``metrics.jsonl`` (read off
the UI thread and cached until the file changes); select two to see how
their configs differ.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QPlainTextEdit, QPushButton, QSplitter, QStackedWidget,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from ..train.jobs import LIBRARY_LANE, curves_job
from ..train.quick import QuickJobs
from .widgets import LibraryPage, lay_out_page, page_header, record_table, side_card
from ..train.widgets import section

COLUMNS = ("#", "Name", "Date", "Dataset", "Description", "Status", "Results")
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
PREFERRED = ("loss/total", "val/psnr", "val/ssim", "lr")


def results_text(results: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                     for k, v in (results or {}).items())


def interrupted_text(run: dict, resumable: bool) -> str:
    """What the page says of a run whose process died: at which step, and how to go on."""
    if resumable:
        return f"Interrupted at step {run['step']}: its process ended without finishing."
    return ("Interrupted before its first checkpoint: there is nothing to resume. Train its "
            f"config again: {Path(run['path']) / 'config.toml'}")


def find_run_model(run: dict) -> str:
    """The id of a run's model: the one the journal names, or (renamed since) the user model
    whose card says this experiment made it; "" when there is none any more."""
    from engine.checkpoints import find_model, list_models

    found = find_model(run["model"]) if run.get("model") else None
    if found is not None:
        return found.id
    made_here = [e for e in list_models() if not e.shipped
                 and e.card.get("experiment") == run["number"]
                 and not isinstance(e.card.get("experiment"), bool)]
    made_here.sort(key=lambda e: str(e.card.get("created", "")))
    return made_here[-1].id if made_here else ""


class ExperimentsPage(LibraryPage):
    def __init__(self, context) -> None:
        super().__init__(context)
        self.runs: list[dict] = []
        self.cache: dict[str, tuple[float, tuple]] = {}   # path -> (mtime, (curves, rollbacks))
        self.plot = None
        self._pending: set[str] = set()
        self.jobs = QuickJobs(context, "experiments", LIBRARY_LANE, parent=self)
        self.jobs.done.connect(self._curves_read)
        self.jobs.failed.connect(self._curves_failed)
        self.ctx.bridge.finished.connect(self._run_ended)

    def _build(self) -> None:
        head, self.notice, self.refresh_button = page_header(
            "Experiments", "Every training run: what it was, how it went, what you thought of it. "
                          "Select several to compare.", self.refresh)

        self.table = record_table(COLUMNS, stretch=4, multi=True)
        self.table.itemSelectionChanged.connect(self._selected)

        card, cv, self.detail = side_card()
        self.notes = QPlainTextEdit(placeholderText="Notes: what you tried, what you saw…")
        self.save_button = QPushButton("Save notes")
        self.resume_button = QPushButton("Resume…")
        self.resume_button.setToolTip("Continue this run from its last checkpoint on the Train page")
        self.open_button = QPushButton("Open model in Restore")
        self.notes.textChanged.connect(lambda: self.save_button.setEnabled(self._one() is not None))
        self.save_button.clicked.connect(lambda: self.save_notes())
        self.resume_button.clicked.connect(lambda: self.resume_selected())
        self.open_button.clicked.connect(self.open_model)
        cv.addWidget(self.detail)
        cv.addWidget(section("Notes"))
        cv.addWidget(self.notes, 1)
        cv.addWidget(self.save_button)
        row = QHBoxLayout()
        row.addWidget(self.resume_button)
        row.addWidget(self.open_button)
        cv.addLayout(row)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.table)
        top.addWidget(card)
        top.setStretchFactor(0, 1)
        top.setSizes([860, 360])
        top.setChildrenCollapsible(False)

        self.metric_box = QComboBox()
        self.metric_box.setMinimumWidth(160)
        self.metric_box.currentIndexChanged.connect(lambda _i: self.draw())
        self.log_check = QCheckBox("Log scale")
        self.log_check.toggled.connect(lambda _on: self.draw())
        self.compare_hint = QLabel("", objectName="hint")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Metric", objectName="hint"))
        bar.addWidget(self.metric_box)
        bar.addWidget(self.log_check)
        bar.addStretch(1)
        bar.addWidget(self.compare_hint)
        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(QLabel("Select runs above to overlay their curves.",
                                         objectName="hint", alignment=Qt.AlignmentFlag.AlignCenter))
        curves = QWidget()
        pv = QVBoxLayout(curves)
        pv.setContentsMargins(0, 6, 0, 0)
        pv.addLayout(bar)
        pv.addWidget(self.plot_stack, 1)
        self.diff = QTableWidget(0, 3)
        self.diff.setHorizontalHeaderLabels(("Field", "A", "B"))
        self.diff.verticalHeader().hide()
        self.diff.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.tabs = QTabWidget()
        self.tabs.addTab(curves, "Curves")
        self.tabs.addTab(self.diff, "Differences")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.tabs)
        lay_out_page(self, head, split, [380, 420])
        self._selected()

    # ------------------------------------------------------------------- list
    def on_shown(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        from training.experiments import list_experiments

        self.ensure_built()
        keep = set(self.selected_paths())
        try:
            self.runs = [e.summary() for e in reversed(list_experiments())]
        except OSError as err:
            self.notify(f"Could not read the journal: {err}", error=True)
            self.runs = []
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for s in self.runs:
            row = self.table.rowCount()
            self.table.insertRow(row)
            status = f"{s['status']} {s['step']}/{s['total']}" if s["total"] else s["status"]
            cells = (str(s["number"]), s["name"], s["created"].replace("T", " ")[:16], s["dataset"],
                     s["description"], status, results_text(s["results"]))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(PATH_ROLE, s["path"])
                item.setToolTip((s["error"] or s["hint"] or text) if col == 5 else text)
                self.table.setItem(row, col, item)
            if s["path"] in keep:
                self._add_row(row)
        self.table.blockSignals(False)
        self._selected()

    def _add_row(self, row: int) -> None:
        sel = self.table.selectionModel()
        sel.select(self.table.model().index(row, 0), sel.SelectionFlag.Select | sel.SelectionFlag.Rows)

    def select_numbers(self, numbers) -> None:
        self.ensure_built()
        self.table.clearSelection()
        for row, s in enumerate(self.runs):
            if s["number"] in numbers:
                self._add_row(row)

    def selected(self) -> list[dict]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def selected_paths(self) -> list[str]:
        return [s["path"] for s in self.selected()]

    def _one(self) -> dict | None:
        chosen = self.selected()
        return chosen[0] if len(chosen) == 1 else None

    def _selected(self) -> None:
        one = self._one()
        chosen = self.selected()
        self.notes.blockSignals(True)
        self.notes.setPlainText(one["notes"] if one else "")
        self.notes.blockSignals(False)
        self.notes.setEnabled(one is not None)
        self.save_button.setEnabled(False)
        resumable = bool(one) and one["status"] != "running" and (
            Path(one["path"]) / "checkpoints" / "last" / "train_state.pt").exists()
        self.resume_button.setEnabled(resumable)
        self.open_button.setEnabled(bool(one and one["model"]))
        if one:
            lines = [f"<b>#{one['number']} {one['name']}</b> · {one['status']} at step "
                     f"{one['step']}/{one['total']}", one["description"],
                     f"Dataset: {one['dataset']}", results_text(one["results"])]
            if one["model"]:
                lines.append(f"Model: {one['model']}")
            if one["error"]:
                lines.append(f"Error: {one['error']}")
            if one["status"] == "interrupted":   # its process died (killed, power loss)
                lines.append(f"<b>{html.escape(interrupted_text(one, resumable))}</b>")
            if resumable:
                from ..train.resume import default_steps

                lines.append(f"<i>Resume… continues it from its last checkpoint to step "
                             f"{default_steps(one)}.</i>")
            self.detail.setText("<br>".join(t for t in lines if t))
        else:
            self.detail.setText(f"{len(chosen)} runs selected: their curves are overlaid below."
                                if chosen else "Select a run to see its notes; one with a "
                                               "checkpoint can be resumed.")
        self._show_diff(chosen)
        self._load_curves()

    def _show_diff(self, chosen: list[dict]) -> None:
        self.diff.setRowCount(0)
        if len(chosen) != 2:
            self.tabs.setTabText(1, "Differences (select two runs)")
            return
        from training.experiments import compare

        try:
            rows = compare(chosen[0]["path"], chosen[1]["path"])
        except Exception as err:   # an unreadable config: say so, never a dead page
            rows = [("error", str(err), "")]
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        for field, a, b in rows:
            r = self.diff.rowCount()
            self.diff.insertRow(r)
            for c, text in enumerate((field, fmt(a), fmt(b))):
                self.diff.setItem(r, c, QTableWidgetItem(text))
        self.tabs.setTabText(1, f"Differences (#{chosen[0]['number']} vs #{chosen[1]['number']})")

    # ---------------------------------------------------------------- actions
    def save_notes(self, text: str | None = None) -> bool:
        one = self._one()
        if one is None:
            return False
        from training.experiments import Experiment

        text = self.notes.toPlainText() if text is None else text
        try:
            Experiment(Path(one["path"])).set_notes(text)
        except OSError as err:
            self.notify(f"Could not save the notes: {err}", error=True)
            return False
        one["notes"] = text.strip()
        self.save_button.setEnabled(False)
        self.notify(f"Notes of experiment {one['number']} saved.")
        return True

    def resume_selected(self, steps: int | None = None) -> bool:
        one = self._one()
        train = getattr(self.window(), "pages", {}).get("Train")
        if one is None or not hasattr(train, "resume_run"):
            return False
        from ..train.resume import default_steps

        return train.resume_run(str(one["number"]), steps or default_steps(one))

    def open_model(self) -> bool:
        """Choose the selected run's model on the Restore page (found after a rename too)."""
        one = self._one()
        if not (one and one["model"]):
            return False
        model_id = find_run_model(one)
        if not model_id:
            self.notify(f"The model of experiment {one['number']} ('{one['model']}') is not in "
                        "the library any more: it was deleted. Resume the run or train it again "
                        "to get one.", error=True)
            return False
        if model_id != one["model"]:   # renamed meanwhile: the journal learns the new name
            from training.experiments import Experiment

            try:
                Experiment(Path(one["path"])).update(model=model_id)
            except OSError:
                pass
            one["model"] = model_id
            self._selected()
        self.ctx.use_model_requested.emit(model_id)
        self.ctx.navigate_requested.emit("Restore")
        return True

    # ---------------------------------------------------------------- curves
    def _stale(self, path: str) -> bool:
        try:
            mtime = (Path(path) / "metrics.jsonl").stat().st_mtime
        except OSError:
            mtime = 0.0
        return self.cache.get(path, (None,))[0] != mtime

    def _load_curves(self) -> None:
        wanted = [p for p in self.selected_paths() if self._stale(p) and p not in self._pending]
        if wanted:
            self._pending.update(wanted)
            self.jobs.run("curves", curves_job, tuple(wanted), "Reading curves", coalesce=False)
        self._fill_metrics()
        self.draw()

    def _run_ended(self, key, _event) -> None:
        if isinstance(key, tuple) and key[0] == "train" and self.isVisible():
            self.refresh()   # a run ended while the journal is on screen

    def _curves_read(self, _kind: str, result) -> None:
        for path, data in (result or {}).items():
            self._pending.discard(path)
            try:
                mtime = (Path(path) / "metrics.jsonl").stat().st_mtime
            except OSError:
                mtime = 0.0
            self.cache[path] = (mtime, data)
        self._fill_metrics()
        self.draw()

    def _curves_failed(self, _kind: str, message: str) -> None:
        self._pending.clear()
        self.notify(f"Could not read the curves: {message}", error=True)

    def _fill_metrics(self) -> None:
        names = set()
        for path in self.selected_paths():
            names.update(self.cache.get(path, (0, ({}, [])))[1][0])
        names.discard("throughput")
        ordered = [n for n in PREFERRED if n in names] + sorted(names - set(PREFERRED))
        current = self.metric_box.currentText() or "loss/total"
        self.metric_box.blockSignals(True)
        self.metric_box.clear()
        self.metric_box.addItems(ordered)
        self.metric_box.setCurrentIndex(max(0, self.metric_box.findText(current)))
        self.metric_box.blockSignals(False)

    def ensure_plot(self):
        if self.plot is None:
            import pyqtgraph as pg

            from .. import theme
            from ..train.curves import style_plot

            self.plot = pg.PlotWidget(background=theme.colors()["base"])
            item = self.plot.getPlotItem()
            item.addLegend(offset=(-8, 8), labelTextSize="8pt")
            item.showGrid(x=True, y=True, alpha=0.15)
            item.setClipToView(True)
            item.setDownsampling(auto=True, mode="peak")
            item.setMenuEnabled(False)
            style_plot(item, "")
            self.plot_stack.addWidget(self.plot)
        return self.plot

    def draw(self) -> int:
        """Overlay the chosen metric of every selected run; returns how many curves it drew."""
        chosen = [s for s in self.selected() if s["path"] in self.cache]
        name = self.metric_box.currentText()
        if not chosen or not name:
            self.plot_stack.setCurrentIndex(0)
            self.compare_hint.setText("")
            return 0
        import pyqtgraph as pg

        from ..train.curves import COLORS, style_plot

        item = self.ensure_plot().getPlotItem()
        item.clear()
        item.legend.clear()
        item.setLogMode(False, self.log_check.isChecked())
        drawn = 0
        for i, s in enumerate(chosen):
            curves, rollbacks = self.cache[s["path"]][1]
            if name not in curves:
                continue
            color = COLORS[i % len(COLORS)]
            xs, ys = curves[name]
            item.plot(xs, ys, pen=pg.mkPen(color, width=1.6), name=f"#{s['number']} {s['name']}")
            for step in rollbacks:
                item.addItem(pg.InfiniteLine(step, angle=90, pen=pg.mkPen(
                    color, width=1, style=Qt.PenStyle.DashLine)), ignoreBounds=True)
            drawn += 1
        style_plot(item, name)
        self.plot_stack.setCurrentWidget(self.plot)
        self.compare_hint.setText(f"{drawn} of {len(self.selected())} runs have {name}")
        return drawn
