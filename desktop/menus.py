"""The main window's menu bar: every action, its shortcut and what it triggers."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from . import theme
from .pages import PAGES


def build_menus(window) -> dict[str, QAction]:
    """Fill ``window``'s menu bar (File, Edit, View, Help); returns the actions by name."""
    rp, mb = window.restore_page, window.menuBar()
    actions: dict[str, QAction] = {}

    def act(menu, name, text, slot, shortcut=None, **kw) -> QAction:
        a = QAction(text, window, **kw)
        if shortcut:
            a.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list)
                                                      else [shortcut])])
        a.triggered.connect(slot)
        menu.addAction(a)
        actions[name] = a
        return a

    def on_restore(fn):
        """A slot that shows the Restore page, then does ``fn`` there."""
        def slot() -> None:
            window.show_page("Restore")
            fn()
        return slot

    f = mb.addMenu("&File")
    act(f, "open", "&Open Images…", on_restore(rp.open_files), "Ctrl+O")
    act(f, "open_folder", "Open &Folder…", on_restore(rp.open_folder), "Ctrl+Shift+O")
    act(f, "paste", "&Paste Image", on_restore(rp.paste), "Ctrl+V")
    f.addSeparator()
    act(f, "save", "&Save Result…", lambda: rp.save_current(), "Ctrl+S")
    act(f, "save_all", "Save &All Results…", lambda: rp.save_all(), "Ctrl+Shift+S")
    f.addSeparator()
    act(f, "reference", "Compare with &Reference…", lambda: rp.set_reference(), "Ctrl+R")
    f.addSeparator()
    act(f, "quit", "&Quit", window.close, "Ctrl+Q")

    e = mb.addMenu("&Edit")
    act(e, "run", "&Restore Selected", on_restore(rp.run_selected), "Ctrl+Return")
    act(e, "run_all", "Restore A&ll", on_restore(rp.run_all), "Ctrl+Shift+Return")
    act(e, "cancel", "&Cancel Selected",
        lambda: [rp.cancel(i) for i in rp.queue_view.selected_items()], "Ctrl+.")
    e.addSeparator()
    act(e, "remove", "Re&move from Queue",
        lambda: [rp.remove(i) for i in rp.queue_view.selected_items()], "Del")
    act(e, "clear", "Clear &Queue", rp.clear_queue)
    e.addSeparator()
    act(e, "settings", "&Settings…", window.open_settings, "Ctrl+,")

    v = mb.addMenu("&View")
    viewer = rp.viewer
    act(v, "fit", "Zoom to &Fit", viewer.fit, "Ctrl+0")
    act(v, "one", "&Actual Pixels (1:1)", viewer.one_to_one, "Ctrl+1")
    act(v, "zoom_in", "Zoom &In", lambda: viewer.zoom_by(1.25), ["Ctrl++", "Ctrl+="])
    act(v, "zoom_out", "Zoom &Out", lambda: viewer.zoom_by(0.8), "Ctrl+-")
    v.addSeparator()
    for i, (mode, text) in enumerate((("split", "&Split"), ("side", "Side &by Side"),
                                      ("difference", "&Difference"))):
        act(v, f"mode_{mode}", text, lambda _=False, m=mode: viewer.set_mode(m), str(i + 1))
    act(v, "blink", "B&link Before/After", viewer.toggle_blink, "B")
    v.addSeparator()
    dark = act(v, "dark", "Dark &Theme", window.toggle_theme, "Ctrl+Shift+T", checkable=True)
    dark.setChecked(theme.current() == "dark")
    v.addSeparator()
    for i, name in enumerate(PAGES):
        act(v, f"page_{name}", f"Go to {name}", lambda _=False, n=name: window.show_page(n),
            f"Alt+{i + 1}")

    h = mb.addMenu("&Help")
    act(h, "data", "Open &Data Folder", window.open_data_folder)
    act(h, "about", "&About RestoreLab", window.about)
    return actions
