"""Datasets page: create (linked or copied), list with counts and sizes, preview pairs, delete."""
from __future__ import annotations

import pytest


@pytest.fixture
def photos(tmp_path, images):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        images.write_png(folder / f"p{i}.png", images.gradient(40, 40 + 8 * i, 3))
    return folder


def open_page(window, qtbot):
    window.show_page("Datasets")
    page = window.pages["Datasets"]
    qtbot.waitUntil(lambda: page.empty.isVisible() or bool(page.entries), timeout=30000)
    return page


def create(page, qtbot, name, folder, copy=False):
    page.name.setText(name)
    page.folder.setText(str(folder))
    page.copy.setChecked(copy)
    assert page.create()
    qtbot.waitUntil(lambda: not page.notice.text().startswith("Creating"), timeout=60000)
    if "Could not" not in page.notice.text():
        qtbot.waitUntil(lambda: name in page.names(), timeout=30000)


def test_create_list_preview_and_delete(window, qtbot, answers, photos):
    from engine.paths import datasets_dir

    page = open_page(window, qtbot)
    assert page.table.rowCount() == 0 and page.empty.isVisible()
    create(page, qtbot, "holiday", photos)
    assert page.current_name() == "holiday"
    row = page.names().index("holiday")
    assert page.table.item(row, 2).text() == "3"
    size = sum(p.stat().st_size for p in photos.iterdir())
    assert page.table.item(row, 3).text() == f"{size} B" and page.table.item(row, 4).text() == "linked"
    assert "3 images" in page.detail.text()

    create(page, qtbot, "copied", photos, copy=True)
    assert (datasets_dir() / "copied" / "train").is_dir()
    assert page.table.item(page.names().index("copied"), 4).text() == "copied"

    create(page, qtbot, "holiday", photos)                       # a second one of that name
    assert "already exists" in page.notice.text() and page.notice.objectName() == "error"

    page.select("holiday")
    page.recipe_edit.setText("[{ type = 'gaussian_noise', sigma = 30 }]")
    page.count.setValue(2)
    page.crop.setValue(32)
    assert page.preview()
    qtbot.waitUntil(lambda: page.grid.image is not None, timeout=60000)
    assert page.grid.image.height() == 32 and page.grid.image.width() > 64

    page.recipe_edit.setText("[{ type = 'no_such_thing' }]")
    assert page.preview()
    qtbot.waitUntil(lambda: "unknown degradation" in page.notice.text(), timeout=60000)

    answers.yes = False
    assert not page.delete_selected()
    assert "holiday" in page.names() and answers.asked
    answers.yes = True
    page.select("copied")
    assert page.delete_selected()
    qtbot.waitUntil(lambda: "copied" not in page.names(), timeout=30000)
    assert not (datasets_dir() / "copied").exists() and photos.is_dir()


def test_a_missing_folder_is_reported(window, qtbot, tmp_path):
    page = open_page(window, qtbot)
    create(page, qtbot, "ghost", tmp_path / "nowhere")
    assert "Could not create the dataset" in page.notice.text() and "not found" in page.notice.text()
    assert "not found" in window.statusBar().currentMessage()
    assert "ghost" not in page.names()


def test_the_train_form_offers_named_datasets(window, qtbot, photos):
    page = open_page(window, qtbot)
    create(page, qtbot, "holiday", photos)
    window.show_page("Train")
    train = window.pages["Train"]
    qtbot.waitUntil(lambda: train.form.ready and train.form.dataset.findData("holiday") > 0,
                    timeout=60000)
    from desktop.train.form import write

    write(train.form.dataset, "holiday")
    train.form._sync_enabled()
    assert not train.form.folder.isEnabled()
    assert train.form.values()["data"]["dataset"] == "holiday"
    assert train._pairs_spec().folder == str(photos)


def test_a_preset_recipe_with_generated_data_prepares_it_then_previews(window, qtbot, photos,
                                                                        monkeypatch):
    """r004c-realsr-gan's recipe needs generated blur kernels and noise patches: on a fresh home
    the preview makes them first (a job with progress), then renders; later previews reuse them."""
    from engine import paths
    from training import config

    real = config.load_run

    def tiny(source=None, *, preset=None, overrides=None):   # 2 photos of the test, 16 px patches
        return real(source, preset=preset, overrides=[*(overrides or []), f"research.source='{photos}'",
                                                      "research.count=2", "research.size=16"])

    monkeypatch.setattr(config, "load_run", tiny)
    page = open_page(window, qtbot)
    create(page, qtbot, "holiday", photos)
    qtbot.waitUntil(lambda: "r004c-realsr-gan" in page.recipes, timeout=60000)
    assert "r004c-realsr-gan" in page.generating and "smoke" not in page.generating
    page.recipe_pick.setCurrentIndex(page.recipe_pick.findData("r004c-realsr-gan"))
    page._recipe_picked(page.recipe_pick.currentIndex())
    assert "kernel_blur" in page.recipe_edit.text()
    page.count.setValue(2)
    page.crop.setValue(32)
    started = []
    window.ctx.bridge.progress.connect(lambda key, event: started.append(event.stage))
    assert page.preview()
    assert page.grid.hint.startswith("Preparing the data r004c-realsr-gan generates")
    qtbot.waitUntil(lambda: page.grid.image is not None or "Could not" in page.notice.text(),
                    timeout=120000)
    assert "Could not" not in page.notice.text(), page.notice.text()
    assert page.grid.image.height() == 32
    assert any("noise patches" in stage for stage in started)          # progress of the making
    assert list((paths.cache_dir() / "research").glob("realsr-*/noise/*.npy"))
