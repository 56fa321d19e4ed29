"""The Datasets page: named folders of training images, their size, and the pairs a recipe makes.

Same logic as ``restorelab datasets`` (``training.datasets.add_named`` /
``list_named`` / ``remove_named``), run as jobs on the Runner's library lane.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
                               QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from .. import theme
from ..train.jobs import (LIBRARY_LANE, QUICK_LANE, PairsSpec, add_dataset_job, catalog_job,
                          list_datasets_job, pairs_job, remove_dataset_job, short_size)
from ..train.quick import QuickJobs
from .widgets import LibraryPage, lay_out_page, page_header, record_table, side_card
from ..train.widgets import ImageBox, inline, parse_inline, section

COLUMNS = ("Name", "Kind", "Images", "Size", "Storage", "Folder", "Created", "Description")
DEFAULT_RECIPE = [{"type": "gaussian_noise", "sigma": [5, 50]}]


def prepared_pairs_job(spec: tuple, control):
    """``(preset, PairsSpec)``: pairs of a recipe that needs the preset's generated data (the
    RealSR kernels and noise patches): made now, with progress, on first use (then cached),
    and filled into the recipe's steps that name no files of their own."""
    import dataclasses

    from training import research
    from training.config import load_run

    preset, pairs = spec
    cfg = load_run(preset=preset)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(
        cfg.data, recipe=[dict(step) for step in pairs.recipe]))
    data = yield from research.prepare(cfg)
    return (yield from pairs_job(dataclasses.replace(pairs, recipe=tuple(data.recipe)), control))


class DatasetsPage(LibraryPage):
    def __init__(self, context) -> None:
        super().__init__(context)
        self.entries: list[dict] = []
        self.recipes: dict[str, list] = {}
        self.generating: set[str] = set()   # presets whose recipe needs generated data
        self._select_after: str | None = None
        self.jobs = QuickJobs(context, "datasets", LIBRARY_LANE, parent=self)
        self.jobs.done.connect(self._done)
        self.jobs.failed.connect(self._failed)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        head, self.notice, self.refresh_button = page_header(
            "Datasets", "Name a folder of clean images (or input/target pairs) once, train "
                          "on it by name.", self.refresh)

        self.table = record_table(COLUMNS, stretch=5)
        self.table.itemSelectionChanged.connect(self._selected)
        self.empty = QLabel("No datasets yet: name a folder on the right.", objectName="hint")

        self.recipe_pick = QComboBox()
        self.recipe_pick.setMinimumContentsLength(14)
        self.recipe_pick.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.recipe_pick.setToolTip("The degradation recipe of a training preset")
        self.recipe_edit = QLineEdit(inline(DEFAULT_RECIPE))
        self.recipe_edit.setToolTip("A recipe as inline TOML: a list of degradation tables")
        self.crop = QSpinBox(minimum=16, maximum=1024, value=96)
        self.count = QSpinBox(minimum=1, maximum=24, value=6)
        self.preview_button = QPushButton("Preview pairs")
        self.preview_button.setProperty("primary", True)
        self.recipe_pick.activated.connect(self._recipe_picked)
        self.preview_button.clicked.connect(lambda: self.preview())
        controls = QHBoxLayout()
        controls.addWidget(self.recipe_pick)
        controls.addWidget(self.recipe_edit, 1)
        for label, w in (("Crop", self.crop), ("Pairs", self.count)):
            controls.addWidget(QLabel(label, objectName="hint"))
            controls.addWidget(w)
        controls.addWidget(self.preview_button)
        self.grid = ImageBox("Select a dataset and preview the (input | target) pairs a recipe "
                             "makes from it.", min_height=200)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.table, 2)
        lv.addWidget(self.empty)
        lv.addWidget(section("Preview"))
        lv.addLayout(controls)
        lv.addWidget(self.grid, 3)

        card, cv, self.detail = side_card()
        cv.addWidget(section("New dataset"))
        self.name = QLineEdit(placeholderText="e.g. holiday-photos")
        self.folder = QLineEdit(placeholderText="Folder of images")
        browse = QToolButton(text="…", toolTip="Choose a folder")
        browse.clicked.connect(lambda: self._browse(self.folder))
        self.kind = QComboBox()
        self.kind.addItem("Clean images (+ degradation)", "degrade")
        self.kind.addItem("Input/target pairs", "paired")
        self.target = QLineEdit(placeholderText="Folder of targets (same file names)")
        self.copy = QCheckBox("Copy the images into RestoreLab's data folder")
        self.copy.setToolTip("Otherwise the dataset refers to the folder where it is")
        self.description = QLineEdit()
        self.create_button = QPushButton("Create dataset")
        self.create_button.setProperty("primary", True)
        self.create_button.clicked.connect(lambda: self.create())
        self.kind.currentIndexChanged.connect(
            lambda _i: self.target.setEnabled(self.kind.currentData() == "paired"))
        self.target.setEnabled(False)
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        for label, w in (("Name", self.name), ("Folder", row), ("Kind", self.kind),
                         ("Targets", self.target), ("Description", self.description)):
            form.addRow(label, w)
        cv.addLayout(form)
        cv.addWidget(self.copy)
        cv.addWidget(self.create_button)
        cv.addSpacing(14)
        cv.addWidget(section("Selected"))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setProperty("danger", True)
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        cv.addWidget(self.detail)
        cv.addStretch(1)
        cv.addWidget(self.delete_button)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(card)
        split.setStretchFactor(0, 1)
        lay_out_page(self, head, split, [860, 360])
        self._selected()

    # ------------------------------------------------------------------- jobs
    def on_shown(self) -> None:
        self.ensure_built()
        self.refresh()
        if not self.recipes:
            self.jobs.run("catalog", catalog_job, None, "Reading presets", QUICK_LANE)

    def refresh(self) -> None:
        self.jobs.run("list", list_datasets_job, None, "Listing datasets")

    def _done(self, op: str, result) -> None:
        if result is None:
            return   # aborted: the window is closing
        if op == "list":
            self._show(result or [])
        elif op == "catalog":
            self._set_recipes(result["presets"])
        elif op == "add":
            self.notify(f"Dataset '{result['name']}': {result['images']} images.")
            self._select_after = result["name"]
            self.refresh()
        elif op == "remove":
            self.notify(f"Dataset '{result}' deleted.")
            self.refresh()
        elif op == "pairs":
            self.grid.set_array(result)

    def _failed(self, op: str, message: str) -> None:
        verb = {"add": "create the dataset", "remove": "delete the dataset",
                "pairs": "preview pairs", "list": "list datasets"}.get(op, op)
        self.notify(f"Could not {verb}: {message}", error=True)
        if op == "pairs":
            self.grid.set_array(None)
            self.grid.set_hint(message)

    # ------------------------------------------------------------------ list
    def _show(self, entries: list[dict]) -> None:
        keep = self._select_after or self.current_name()
        self._select_after = None
        self.entries = entries
        self.table.setRowCount(0)
        for e in entries:
            row = self.table.rowCount()
            self.table.insertRow(row)
            size = short_size(e["bytes"]) if "bytes" in e else "—"
            cells = (e.get("name", "?"), e.get("kind", ""), str(e.get("images", "")), size,
                     "copied" if e.get("copied") else "linked", e.get("error") or e.get("train", ""),
                     str(e.get("created", "")).replace("T", " ")[:16], e.get("description", ""))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        self.empty.setVisible(not entries)
        names = self.names()
        if keep in names:
            self.table.selectRow(names.index(keep))
        elif entries:
            self.table.selectRow(0)
        self._selected()

    def names(self) -> list[str]:
        return [e.get("name", "") for e in self.entries]

    def current_name(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else ""

    def current(self) -> dict | None:
        name = self.current_name()
        return next((e for e in self.entries if e.get("name") == name), None)

    def select(self, name: str) -> bool:
        self.ensure_built()
        if name in self.names():
            self.table.selectRow(self.names().index(name))
            return True
        return False

    def _selected(self) -> None:
        e = self.current()
        self.delete_button.setEnabled(e is not None)
        self.preview_button.setEnabled(e is not None and e.get("kind", "degrade") == "degrade")
        if e is None:
            self.detail.setText("Select a dataset.")
            return
        files = e.get("files", e.get("images", 0))
        lines = [f"<b>{e.get('name')}</b> · {e.get('kind', 'degrade')}",
                 f"{e.get('images', 0)} images ({files} files, {short_size(e.get('bytes', 0))})",
                 ("Copied into the data folder: " if e.get("copied") else "Refers to: ")
                 + str(e.get("train", ""))]
        lines += [f"Targets: {t}" for t in e.get("target") or []]
        if e.get("error"):
            lines.append(f"<span style='color: {theme.colors()['danger']}'>{e['error']}</span>")
        self.detail.setText("<br>".join(lines))

    # --------------------------------------------------------------- actions
    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)
            if not self.name.text().strip():
                from pathlib import Path

                self.name.setText(Path(folder).name)

    def create(self) -> bool:
        self.ensure_built()
        name, folder = self.name.text().strip(), self.folder.text().strip()
        if not name or not folder:
            self.notify("Give the dataset a name and a folder.", error=True)
            return False
        spec = {"name": name, "folder": folder, "kind": self.kind.currentData(),
                "target": [t.strip() for t in self.target.text().split(",") if t.strip()],
                "copy": self.copy.isChecked(), "description": self.description.text().strip()}
        self.jobs.run("add", add_dataset_job, spec, f"Creating dataset {name}", coalesce=False,
                      quiet=False)   # copying may take long: closing asks first
        self.notify(f"Creating '{name}'…")
        return True

    def delete_selected(self) -> bool:
        self.ensure_built()
        e = self.current()
        if e is None:
            return False
        what = ("Its copied images are deleted from the data folder." if e.get("copied") else
                f"The images stay where they are ({e.get('train')}).")
        if not self.ctx.ask("Delete dataset?", f"Delete the dataset “{e['name']}”? {what}"):
            return False
        self.jobs.run("remove", remove_dataset_job, e["name"], f"Deleting dataset {e['name']}",
                      coalesce=False)
        return True

    def _set_recipes(self, presets: dict) -> None:
        self.recipe_pick.clear()
        self.recipes = {name: raw.get("data", {}).get("recipe") or [] for name, (_d, raw) in
                        presets.items() if raw.get("data", {}).get("kind", "degrade") == "degrade"}
        self.generating = {name for name, (_d, raw) in presets.items()
                           if raw.get("research", {}).get("generate")}
        for name in self.recipes:
            self.recipe_pick.addItem(name, name)
        self.recipe_pick.setCurrentIndex(-1)
        self.recipe_pick.setPlaceholderText("Recipe of a preset…")

    def _recipe_picked(self, _i: int) -> None:
        self.recipe_edit.setText(inline(self.recipes.get(self.recipe_pick.currentData(), [])))

    def preview(self, recipe: list | None = None) -> bool:
        self.ensure_built()
        e = self.current()
        if e is None:
            return False
        try:
            recipe = recipe if recipe is not None else parse_inline(self.recipe_edit.text())
            if not isinstance(recipe, list):
                raise ValueError("a recipe is a list of tables, e.g. [{ type = 'jpeg' }]")
        except ValueError as err:
            self.notify(f"Could not preview pairs: {err}", error=True)
            return False
        n = self.count.value()
        spec = PairsSpec(tuple(recipe), e.get("train", ""), n=n, crop=self.crop.value(),
                         columns=3 if n >= 6 else 2 if n >= 2 else 1)
        preset = self.recipe_pick.currentData()
        if preset in self.generating:   # its kernels / noise patches are made on first use
            self.jobs.run("pairs", prepared_pairs_job, (preset, spec),
                          f"Preparing {preset}'s data", QUICK_LANE)
            self.grid.set_hint(f"Preparing the data {preset} generates (once), then rendering…")
            return True
        self.jobs.run("pairs", pairs_job, spec, "Rendering sample pairs", QUICK_LANE)
        self.grid.set_hint("Rendering…")
        return True
