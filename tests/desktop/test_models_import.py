"""Models page: importing by drop (spandrel ESRGAN), export to a file, errors shown."""
from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spandrel")


@pytest.fixture
def esrgan_pth(tmp_path) -> Path:
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    path = tmp_path / "tiny_esrgan.pth"
    torch.save(ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2).state_dict(), path)
    return path


def test_dropping_a_pth_imports_it_and_export_writes_a_file(window, qtbot, esrgan_pth, tmp_path):
    page = window.models_page
    window.drop_paths([str(esrgan_pth)])
    assert window.current_page_name() == "Models"
    qtbot.waitUntil(lambda: "tiny_esrgan" in page.ids(), timeout=60000)
    qtbot.waitUntil(lambda: "Imported" in page.notice.text(), timeout=5000)
    assert page.current_id() == "tiny_esrgan"
    assert "tiny_esrgan" in window.restore_page.picker.choices       # the picker offers it too
    assert page.export_button.isEnabled()

    out = tmp_path / "out" / "tiny.safetensors"
    out.parent.mkdir()
    assert page.export_model(str(out))
    qtbot.waitUntil(lambda: "Exported" in page.notice.text(), timeout=60000)
    assert out.exists() and out.stat().st_size > 1000
    assert str(out) in window.statusBar().currentMessage()


def test_import_and_export_errors_are_shown(window, qtbot, tmp_path, esrgan_pth):
    page = window.models_page
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\0garbage")
    window.drop_paths([str(junk)])
    qtbot.waitUntil(lambda: "Could not import junk.pth" in page.notice.text(), timeout=60000)
    assert "not a readable" in page.notice.text() and page.notice.objectName() == "error"
    assert "junk" not in page.ids()

    page.import_models([str(esrgan_pth)])
    qtbot.waitUntil(lambda: "tiny_esrgan" in page.ids(), timeout=60000)
    page.select("tiny_esrgan")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert page.export_model(str(blocker / "x.safetensors"))
    qtbot.waitUntil(lambda: "Could not export" in page.notice.text(), timeout=60000)
    assert "Could not export" in window.statusBar().currentMessage()


def test_classical_methods_cannot_be_exported(window):
    page = window.models_page
    window.show_page("Models")
    assert page.select("bicubic")
    assert not page.export_button.isEnabled()
    assert not page.export_model("x.onnx")
