"""The Restore page: queue | viewer | model and options. Jobs run on the engine's Runner."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QScrollArea,
                               QSpinBox, QSplitter, QStackedWidget, QToolButton, QVBoxLayout,
                               QWidget)

from . import files
from .actions import RestoreActions
from .catalog import default_model
from .empty import SAMPLE_TASK, EmptyState, sample_path
from .keeping import KeptResults
from .marking import Marking
from .options import OptionsPanel
from .picker import ModelPicker
from .queue import QueueItem, QueueView
from .viewer import Viewer


def _section(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="sectionTitle")


class _FitWidthScroll(QScrollArea):
    """Scrolls vertically only; its content always gets exactly the visible width."""

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.widget() is not None:
            self.widget().setFixedWidth(self.viewport().width())


class RestorePage(RestoreActions, KeptResults, QWidget):
    queue_changed = Signal()

    def __init__(self, context) -> None:
        QWidget.__init__(self)
        self.ctx = context
        self.settings = context.settings
        self._build()
        self.picker.refresh()
        self._choose_initial_model()
        self.options.load(self.settings)
        self.viewer.set_mode(self.settings.get("viewer_mode") or "split")
        self._connect()
        self.marking = Marking(self)   # regions marked as training examples, fine-tuning
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        left = QWidget(objectName="panel")
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 10, 0, 8)
        lv.setSpacing(6)
        head = QHBoxLayout()
        head.setContentsMargins(14, 0, 8, 0)
        self.queue_title = QLabel("QUEUE", objectName="sectionTitle")
        self.add_button = QToolButton(text="Add ▾", toolTip="Add images to the queue")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        menu.addAction("Images…", self.open_files)
        menu.addAction("Folder…", self.open_folder)
        menu.addAction("Paste from clipboard", self.paste)
        menu.addSeparator()
        menu.addAction("Remove finished", self.remove_finished)
        menu.addAction("Clear queue", self.clear_queue)
        self.add_button.setMenu(menu)
        head.addWidget(self.queue_title)
        head.addStretch(1)
        head.addWidget(self.add_button)
        self.queue_view = QueueView()
        self.queue = self.queue_view.queue
        self.queue_hint = QLabel("Drop images here, or anywhere on the window.",
                                 objectName="hint")
        self.queue_hint.setWordWrap(True)
        self.queue_hint.setContentsMargins(14, 0, 14, 0)
        lv.addLayout(head)
        lv.addWidget(self.queue_view, 1)
        lv.addWidget(self.queue_hint)

        self.viewer = Viewer()
        self.empty = EmptyState()
        self.banner = QLabel("", objectName="error")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_frame = QFrame(objectName="panel")
        bl = QHBoxLayout(self.banner_frame)
        bl.setContentsMargins(14, 8, 14, 8)
        bl.addWidget(self.banner, 1)
        self.banner_frame.hide()
        viewer_box = QWidget()
        vb = QVBoxLayout(viewer_box)
        vb.setContentsMargins(0, 0, 0, 0)
        vb.setSpacing(0)
        vb.addWidget(self.banner_frame)
        vb.addWidget(self.viewer, 1)
        self.viewer_box_layout = vb   # tools under the viewer (timeline_view.py: the timeline)
        self.center = QStackedWidget()
        self.center.addWidget(self.empty)
        self.center.addWidget(viewer_box)

        right_inner = QWidget()
        rv = QVBoxLayout(right_inner)
        rv.setContentsMargins(16, 12, 16, 12)
        rv.setSpacing(8)
        self.picker = ModelPicker()
        self.options = OptionsPanel()
        rv.addWidget(_section("Model"))
        rv.addWidget(self.picker)
        rv.addSpacing(6)
        rv.addWidget(_section("Options"))
        rv.addWidget(self.options)
        rv.addStretch(1)
        scroll = _FitWidthScroll()
        scroll.setWidgetResizable(True)
        scroll.setWidget(right_inner)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.run_button = QPushButton("Restore")
        self.run_button.setProperty("primary", True)
        self.run_button.setToolTip("Restore the selected images (Ctrl+Return)")
        self.run_all_button = QPushButton("Restore all")
        self.run_all_button.setToolTip("Restore every image in the queue that is not done "
                                       "(Ctrl+Shift+Return)")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the shown result (Ctrl+S)")
        self.save_all_button = QPushButton("Save all…")
        self.save_all_button.setToolTip("Save every result to a folder (Ctrl+Shift+S)")
        actions = QWidget(objectName="panel")
        grid = QVBoxLayout(actions)
        grid.setContentsMargins(16, 10, 16, 14)
        grid.setSpacing(8)
        self.quality = QSpinBox(toolTip="Quality of results saved as JPEG or WebP, 1-100 (PNG "
                                        "and TIFF are lossless and ignore it). Auto: the usual "
                                        "default, and a lossless WebP stays lossless.")
        self.quality.setRange(0, 100)
        self.quality.setSpecialValueText("Auto")
        self.quality.setValue(int(self.settings.get("save_quality") or 0))
        self.quality.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row1, row2, row3 = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.run_button, 1)
        row1.addWidget(self.run_all_button, 1)
        row2.addWidget(self.save_button, 1)
        row2.addWidget(self.save_all_button, 1)
        row3.addWidget(QLabel("JPEG / WebP quality", objectName="hint"), 1)
        row3.addWidget(self.quality)
        grid.addLayout(row1)
        grid.addLayout(row2)
        grid.addLayout(row3)
        right = QWidget(objectName="panel")
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(scroll, 1)
        rl.addWidget(actions)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setCollapsible(1, False)
        left.setMinimumWidth(210)
        right.setMinimumWidth(290)
        self.splitter.setSizes([270, 900, 330])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _connect(self) -> None:
        self.queue_view.selectionModel().currentChanged.connect(lambda *_: self.show_current())
        self.queue_view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.queue_view.delegate.action.connect(self.item_action)
        self.queue_view.doubleClicked.connect(lambda _i: self.run_selected())
        self.queue_view.customContextMenuRequested.connect(self._context_menu)
        self.queue.rowsInserted.connect(self._queue_changed)
        self.queue.rowsRemoved.connect(self._queue_changed)
        self.queue.modelReset.connect(self._queue_changed)
        self.empty.open_files.connect(self.open_files)
        self.empty.open_folder.connect(self.open_folder)
        self.empty.try_sample.connect(self.try_sample)
        self.picker.model_changed.connect(self._model_changed)
        self.options.changed.connect(self._options_changed)
        self.viewer.mode_changed.connect(lambda m: self.settings.set("viewer_mode", m))
        self.viewer.reference_requested.connect(lambda: self.set_reference())
        self.viewer.compare_changed.connect(self.compare_with)
        self.run_button.clicked.connect(self.run_selected)
        self.run_all_button.clicked.connect(self.run_all)
        self.save_button.clicked.connect(lambda: self.save_current())
        self.save_all_button.clicked.connect(lambda: self.save_all())
        self.quality.valueChanged.connect(lambda v: self.settings.set("save_quality", int(v)))
        b = self.ctx.bridge
        b.started.connect(self._on_started)
        b.progress.connect(self._on_progress)
        b.finished.connect(self._on_finished)
        b.failed.connect(self._on_failed)
        b.saved.connect(self._on_saved)
        b.item_failed.connect(self._on_item_failed)
        b.log.connect(self._on_log)
        self.ctx.models_changed.connect(self.refresh_models)
        self.ctx.use_model_requested.connect(self.use_model)

    def _context_menu(self, pos) -> None:
        items = self.queue_view.selected_items()
        if not items:
            return
        menu = QMenu(self)
        menu.addAction("Restore", self.run_selected)
        if any(i.busy for i in items):
            menu.addAction("Cancel", lambda: [self.cancel(i) for i in items])
        menu.addAction("Retry", lambda: [self.retry(i) for i in items])
        menu.addAction("Queue again (to compare models)", lambda: self.queue_again(items))
        menu.addSeparator()
        menu.addAction("Remove", lambda: [self.remove(i) for i in items])
        menu.exec(self.queue_view.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ models
    def _choose_initial_model(self) -> None:
        saved = self.settings.get("model")
        if not (saved and self.picker.select(saved, emit=False)):
            self.picker.select(default_model(SAMPLE_TASK, self.settings,
                                             list(self.picker.choices.values())), emit=False)
        self._model_changed(self.picker.current_id(), remember=False)

    def _model_changed(self, model_id: str, remember: bool = True) -> None:
        if remember:
            self.settings.set("model", model_id)
        opts = self.settings.get("method_options", {}).get(model_id, {})
        self.options.set_choice(self.picker.current(), opts)
        sample = self.picker.choices.get(default_model(SAMPLE_TASK, self.settings,
                                                       list(self.picker.choices.values())))
        if sample is not None:
            self.empty.set_sample_model(sample.title)

    def _options_changed(self) -> None:
        values = self.options.values()
        self.settings.update(**values)
        model_id = self.picker.current_id()
        if model_id and self.options.method_rows:
            all_opts = dict(self.settings.get("method_options", {}))
            all_opts[model_id] = self.options.method_options()
            self.settings.set("method_options", all_opts)

    def refresh_models(self) -> None:
        from .jobs import forget_restorers

        forget_restorers()
        self.picker.refresh()
        self._model_changed(self.picker.current_id(), remember=False)

    def use_model(self, model_id: str) -> bool:
        """Choose a model for the next restores (nothing runs until the user says so)."""
        self.picker.refresh()
        if self.picker.select(model_id):
            self.ctx.status(f"{self.picker.current().title} is chosen: select images and "
                            "press Restore to run it.")
            return True
        self.ctx.status(f"The model '{model_id}' is not in the library any more (renamed or "
                        "deleted?): choose another one.")
        return False

    # ------------------------------------------------------------------- queue
    def add_paths(self, paths: list[str | Path], select: bool = True,
                  again: bool = False) -> list[QueueItem]:
        """Queue image files (folders are searched). A file already queued and not restored
        yet is not added twice; one with a result is (to compare another model's result);
        ``again`` always adds."""
        images, skipped = files.expand(list(paths))
        had = {i.path for i in self.queue.items}
        fresh = self.queue.add(images, again=again)
        repeated = [i for i in fresh if i.path in had]
        for row in repeated:   # the picture is read already: share it
            row.image = next((i.image for i in self.queue.items
                              if i.path == row.path and i.image is not None), None)
        if skipped:
            names = ", ".join(Path(p).name for p in skipped[:3])
            more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
            self.ctx.status(f"Skipped {names}{more}: not an image RestoreLab can open.")
        if not images and not skipped:
            self.ctx.status("No images found there.")
        if fresh and select:
            self.queue_view.select_item(fresh[0])
        elif images and select and not fresh:
            self.ctx.status("Those images are already in the queue, not restored yet.")
        if repeated and select:
            name = repeated[0].name if len(repeated) == 1 else f"{len(repeated)} images"
            self.ctx.status(f"{name} queued again: choose another model and press Restore, then "
                            "compare the results (Compare with, below the picture).")
        return fresh

    def queue_again(self, items: list[QueueItem]) -> list[QueueItem]:
        """Another row for each of these files, to restore them with another model."""
        return self.add_paths([i.path for i in items], again=True)

    def drop_paths(self, paths: list[str]) -> bool:
        return bool(self.add_paths(paths)) or True

    def _queue_changed(self, *_args) -> None:
        n = len(self.queue.items)
        self.queue_title.setText(f"QUEUE · {n}" if n else "QUEUE")
        self.queue_hint.setVisible(n == 0)
        self.center.setCurrentIndex(1 if n else 0)
        if not n:
            self.viewer.clear()
            self.banner_frame.hide()
        self.settings.set("workspace", self.workspace())
        self._update_buttons()
        self.queue_changed.emit()

    def workspace(self) -> list[str]:
        return [i.path for i in self.queue.items]

    def restore_workspace(self) -> None:
        paths = [p for p in self.settings.get("workspace", []) if isinstance(p, str)]
        present = [p for p in paths if Path(p).is_file()]
        if present:
            self.add_paths(present, again=True)   # the queue as it was, repeated files too
            self.bring_back_kept()                # with the results it had
        if len(present) < len(paths):
            gone = len(paths) - len(present)
            what = f"{gone} images" if gone > 1 else "1 image"
            self.ctx.status(f"{what} from the last session could not be found.")

    def current_item(self) -> QueueItem | None:
        return self.queue_view.current_item()

    def try_sample(self) -> QueueItem | None:
        """One click: the sample in the queue, the default denoiser chosen, restored."""
        model = default_model(SAMPLE_TASK, self.settings, list(self.picker.choices.values()))
        self.picker.select(model)
        path = str(sample_path())
        item = next((i for i in self.queue.items if i.path == path), None)
        if item is None:
            fresh = self.add_paths([path])
            item = fresh[0] if fresh else None
        if item is not None:
            self.queue_view.select_item(item)
            self.run_items([item])
        self.settings.set("first_run_done", True)
        return item

    def _update_buttons(self) -> None:
        items = self.queue.items
        selected = self.queue_view.selected_items() or ([self.current_item()] if self.current_item() else [])
        self.run_button.setEnabled(bool(selected))
        self.run_all_button.setEnabled(any(not i.busy and i.status != "done" for i in items))
        cur = self.current_item()
        self.save_button.setEnabled(bool(cur and cur.result is not None))
        self.save_all_button.setEnabled(any(i.result is not None for i in items))

    # -------------------------------------------------------------- the viewer
    def show_current(self) -> None:
        item = self.current_item()
        self._update_buttons()
        if item is None:
            self.viewer.clear()
            self.banner_frame.hide()
            return
        shown = item.result is not None or item.image is not None
        self.banner.setText(f"Could not restore {item.name}: {item.error}" if item.error else "")
        self.banner_frame.setVisible(bool(item.error) and shown)  # else the viewer says it
        self.viewer.set_compare_choices(self._compare_choices(item), item.compare_with)
        if item.result is not None:
            other = self.compared_with(item)
            before, labels = ((other.result.pixels, (other.result.model, item.result.model))
                              if other is not None else (item.result.image.pixels,
                                                         ("Before", "After")))
            self.viewer.set_images(before, item.result.pixels, item.result.image.info.bit_depth,
                                   keep_view=True, labels=labels,
                                   sources=self.compare_sources(item))
        elif item.image is not None:
            self.viewer.set_images(item.image.pixels, None, item.image.info.bit_depth,
                                   keep_view=True)
        elif item.status == "failed":
            self.viewer.clear(f"Could not restore {item.name}:\n\n{item.error}")
        else:
            self.viewer.clear(f"Opening {item.name}…")
            self.load(item)
        self.viewer.set_metrics_text(getattr(item, "metrics_text", ""))

    # --------------------------------------------------- comparing two results
    def _same_image_results(self, item: QueueItem) -> list[QueueItem]:
        return [i for i in self.queue.items
                if i is not item and i.path == item.path and i.result is not None]

    def _compare_choices(self, item: QueueItem) -> list[tuple[str, int]]:
        if item.result is None:
            return []
        return [("Input", 0)] + [(f"#{self.queue.row_of(o) + 1} {o.result.model}", o.id)
                                 for o in self._same_image_results(item)]

    def compare_sources(self, item: QueueItem) -> list[tuple[str, int, object]]:
        """What the compare panes offer: the input, this result, then "Compare with"'s others."""
        choices = self._compare_choices(item)
        mine = (f"#{self.queue.row_of(item) + 1} {item.result.model}", item.id)
        rows = [(text, key, self.queue.by_id(key).result.pixels if key else
                 item.result.image.pixels) for text, key in choices[:1] + [mine] + choices[1:]]
        return rows + self.marking.timeline.compare_sources(item)

    def compared_with(self, item: QueueItem) -> QueueItem | None:
        """The other row whose result the viewer shows as "before", if the user chose one."""
        other = self.queue.by_id(item.compare_with) if item.compare_with else None
        if other is None or other not in self._same_image_results(item):
            item.compare_with = 0
            return None
        return other

    def compare_with(self, item_id: int) -> None:
        """Show the current result next to another row's result of the same file (0: the input)."""
        item = self.current_item()
        if item is not None:
            item.compare_with = int(item_id or 0)
            self.show_current()

    def save_state(self) -> None:
        self.settings.set("workspace", self.workspace())
        self.settings.set("viewer_mode", self.viewer.mode)
        self.sync_kept()
