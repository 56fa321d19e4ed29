"""The main window: pages, menus, drops, paste, first launch, settings that persist."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import QApplication

from desktop.pages import PAGES
from desktop.settings import Settings


def drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(window.width() // 2, window.height() // 2)
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos, actions, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    return event


def test_pages_menus_and_status_bar(window):
    assert [window.nav.item(i).text() for i in range(window.nav.count())] == list(PAGES)
    for name in ("Train", "Datasets", "Experiments"):
        page = window.pages[name]
        if getattr(page, "placeholder", False):
            assert page.isWidgetType()
    window.show_page("Models")
    assert window.stack.currentWidget() is window.models_page
    window.show_page("Restore")
    shortcuts = {name: a.shortcut().toString() for name, a in window.actions.items()}
    assert shortcuts["open"] == QKeySequence("Ctrl+O").toString()
    assert shortcuts["paste"] == QKeySequence("Ctrl+V").toString()
    assert shortcuts["save"] == QKeySequence("Ctrl+S").toString()
    assert shortcuts["settings"] == QKeySequence("Ctrl+,").toString()
    assert shortcuts["quit"] == QKeySequence("Ctrl+Q").toString()
    assert shortcuts["fit"] and shortcuts["one"] and shortcuts["blink"] == "B"
    assert window.device_label.text().startswith("Device:")


def test_dropping_files_and_folders_fills_the_queue(window, tmp_path, images):
    a = images.write_png(tmp_path / "a.png", images.gradient())
    b = images.write_png(tmp_path / "b.png", images.gradient(8, 8))
    folder = tmp_path / "more"
    folder.mkdir()
    c = images.write_png(folder / "c.png", images.gradient(4, 4))
    (folder / "notes.txt").write_text("not an image")
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    window.show_page("Models")
    event = drop(window, [a, b, folder, text])
    assert event.isAccepted()
    page = window.restore_page
    assert window.current_page_name() == "Restore"
    assert [Path(i.path) for i in page.queue.items] == [a, b, c]
    assert page.center.currentIndex() == 1, "the viewer replaces the empty page"
    assert "readme.txt" in window.statusBar().currentMessage()
    drop(window, [a])                                           # no duplicates
    assert len(page.queue.items) == 3


def test_paste_from_the_clipboard_adds_an_item(window, qtbot, restorelab_home):
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor(200, 40, 90))
    QApplication.clipboard().setImage(image)
    qtbot.waitUntil(lambda: not QApplication.clipboard().image().isNull(), timeout=3000)
    window.actions["paste"].trigger()
    page = window.restore_page
    assert len(page.queue.items) == 1
    path = Path(page.queue.items[0].path)
    assert path.exists() and path.suffix == ".png"
    assert restorelab_home in path.parents
    item = page.queue.items[0]
    qtbot.waitUntil(lambda: item.image is not None, timeout=10000)   # loaded for the viewer
    assert item.image.pixels.shape == (30, 40, 3)
    assert np.allclose(item.image.pixels[0, 0], (200 / 255, 40 / 255, 90 / 255), atol=1e-6)
    assert page.viewer.before_layer is not None


def test_first_launch_offers_the_sample_with_the_default_denoiser(window, qtbot):
    page = window.restore_page
    assert page.center.currentIndex() == 0                       # the empty page
    assert page.picker.current_id() == "denoise-color"                # the shipped denoiser
    assert "Denoise (colour + grey; sigma given or blind)" in page.empty.sample_text.text()
    qtbot.mouseClick(page.empty.sample_button, Qt.MouseButton.LeftButton)
    assert len(page.queue.items) == 1
    item = page.queue.items[0]
    assert Path(item.path).name == "noisy-scene.png"
    qtbot.waitUntil(lambda: item.status in ("done", "failed"), timeout=30000)
    assert item.status == "done", item.error
    assert page.viewer.has_result()
    assert window.settings.get("first_run_done") is True


def test_settings_and_workspace_persist_across_windows(make_window, tmp_path, images, qtbot):
    a = images.write_png(tmp_path / "a.png", images.gradient())
    first = make_window()
    first.resize(1100, 720)
    page = first.restore_page
    page.add_paths([a])
    page.picker.select("bicubic")
    page.options.scale.setCurrentIndex(page.options.scale.findData(3))
    page.viewer.set_mode("side")
    first.apply_settings({"theme": "light", "device": "cpu", "threads": 2, "budget_mb": 256,
                          "tile": 128})
    first.show_page("Models")
    first.close()
    assert first.shutdown_clean

    stored = Settings()
    assert stored.get("theme") == "light" and stored.get("tile") == 128
    second = make_window(stored)
    page = second.restore_page
    assert [i.path for i in page.queue.items] == [str(a)]
    assert page.picker.current_id() == "bicubic"
    assert page.options.values()["scale"] == 3
    assert page.options.values()["tile"] == 128
    assert page.viewer.mode == "side"
    assert second.current_page_name() == "Models"
    assert second.device_label.text() == "Device: cpu"
    screen = second.screen().availableGeometry()
    if screen.width() >= 1100 and screen.height() >= 720:     # offscreen's screen is 800x600
        assert (second.width(), second.height()) == (1100, 720)
    assert stored.get("window")["geometry"]
    from desktop import theme

    assert theme.current() == "light"
    second.apply_settings({"theme": "dark"})


def test_a_damaged_settings_file_falls_back_to_defaults(make_window):
    from engine.paths import settings_file

    settings_file().write_text("{ not json", encoding="utf-8")
    window = make_window()
    assert window.settings.get("theme") == "dark"
    assert "unreadable" in window.statusBar().currentMessage()


def test_settings_dialog_edits_the_settings(qtbot):
    from desktop.settings import SettingsDialog

    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.threads.setValue(3)
    dialog.tile_auto.setChecked(False)
    dialog.tile.setValue(256)
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    changed = dialog.apply_to(settings)
    assert changed == {"device": "cpu", "threads": 3, "tile": 256, "theme": "light"}
    from engine.paths import data_dir

    assert dialog.data_location.isReadOnly()
    assert dialog.data_location.text() == str(data_dir())
    assert "RESTORELAB_HOME" in dialog.data_note.text()       # the tests set it


def test_single_key_shortcuts_do_not_steal_typing(window, qtbot):
    from PySide6.QtTest import QTest

    page = window.restore_page
    page.picker.select("nlmeans")
    box = page.options.method_rows["template"]
    window.activateWindow()
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "3")
    QTest.keyClick(box, Qt.Key.Key_B)
    assert box.value() == 3
    assert page.viewer.mode == "split"


def test_every_page_renders_and_no_widget_hides_a_qt_method(window, qtbot):
    """An attribute named like a Qt virtual (``self.metric = QComboBox()`` did it) makes Qt
    call it when painting into a pixmap, printing or grabbing: a hard crash, not an error."""
    from PySide6.QtCore import Signal
    from PySide6.QtWidgets import QWidget

    qt_names = {n for n in dir(QWidget) if not n.startswith("_")
                and not isinstance(getattr(QWidget, n), Signal)}   # PySide caches bound signals
    for name in PAGES:
        window.show_page(name)
        page = window.pages[name]
        qtbot.wait(20)
        for widget in [page, *page.findChildren(QWidget)]:
            shadowed = qt_names & set(getattr(widget, "__dict__", {}))
            assert not shadowed, f"{type(widget).__name__} hides QWidget.{sorted(shadowed)}"
        assert not page.grab().isNull()
    # the pages' first visits start quick jobs (catalogs, previews): let them end before the
    # window closes, or their lane's thread outlives the test
    qtbot.waitUntil(lambda: not window.runner.jobs(), timeout=60000)
