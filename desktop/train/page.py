"""The Train page: the run form on the left, the live dashboard on the right.

All work goes through the Runner: the catalog of choices, recipe previews and
parameter counts on a quick lane, training runs on their own lane (so a
restore never waits for a run that takes hours). Quick jobs are coalesced:
at most one of each kind runs, and the latest request runs after it.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from engine.job_process import in_process

from .jobs import (LIBRARY_LANE, TRAIN_LANE, History, PairsSpec, RunRequest, catalog_job,
                   list_datasets_job, pairs_job, params_job, short_count, train_run_job)
from .quick import QuickJobs, warm_plots_job
from .widgets import debouncer, fit_width_scroll

ACTIVE = ("starting", "running", "paused", "stopping")
TOML_FILTER = "Run configs (*.toml);;All files (*)"


class TrainPage(QWidget):
    def __init__(self, context) -> None:
        super().__init__()
        self.ctx = context
        self.settings = context.settings
        self.catalog: dict | None = None
        self.datasets: dict[str, dict] = {}
        self.key = None              # the run shown on the dashboard
        self.handle = None
        self.model_id = ""
        self._ids = itertools.count(1)
        self.quick = QuickJobs(context, "train-quick", parent=self)
        self._shown_key: dict[str, object] = {}  # kind -> input the latest request was for
        self.form = None         # RunForm and Dashboard, built by ensure_built()
        self.dashboard = None
        self._build_head()

    def ensure_built(self) -> None:
        """The form and the dashboard are built when the page is first needed (a faster launch)."""
        if self.form is None:
            self._build_body()
            self._connect()

    def _build_head(self) -> None:
        title = QLabel("Train", objectName="pageTitle")
        subtitle = QLabel("Design a run, watch it learn, use the model.", objectName="hint")
        self.resume_button = QPushButton("Resume…")
        self.resume_button.setToolTip("Continue a stopped run from its last checkpoint")
        head = QHBoxLayout()
        head.setContentsMargins(18, 14, 20, 0)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(title)
        texts.addWidget(subtitle)
        head.addLayout(texts, 1)
        head.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.resume_button.clicked.connect(self.choose_resume)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(head)

    def _build_body(self) -> None:
        from .dashboard import Dashboard
        from .form import RunForm

        left = QWidget(objectName="panel")
        self.form = RunForm()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(fit_width_scroll(self.form))
        left.setMinimumWidth(360)
        self.dashboard = Dashboard()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.dashboard)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([430, 1000])
        self.splitter.setChildrenCollapsible(False)
        self.layout().addWidget(self.splitter, 1)

    def _connect(self) -> None:
        d, b = self.dashboard, self.ctx.bridge
        d.start_button.clicked.connect(self.start)
        d.pause_button.clicked.connect(self.toggle_pause)
        d.stop_button.clicked.connect(self.stop)
        d.open_button.clicked.connect(self.open_in_restore)
        self.form.preset.activated.connect(lambda _i: self.use_preset(self.form.preset.currentData()))
        self.form.load_button.clicked.connect(lambda: self.load_config())
        self.form.save_button.clicked.connect(lambda: self.save_config())
        self.form.changed.connect(self._form_changed)
        self._validate_timer = debouncer(self, 200, self.validate)
        self._pairs_timer = debouncer(self, 300, lambda: self._run_quick("pairs"))
        self._params_timer = debouncer(self, 400, lambda: self._run_quick("params"))
        b.metrics.connect(lambda k, ms: self._mine(k) and self._metrics(ms))
        b.progress.connect(lambda k, e: self._mine(k) and d.on_progress(e))
        b.preview.connect(lambda k, e: self._mine(k) and d.on_preview(e))
        b.rollback.connect(lambda k, e: self._mine(k) and d.on_rollback(e))
        b.log.connect(lambda k, e: self._mine(k) and d.log(e.level, e.text))
        b.saved.connect(lambda k, e: self._mine(k) and d.log("info", f"saved {e.kind}: {e.path}"))
        b.event.connect(lambda k, e: self._mine(k) and isinstance(e, History) and d.load_history(e))
        b.finished.connect(self._finished)
        b.failed.connect(self._failed)
        self.quick.done.connect(self._quick_ended)
        self.quick.failed.connect(lambda kind, message: self._quick_ended(kind, None, message))
        self._update_buttons()

    def _mine(self, key) -> bool:
        return key is not None and key == self.key

    # ------------------------------------------------------------- page hooks
    def on_shown(self) -> None:
        self.ensure_built()
        QTimer.singleShot(0, self.load_catalog)   # the page paints first
        if self.dashboard.curves is None and not self.quick.busy("warm"):
            self.quick.run("warm", warm_plots_job, None, "Loading the plotting library")
        if self.form.ready:
            self._form_changed()   # renders what a hide cut short

    def hideEvent(self, event) -> None:
        # another page, or the window closing: no quick job may start after the runner ended
        if self.form is not None:
            for timer in (self._validate_timer, self._pairs_timer, self._params_timer):
                timer.stop()
        super().hideEvent(event)

    def save_state(self) -> None:
        if self.form is not None and self.form.ready:
            try:
                self.settings.set("train_form", self.form.values())
            except ValueError:
                pass

    # ----------------------------------------------------------------- catalog
    def load_catalog(self) -> None:
        """The form's choices (once) and the named datasets (at every visit: they change)."""
        if self.catalog is None and not self.quick.busy("catalog"):
            self.quick.run("catalog", catalog_job, None, "Reading presets")
        self.refresh_datasets()

    def refresh_datasets(self) -> None:
        self.quick.run("datasets", list_datasets_job, None, "Listing datasets", LIBRARY_LANE)

    def _catalog_ready(self, catalog: dict) -> None:
        self.catalog = catalog
        self.form.set_catalog(catalog)
        saved = self.settings.get("train_form")
        presets = catalog["presets"]
        if isinstance(saved, dict) and saved:
            self.form.set_raw(saved)
            if self.form.bad_fields:
                self.ctx.status("The saved run form had values it cannot show; they got their "
                                f"defaults: {', '.join(self.form.bad_fields)}")
        elif presets:
            self.use_preset("denoise-dncnn" if "denoise-dncnn" in presets else next(iter(presets)))
        self._update_buttons()

    def use_preset(self, name: str) -> None:
        if self.catalog and name in self.catalog["presets"]:
            self.form.set_raw(self.catalog["presets"][name][1])
            i = self.form.preset.findData(name)
            self.form.preset.setCurrentIndex(max(i, 0))

    # ---------------------------------------------------------- quick jobs
    def _form_changed(self) -> None:
        self._validate_timer.start()
        if self._shown_key.get("pairs") != self.form.preview_key():
            self._pairs_timer.start()
        if self._shown_key.get("params") != self._params_input():
            self._params_timer.start()

    def _params_input(self) -> tuple:
        try:
            kwargs = self.form.values()["model"]["kwargs"]
        except (ValueError, KeyError):
            return ()
        return (self.form.arch.currentData(), tuple(sorted((k, repr(v)) for k, v in kwargs.items())))

    def _run_quick(self, kind: str) -> None:
        if kind == "pairs":
            spec = self._pairs_spec()
            self._shown_key[kind] = self.form.preview_key()
            job, title = pairs_job, "Rendering sample pairs"
            self.form.pairs_note.setText("Rendering…")
        else:
            marker = self._params_input()
            if not marker:
                return
            self._shown_key[kind] = marker
            spec = (marker[0], self.form.values()["model"]["kwargs"])
            job, title = params_job, "Counting parameters"
            self.form.params_label.setText("Counting parameters…")
        self.quick.run(kind, job, spec, title)

    def _pairs_spec(self) -> PairsSpec:
        f = self.form
        name = f.dataset.currentData()
        folder = self.datasets.get(name, {}).get("train", "") if name else f.folder.text().strip()
        return PairsSpec(tuple(f.recipe.recipe()), folder, n=4, crop=f.crop.value(), seed=f.seed,
                         grey=f.grey.isChecked(), columns=2)

    def _quick_ended(self, kind: str, result=None, error: str = "") -> None:
        f = self.form
        if result is None and not error:
            return   # aborted (the window is closing)
        if kind == "catalog":
            if error:
                f.loading.setText(f"Could not read the presets: {error}")
                self.ctx.status(f"Train page: {error}")
            else:
                self._catalog_ready(result)
        elif kind == "datasets" and error:
            self.ctx.status(f"Could not list the named datasets: {error}")
        elif kind == "datasets":
            self.datasets = {d.get("name", ""): d for d in (result or [])}
            f.set_datasets(sorted(n for n in self.datasets if n))
        elif kind == "pairs":
            f.pairs.set_array(None if error else result)
            f.pairs.set_hint(error or f.pairs.hint)
            f.pairs_note.setText(f"⚠ {error}" if error else "Input | target, as training sees them")
        elif kind == "warm":
            QTimer.singleShot(0, self.dashboard.ensure_curves)   # now, not when a run starts
        elif kind == "params":
            f.params_label.setText(f"⚠ {error}" if error else f"{short_count(result)} parameters "
                                                              f"({result:,})")

    # ------------------------------------------------------------- validation
    def validate(self) -> bool:
        from engine.errors import ConfigError
        from training.config import RunConfig

        try:
            RunConfig.from_dict(self.form.values())
        except (ConfigError, ValueError) as err:
            self.form.error.setText(f"⚠ {err}")
            return False
        self.form.error.setText("")
        return True

    # ------------------------------------------------------------------ runs
    def active(self) -> bool:
        return self.dashboard is not None and self.dashboard.state in ACTIVE

    def start(self) -> bool:
        """Start a run with the form's config."""
        self.ensure_built()
        if self.active() or not self.form.ready:
            return False
        if not self.validate():
            self.dashboard.show_error(self.form.error.text())
            return False
        raw = self.form.values()
        if not raw.get("threads"):   # torch would take every core; the window needs one
            raw["threads"] = max(1, (os.cpu_count() or 2) - 1)
        return self._submit(RunRequest(raw=raw, name=raw.get("name") or None),
                            raw.get("name") or "run")

    def resume_run(self, ref, steps: int | None = None) -> bool:
        """Continue experiment ``ref`` (number, name or folder) from its last checkpoint."""
        if self.active():
            self.ctx.status("A run is in progress: stop it before resuming another.")
            return False
        overrides = (f"schedule.steps={int(steps)}",) if steps else ()
        self.ctx.navigate_requested.emit("Train")
        self.ensure_built()
        return self._submit(RunRequest(resume=str(ref), overrides=overrides),
                            f"Resuming experiment {Path(str(ref)).name}")

    def _submit(self, request: RunRequest, title: str) -> bool:
        self.key = ("train", next(self._ids))
        self.model_id = ""
        self.dashboard.reset(title)
        self.dashboard.ensure_curves()
        self.dashboard.set_state("starting")
        # its own process: a training step's Python work would otherwise hold the UI's GIL
        self.handle = self.ctx.submit(in_process(train_run_job), request, self.key,
                                      title=f"Training {title}", device=TRAIN_LANE)
        self._update_buttons()
        return True

    def toggle_pause(self) -> None:
        if self.handle is None:
            return
        if self.dashboard.state == "running":
            self.handle.control.pause()
            self.dashboard.set_state("paused")
            self.dashboard.log("info", "paused")
        elif self.dashboard.state == "paused":
            self.handle.control.resume()
            self.dashboard.set_state("running")
            self.dashboard.log("info", "resumed")
        self._update_buttons()

    def stop(self) -> None:
        """Finish the current step, save a checkpoint (resumable) and the model so far."""
        if self.handle is not None and self.active():
            self.handle.control.stop()
            self.dashboard.set_state("stopping")
            self._update_buttons()

    def open_in_restore(self) -> None:
        if self.model_id:
            self.ctx.use_model_requested.emit(self.model_id)
            self.ctx.navigate_requested.emit("Restore")

    def _metrics(self, metrics) -> None:
        if self.dashboard.state == "starting":
            self.dashboard.set_state("running")
            self._update_buttons()
        self.dashboard.on_metrics(metrics)

    def _finished(self, key, event) -> None:
        if not self._mine(key):
            return
        result = event.result or {}
        self.dashboard.set_state(event.status)
        self.model_id = result.get("model") or ""
        exp = result.get("experiment")
        text = {"done": "finished", "stopped": "stopped", "aborted": "aborted"}.get(event.status,
                                                                                  event.status)
        where = f"experiment {exp} {text} at step {result.get('step')}" if exp else f"run {text}"
        if self.model_id:
            where += f"; model '{self.model_id}' is in the library"
            self.ctx.models_changed.emit()
        if event.status == "stopped" and exp:
            where += " (Resume… continues it)"
        self.dashboard.log("info", where)
        self.ctx.status(where[0].upper() + where[1:])
        self.handle = None
        self._update_buttons()

    def _failed(self, key, event) -> None:
        if not self._mine(key):
            return
        self.dashboard.set_state("failed", event.message)
        self.dashboard.log("error", event.message)
        self.ctx.status(f"Training failed: {event.message}")
        self.handle = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        d, state = self.dashboard, self.dashboard.state
        d.start_button.setEnabled(not self.active() and self.form.ready)
        d.pause_button.setEnabled(state in ("running", "paused"))
        d.pause_button.setText("Resume" if state == "paused" else "Pause")
        d.stop_button.setEnabled(state in ("starting", "running", "paused"))
        d.open_button.setEnabled(bool(self.model_id))
        d.open_button.setToolTip(f"Restore images with '{self.model_id}'" if self.model_id else
                                 "Available when a run has finished or was stopped")
        self.resume_button.setEnabled(not self.active())

    # ------------------------------------------------------------ files
    def load_config(self, path: str | None = None) -> bool:
        self.ensure_built()
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load run config", "", TOML_FILTER)
        return bool(path) and self._config_io(lambda: self.form.load_file(path),
                                              f"Loaded {Path(path).name}")

    def save_config(self, path: str | None = None) -> bool:
        self.ensure_built()
        if not self.validate():
            self.ctx.status(f"Not saved: {self.form.error.text()}")
            return False
        if path is None:
            name = f"{self.form.name.text().strip() or 'run'}.toml"
            path, _ = QFileDialog.getSaveFileName(self, "Save run config", name, TOML_FILTER)
        return bool(path) and self._config_io(lambda: self.form.save_file(path), f"Saved {path}")

    def _config_io(self, action, done: str) -> bool:
        from engine.errors import ConfigError

        try:
            action()
        except (ConfigError, OSError, ValueError) as err:
            self.form.error.setText(f"⚠ {err}")
            self.ctx.status(str(err))
            return False
        self.ctx.status(done)
        return True

    def choose_resume(self) -> None:
        from .resume import ResumeDialog

        dialog = ResumeDialog(self)
        if dialog.exec() and dialog.choice():
            self.resume_run(*dialog.choice())
