"""The Models page: lists saved models with their cards; delete asks; rename; defaults."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.library.models_page import importer_available


def fake_model(root: Path, name: str, **card) -> Path:
    """A model folder as engine.checkpoints lays it out (weights are not read here)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    full = {"name": name, "title": card.pop("title", name), "arch": "dncnn", "task": "denoise",
            "scale": 1, "dataset": "my photos", "metrics": {"psnr": 31.5, "ssim": 0.91}, **card}
    (folder / "card.json").write_text(json.dumps(full), encoding="utf-8")
    return folder


@pytest.fixture
def user_model():
    from engine.paths import models_dir

    return fake_model(models_dir(), "my-denoiser", title="My denoiser")


def test_the_page_lists_a_saved_model_and_its_card(window, user_model):
    page = window.models_page
    window.show_page("Models")
    assert "my-denoiser" in page.ids()
    assert "nlmeans" in page.ids()                       # the classical methods too
    assert page.select("my-denoiser")
    card = page.detail.card.text()
    for text in ("My denoiser", "dncnn", "my photos", "psnr 31.50", "ssim 0.9100"):
        assert text in card
    row = page.proxy.mapToSource(page.table.currentIndex()).row()
    cells = [page.model.item(row, c).text() for c in range(page.model.columnCount())]
    assert cells[0] == "My denoiser" and cells[4] == "Trained" and "psnr 31.50" in cells[5]
    assert page.detail.delete_button.isEnabled() and page.detail.rename_button.isEnabled()


def test_delete_asks_and_removes(window, answers, user_model):
    page = window.models_page
    window.show_page("Models")
    page.select("my-denoiser")
    answers.yes = False
    assert not page.delete_selected()
    assert user_model.exists() and len(answers.asked) == 1
    answers.yes = True
    page.detail.delete_button.click()
    assert len(answers.asked) == 2 and "My denoiser" in answers.asked[1][1]
    assert not user_model.exists()
    assert "my-denoiser" not in page.ids()
    assert "my-denoiser" not in window.restore_page.picker.choices


def test_built_in_and_shipped_models_cannot_be_deleted(window, monkeypatch, tmp_path):
    import engine.paths

    shipped = tmp_path / "shipped"
    fake_model(shipped, "shipped-sr", task="super-resolution", scale=2)
    monkeypatch.setattr(engine.paths, "shipped_models_dir", lambda: shipped)
    page = window.models_page
    page.refresh()
    for model_id in ("shipped-sr", "bicubic"):
        assert page.select(model_id)
        detail = page.detail
        assert not detail.delete_button.isEnabled() and not detail.rename_button.isEnabled()
        assert "cannot" in detail.delete_button.toolTip()
        assert not page.delete_selected()
    assert (shipped / "shipped-sr").exists()


def test_rename_default_and_use_in_restore(window, user_model):
    page = window.models_page
    window.show_page("Models")
    page.select("my-denoiser")
    assert page.rename_selected("Sharp eyes")
    assert page.current_id() == "Sharp-eyes" and "Sharp eyes" in page.detail.card.text()
    page.detail.default_button.click()
    assert window.settings.default_model("denoise") == "Sharp-eyes"
    assert "Default for denoise" in page.detail.default_note.text()
    page.detail.use_button.click()
    assert window.current_page_name() == "Restore"
    assert window.restore_page.picker.current_id() == "Sharp-eyes"


def test_the_user_default_is_what_the_sample_uses(window, user_model):
    from desktop.restore.catalog import default_model

    assert default_model("denoise", window.settings) == "denoise-color"  # shipped beats classical
    window.settings.set_default_model("denoise", "my-denoiser")
    assert default_model("denoise", window.settings) == "my-denoiser"
    window.settings.set_default_model("denoise", "nlmeans")
    assert default_model("denoise", window.settings) == "nlmeans"
    assert default_model("super-resolution", window.settings) in ("realsr-x2", "sr-x2")


def test_import_and_export_wait_for_the_importer(window):
    page = window.models_page
    assert page.import_button.isEnabled() == importer_available()
    if not importer_available():
        assert "engine.importer" in page.import_button.toolTip()
        assert not page.export_button.isEnabled()
        assert not page.import_models(["x.pth"])
        assert "engine.importer" in window.statusBar().currentMessage()


def test_dropping_weights_goes_to_the_models_page(window, tmp_path):
    weights = tmp_path / "net.pth"
    weights.write_bytes(b"\0")
    window.drop_paths([str(weights)])
    assert window.current_page_name() == "Models"
    assert window.restore_page.queue.items == []
