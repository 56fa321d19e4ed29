"""Where RestoreLab keeps its state.

Everything lives under platformdirs' user dirs for the app "RestoreLab".
``RESTORELAB_HOME`` overrides the root (portable installs, tests): then
data, config and cache are sub-folders of that one directory.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "RestoreLab"
ENV_HOME = "RESTORELAB_HOME"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _home() -> Path | None:
    value = os.environ.get(ENV_HOME)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))


def cache_dir() -> Path:
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP, appauthor=False))


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    return _ensure(data_dir() / "models")


def datasets_dir() -> Path:
    return _ensure(data_dir() / "datasets")


def experiments_dir() -> Path:
    return _ensure(data_dir() / "experiments")


def settings_file() -> Path:
    return _ensure(config_dir()) / "settings.json"


def resources_dir() -> Path:
    """Read-only files shipped with the app (also inside a PyInstaller bundle)."""
    return PACKAGE_ROOT / "resources"


def shipped_models_dir() -> Path:
    return resources_dir() / "models"
