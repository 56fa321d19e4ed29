"""A bad value in settings.json never stops the window: it gets its default, the file is kept
as settings.json.bad, and the status bar says so once."""
from __future__ import annotations

import json
import math

import pytest


def write_settings(text: str) -> None:
    from desktop.settings import settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def bad_copy() -> str:
    from desktop.settings import settings_path

    return (settings_path().parent / "settings.json.bad").read_text(encoding="utf-8")


def test_an_unknown_viewer_mode_falls_back_and_is_reported_once(make_window):
    from desktop.settings import Settings

    text = json.dumps({"viewer_mode": "hologram", "theme": "light"})
    write_settings(text)
    window = make_window()
    assert window.restore_page.viewer.mode == "split"
    assert window.settings.get("theme") == "light"          # the good values stay
    message = window.statusBar().currentMessage()
    assert "viewer_mode" in message and "settings.json.bad" in message
    assert bad_copy() == text
    window.close()
    again = Settings()                                       # the next launch is clean
    assert again.load_error == "" and again.get("viewer_mode") == "split"


@pytest.mark.parametrize("key", ["scale", "strength", "tile"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, 10 ** 40, "2", True])
def test_numbers_that_are_not_finite_or_in_range_fall_back(key, value, make_window):
    from desktop.settings import DEFAULTS

    write_settings(json.dumps({key: value}))
    window = make_window()
    assert window.settings.get(key) == DEFAULTS[key]
    assert key in window.settings.rejected
    options = window.restore_page.options.values()
    assert options["scale"] == 0 and options["tile"] == 0 and options["strength"] == 100
    assert key in window.statusBar().currentMessage()


def test_good_numbers_are_kept(make_window):
    write_settings(json.dumps({"scale": 2, "strength": 60.0, "tile": 256, "save_quality": 80}))
    window = make_window()
    assert window.settings.load_error == ""
    assert window.restore_page.options.values() | {"precision": None, "post": None} == {
        "scale": 2, "tile": 256, "strength": 60, "precision": None, "post": None,
        "backend": "auto"}


@pytest.mark.parametrize("window_value", [12, "abc", {"geometry": 12, "splitter": [200, 700, 300]},
                                          {"geometry": "zz", "splitter": "wide"}])
def test_a_bad_window_geometry_is_ignored(window_value, make_window):
    write_settings(json.dumps({"window": window_value}))
    window = make_window()
    assert window.isVisible()
    assert "window" in window.settings.rejected
    assert not isinstance(window.settings.get("window").get("geometry"), int)
    if isinstance(window_value, dict) and isinstance(window_value["splitter"], list):
        assert window.settings.get("window")["splitter"] == [200, 700, 300]   # the good part stays


def test_deeply_nested_json_is_unreadable_not_fatal(make_window):
    write_settings('{"model": ' + "[" * 200_000 + "]" * 200_000 + "}")
    window = make_window()
    assert window.settings.get("model") == ""
    message = window.statusBar().currentMessage()
    assert "unreadable" in message and "settings.json.bad" in message
    assert bad_copy().startswith('{"model": [[[')


def test_a_nested_value_in_a_known_key_is_rejected(make_window):
    nested: object = 1
    for _ in range(100):
        nested = {"x": nested}
    write_settings(json.dumps({"method_options": nested, "model": "bicubic"}))
    window = make_window()
    assert window.settings.get("method_options") == {}
    assert window.settings.get("model") == "bicubic"
    assert window.restore_page.picker.current_id() == "bicubic"


def test_a_file_that_is_not_a_table_falls_back(make_window):
    write_settings("[1, 2, 3]")
    window = make_window()
    assert window.settings.get("theme") == "dark"
    assert "unreadable" in window.statusBar().currentMessage()


def test_the_config_folder_being_a_file(make_window, restorelab_home):
    from engine.paths import config_dir

    config_dir().parent.mkdir(parents=True, exist_ok=True)
    config_dir().write_text("not a folder", encoding="utf-8")
    window = make_window()
    assert window.isVisible()
    assert "is a file" in window.statusBar().currentMessage()
    window.apply_settings({"tile": 256})                     # saving fails, no crash
    assert "Could not save settings" in window.statusBar().currentMessage()
    assert window.close()
    assert config_dir().read_text(encoding="utf-8") == "not a folder"


def test_a_train_form_that_is_not_a_table_is_rejected(make_window):
    write_settings(json.dumps({"train_form": 5}))
    window = make_window()
    assert window.settings.get("train_form") == {}
    assert "train_form" in window.statusBar().currentMessage()


def test_bad_fields_of_the_train_form_get_defaults_and_saving_works(make_window, qtbot):
    from desktop.settings import Settings

    form_value = {"name": "mine", "data": 5, "schedule": {"steps": "many", "warmup": math.nan},
                  "optim": {"lr": "fast"}, "loss": 7, "model": {"kwargs": 3, "arch": {"x": 1}},
                  "device": ["cpu"]}
    write_settings(json.dumps({"train_form": form_value}))
    window = make_window()
    window.show_page("Train")
    page = window.pages["Train"]
    qtbot.waitUntil(lambda: page.form.ready, timeout=120_000)
    form = page.form
    assert form.name.text() == "mine"
    expected = {"data", "schedule.steps", "optim.lr", "loss", "model.kwargs", "model.arch"}
    assert expected <= set(form.bad_fields)
    assert "defaults" in window.statusBar().currentMessage()
    raw = form.values()                                   # the form reads back, no exception
    assert isinstance(raw["data"], dict) and isinstance(raw["schedule"]["steps"], int)
    assert raw["loss"] and all(isinstance(w, float) for w in raw["loss"].values())
    window.save_state()
    stored = Settings().get("train_form")
    assert stored["name"] == "mine" and isinstance(stored["data"], dict)


def test_precision_defaults_to_auto_and_fp32_can_be_forced(qtbot):
    from desktop.restore.options import OptionsPanel

    panel = OptionsPanel()
    qtbot.addWidget(panel)
    assert panel.precision.currentData() == "auto" and panel.values()["precision"] == "auto"
    panel.precision.setCurrentIndex(panel.precision.findData("fp32"))
    assert panel.values()["precision"] == "fp32"
