"""Light and dark themes: a Fusion palette plus resources/style/app.qss filled with colours."""
from __future__ import annotations

from string import Template

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

PALETTES: dict[str, dict[str, str]] = {
    "dark": {
        "window": "#1b1e23", "panel": "#22262c", "base": "#181b1f", "alt": "#1f2328",
        "button": "#2b3038", "hover": "#323842", "pressed": "#3a414c", "text": "#e4e7eb",
        "muted": "#98a2ae", "disabled": "#5d6570", "border": "#333a43",
        "border_strong": "#4a535f", "scroll": "#3c444f", "accent": "#4f8cff",
        "accent_hover": "#6a9dff", "accent_soft": "#27395a", "on_accent": "#ffffff",
        "danger": "#ff6b6b", "success": "#47c98a", "warning": "#f2b84b",
        "canvas": "#131518", "checker_a": "#2a2e34", "checker_b": "#202328",
    },
    "light": {
        "window": "#f3f4f6", "panel": "#fafbfc", "base": "#ffffff", "alt": "#f4f6f8",
        "button": "#ffffff", "hover": "#eceff3", "pressed": "#e0e4ea", "text": "#1c2128",
        "muted": "#5c6673", "disabled": "#a4acb6", "border": "#d6dbe1",
        "border_strong": "#b7bec8", "scroll": "#c6ccd4", "accent": "#2f6fdf",
        "accent_hover": "#245fc7", "accent_soft": "#dce8fc", "on_accent": "#ffffff",
        "danger": "#d93838", "success": "#1f9d5c", "warning": "#b7791f",
        "canvas": "#e4e7eb", "checker_a": "#ffffff", "checker_b": "#e9ecef",
    },
}

_current = "dark"


def current() -> str:
    return _current


def colors(name: str | None = None) -> dict[str, str]:
    return PALETTES.get(name or _current, PALETTES["dark"])


def color(key: str) -> QColor:
    return QColor(colors()[key])


def _stylesheet(c: dict[str, str]) -> str:
    from engine.paths import resources_dir

    path = resources_dir() / "style" / "app.qss"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    values = dict(c, style_dir=(resources_dir() / "style").as_posix(), theme=_current)
    return Template(text).safe_substitute(values)


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: c["window"], role.WindowText: c["text"], role.Base: c["base"],
        role.AlternateBase: c["alt"], role.Text: c["text"], role.Button: c["button"],
        role.ButtonText: c["text"], role.ToolTipBase: c["panel"], role.ToolTipText: c["text"],
        role.Highlight: c["accent"], role.HighlightedText: c["on_accent"],
        role.PlaceholderText: c["muted"], role.Link: c["accent"], role.Mid: c["border"],
        role.Dark: c["border_strong"], role.Light: c["hover"], role.Midlight: c["hover"],
        role.Shadow: "#000000", role.BrightText: c["danger"],
    }
    for r, value in pairs.items():
        p.setColor(r, QColor(value))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["disabled"]))
    return p


def apply_theme(app: QApplication | None = None, name: str = "dark") -> str:
    """Apply the theme to the whole application; returns the name in use."""
    global _current
    app = app or QApplication.instance()
    name = name if name in PALETTES else "dark"
    _current = name
    if app is None:
        return name
    if app.property("restorelab_theme") == name:
        return name  # already in place: re-polishing every widget costs a noticeable moment
    app.setProperty("restorelab_theme", name)
    c = PALETTES[name]
    app.setStyle("Fusion")
    app.setPalette(_palette(c))
    app.setStyleSheet(_stylesheet(c))
    return name
