"""Model files dropped on the window, and whole folders of them, are imported in a job:
one line per file, a bad file never stops the rest, the library refreshes once at the end."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spandrel")

from test_window import drop  # noqa: E402  (the real QDropEvent helper of the window tests)


def esrgan_file(path: Path, scale: int = 2) -> Path:
    """A tiny random-weight ESRGAN that spandrel recognises, as .pth or .safetensors."""
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(scale)
    state = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=scale).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


def junk_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0this is not a model")
    return path


@pytest.fixture
def model_folder(tmp_path) -> Path:
    folder = tmp_path / "community"
    esrgan_file(folder / "sharp_x2.pth", 2)
    junk_file(folder / "broken.pth")
    esrgan_file(folder / "big_x4.safetensors", 4)
    (folder / "README.txt").write_text("models from the forum")
    return folder


def finished(page) -> bool:
    return page.results.title.text().startswith("Imported")


def test_a_dropped_model_file_is_imported_and_the_status_bar_says_what_it_is(window, qtbot,
                                                                              tmp_path):
    good = esrgan_file(tmp_path / "sharp_x2.pth", 2)
    event = drop(window, [good])
    assert event.isAccepted()
    page = window.models_page
    assert window.current_page_name() == "Models"
    qtbot.waitUntil(lambda: "Imported" in page.notice.text(), timeout=30000)
    assert "sharp_x2" in page.ids() and page.current_id() == "sharp_x2"
    assert window.statusBar().currentMessage() == \
        "Imported sharp_x2.pth as 'sharp_x2' (ESRGAN, ×2)."
    assert "sharp_x2" in window.restore_page.picker.choices


def test_a_mixed_drop_sends_images_to_the_queue_and_models_to_the_library(window, qtbot,
                                                                          monkeypatch, tmp_path,
                                                                          images):
    import engine.importer as importer

    threads, real = [], importer.import_model

    def spy(path, *args, **kwargs):   # where the imports run: never the UI thread
        threads.append(threading.current_thread())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(importer, "import_model", spy)
    picture = images.write_png(tmp_path / "photo.png", images.gradient())
    good = esrgan_file(tmp_path / "in" / "sharp_x2.pth", 2)
    bad = junk_file(tmp_path / "in" / "broken.pth")
    other = esrgan_file(tmp_path / "in" / "big_x4.safetensors", 4)
    drop(window, [picture, good, bad, other])
    assert [Path(i.path) for i in window.restore_page.queue.items] == [picture]
    page = window.models_page
    qtbot.waitUntil(lambda: finished(page), timeout=30000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert {"sharp_x2", "big_x4"} <= set(page.ids()) and "broken" not in page.ids()
    lines = page.results.texts()
    assert len(lines) == 3
    assert "sharp_x2.pth — imported as 'sharp_x2' (ESRGAN, ×2)" in lines[0]
    assert "broken.pth — refused: not a readable" in lines[1] and "\n" not in lines[1]
    assert "big_x4.safetensors — imported as 'big_x4' (ESRGAN, ×4)" in lines[2]
    status = window.statusBar().currentMessage()
    assert status.startswith("Imported 2 of 3 model files (ESRGAN ×2, ESRGAN ×4)")
    assert "1 refused (broken.pth)" in status


def test_a_dropped_folder_of_models_offers_to_import_them(window, qtbot, answers, model_folder):
    drop(window, [model_folder])
    title, question = answers.asked[-1]
    assert title == "Import models?" and "3 model files" in question
    page = window.models_page
    assert window.current_page_name() == "Models"
    assert window.restore_page.queue.items == []
    qtbot.waitUntil(lambda: finished(page), timeout=30000)
    assert page.results.title.text() == "Imported 2 of 3 from community · 1 refused"
    assert {"sharp_x2", "big_x4"} <= set(page.ids())


def test_declining_the_folder_import_imports_nothing(window, answers, model_folder):
    answers.yes = False
    before = window.models_page.ids()
    drop(window, [model_folder])
    assert answers.asked and window.models_page.ids() == before
    assert window.statusBar().currentMessage() == "Nothing imported from community."
    assert window.restore_page.queue.items == []


def test_a_folder_with_images_still_goes_to_the_queue(window, answers, tmp_path, images):
    folder = tmp_path / "shoot"
    folder.mkdir()
    images.write_png(folder / "a.png", images.gradient())
    esrgan_file(folder / "sharp_x2.pth", 2)
    drop(window, [folder])
    assert answers.asked == []
    assert [Path(i.path).name for i in window.restore_page.queue.items] == ["a.png"]


def test_import_folder_reports_each_file_and_refreshes_once(window, qtbot, monkeypatch,
                                                            model_folder):
    from PySide6.QtWidgets import QFileDialog

    page = window.models_page
    window.show_page("Models")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(model_folder)))
    refreshes = []
    real_refresh = page.refresh

    def counted_refresh(*args, **kwargs):
        refreshes.append(1)
        return real_refresh(*args, **kwargs)

    monkeypatch.setattr(page, "refresh", counted_refresh)
    page.import_folder_button.click()
    assert page.results.isVisible()
    assert page.results.title.text().startswith("Importing 3 files from community")
    qtbot.waitUntil(lambda: finished(page), timeout=30000)
    assert len(refreshes) == 1
    lines = page.results.texts()
    assert [line.split(" — ")[0][3:] for line in lines] == \
        ["big_x4.safetensors", "broken.pth", "sharp_x2.pth"]    # the folder's files, by name
    assert "refused: not a readable PyTorch weights file" in lines[1]
    assert lines[0].startswith("✓") and lines[1].startswith("✗") and lines[2].startswith("✓")
    assert {"sharp_x2", "big_x4"} <= set(page.ids()) and page.current_id() == "big_x4"
    assert "README" not in " ".join(lines)
    page.results.list.itemClicked.emit(page.results.list.item(2))   # a row selects its model
    assert page.current_id() == "sharp_x2"


def test_import_folder_without_model_files_says_so(window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "notes.txt").write_text("no weights")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(empty)))
    page = window.models_page
    assert not page.import_folder()
    assert page.notice.text() == "No model files (.pth, .pt, .ckpt, .safetensors) in nothing-here."
    assert page.notice.objectName() == "error" and not page.results.isVisible()


def test_the_import_job_reports_each_file_and_stops_between_files(tmp_path):
    from desktop.library.model_import import import_files_job
    from engine.events import Finished, ItemDone, ItemFailed
    from engine.jobs import Control, drive

    files = [str(esrgan_file(tmp_path / "a.pth", 2)), str(junk_file(tmp_path / "b.pth")),
             str(esrgan_file(tmp_path / "c.safetensors", 4))]
    events = list(drive(import_files_job, files))
    items = [e for e in events if isinstance(e, (ItemDone, ItemFailed))]
    assert [type(e).__name__ for e in items] == ["ItemDone", "ItemFailed", "ItemDone"]
    assert items[1].message.startswith("not a readable PyTorch weights file")
    result = events[-1].result
    assert [r.get("id") for r in result] == ["a", None, "c"] and result[2]["scale"] == 4

    control = Control()
    stopped = []
    for event in drive(import_files_job, files, control):
        if isinstance(event, ItemDone):
            control.stop()               # e.g. the window closing: the file under way ends first
        stopped.append(event)
    assert isinstance(stopped[-1], Finished) and stopped[-1].status == "stopped"
    assert [r["name"] for r in stopped[-1].result] == ["a.pth"]
