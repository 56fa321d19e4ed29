"""Settings: one JSON file in the config dir (no QSettings), written atomically.

:class:`Settings` is the store (plain Python, no Qt); :class:`SettingsDialog`
is the window that edits the user-facing part of it (device, threads,
memory, data location, theme). The keys, their defaults and checks are in
:mod:`desktop.settings_values`.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget)

from .settings_values import DEFAULTS, MAX_FILE_BYTES, _Partly, check_value


def settings_path() -> Path:
    from engine.paths import config_dir

    return config_dir() / "settings.json"   # the folder is made on save, not here


class Settings:
    """A dict of settings backed by ``settings.json``; unknown keys are kept as they are.

    Every known key is checked (type and range) when the file is read: a bad
    value falls back to its default, the file as it was is kept next to it as
    ``settings.json.bad``, and ``load_error`` says so in one line.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else settings_path()
        self.data: dict[str, Any] = copy.deepcopy(DEFAULTS)
        self.load_error = ""
        self.rejected: dict[str, str] = {}   # key -> why its stored value was not used
        self._bad_kept = False
        self.load()

    @property
    def bad_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bad")

    def load(self) -> None:
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            self.load_error = (f"The settings folder {folder} is a file, not a folder: using "
                               "the defaults, and settings cannot be saved until it is moved.")
            return
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES >> 20} MB")
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, ValueError) as err:  # a damaged file never stops the app
            self._keep_bad(None)
            self.load_error = f"Settings file unreadable, using defaults ({err}){self._kept()}"
            return
        try:
            stored = json.loads(text)
        except (ValueError, RecursionError) as err:
            why = "nested too deeply" if isinstance(err, RecursionError) else err
            self._keep_bad(text)
            self.load_error = f"Settings file unreadable, using defaults ({why}){self._kept()}"
            return
        if not isinstance(stored, dict):
            self._keep_bad(text)
            self.load_error = ("Settings file unreadable, using defaults (not a table)"
                               f"{self._kept()}")
            return
        for key, value in stored.items():
            try:
                self.data[key] = check_value(key, value)
            except _Partly as part:
                self.data[key] = part.kept
                self.rejected[key] = str(part)
            except ValueError as err:
                self.rejected[key] = str(err)
                if key not in DEFAULTS:
                    self.data.pop(key, None)
        if self.rejected:
            self._keep_bad(text)
            names = ", ".join(sorted(self.rejected))
            self.load_error = (f"Some settings were not valid and use their defaults ({names})"
                               f"{self._kept()}")

    def _keep_bad(self, text: str | None) -> None:
        """Keep the file as it was (``settings.json.bad``) before it is overwritten."""
        from engine.atomic import write_bytes

        try:
            data = self.path.read_bytes() if text is None else text.encode("utf-8")
            write_bytes(self.bad_path, data)
            self._bad_kept = True
        except OSError:
            self._bad_kept = False

    def _kept(self) -> str:
        return f"; the old file is kept as {self.bad_path.name}" if self._bad_kept else ""

    def save(self) -> bool:
        """Write the file; False (and ``load_error`` says why) when it cannot be written."""
        from engine.atomic import write_json

        try:
            write_json(self.path, self.data)
        except (OSError, ValueError, RecursionError) as err:
            self.load_error = f"Could not save settings: {err}"
            return False
        return True
    def get(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            return self.data[key]
        return copy.deepcopy(DEFAULTS.get(key, default))

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def update(self, **values: Any) -> None:
        self.data.update(values)

    def default_model(self, task: str) -> str:
        return str(self.get("default_models", {}).get(task, ""))

    def set_default_model(self, task: str, model_id: str) -> None:
        defaults = dict(self.get("default_models", {}))
        defaults[task] = model_id
        self.data["default_models"] = defaults


def data_location_text() -> tuple[str, str]:
    """(the data folder, a note on where it comes from)."""
    from engine.paths import ENV_HOME, data_dir

    if os.environ.get(ENV_HOME):
        return str(data_dir()), f"Set by the {ENV_HOME} environment variable."
    return str(data_dir()), (f"The standard user data folder. Set {ENV_HOME} before starting "
                             "RestoreLab to keep everything in another folder.")


class SettingsDialog(QDialog):
    """Edits a copy of the settings; :meth:`apply_to` writes the choices back."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        form = QFormLayout()
        form.setVerticalSpacing(10)

        self.device = QComboBox()
        self.device.addItem("Automatic (CUDA if available, else CPU)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("CUDA GPU", "cuda")
        self._select(self.device, settings.get("device"))
        form.addRow("Device", self.device)

        self.threads = QSpinBox()
        self.threads.setRange(0, max(os.cpu_count() or 1, 1) * 2)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(int(settings.get("threads") or 0))
        form.addRow("CPU threads", self.threads)

        self.budget = QSpinBox()
        self.budget.setRange(64, 65536)
        self.budget.setSingleStep(64)
        self.budget.setSuffix(" MB")
        self.budget.setValue(int(settings.get("budget_mb")))
        form.addRow("Memory budget", self.budget)

        tile_row = QHBoxLayout()
        self.tile_auto = QCheckBox("From the memory budget")
        self.tile = QSpinBox()
        self.tile.setRange(32, 8192)
        self.tile.setSingleStep(32)
        self.tile.setSuffix(" px")
        tile = int(settings.get("tile") or 0)
        self.tile_auto.setChecked(tile == 0)
        self.tile.setValue(tile or 512)
        self.tile.setEnabled(tile != 0)
        self.tile_auto.toggled.connect(lambda on: self.tile.setEnabled(not on))
        tile_row.addWidget(self.tile_auto)
        tile_row.addWidget(self.tile, 1)
        form.addRow("Tile size", tile_row)

        self.theme = QComboBox()
        self.theme.addItem("Dark", "dark")
        self.theme.addItem("Light", "light")
        self._select(self.theme, settings.get("theme"))
        form.addRow("Theme", self.theme)

        location, note = data_location_text()
        self.data_location = QLineEdit(location)
        self.data_location.setReadOnly(True)
        self.data_location.setCursorPosition(0)
        self.data_note = QLabel(note)
        self.data_note.setWordWrap(True)
        self.data_note.setObjectName("hint")
        box = QVBoxLayout()
        box.setSpacing(4)
        box.addWidget(self.data_location)
        box.addWidget(self.data_note)
        form.addRow("Data folder", box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(buttons)

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    def values(self) -> dict[str, Any]:
        return {
            "device": self.device.currentData(),
            "threads": self.threads.value(),
            "budget_mb": self.budget.value(),
            "tile": 0 if self.tile_auto.isChecked() else self.tile.value(),
            "theme": self.theme.currentData(),
        }

    def apply_to(self, settings: Settings) -> dict[str, Any]:
        """Write the dialog's values into ``settings``; return the ones that changed."""
        changed = {k: v for k, v in self.values().items() if settings.get(k) != v}
        settings.update(**changed)
        return changed
