"""The Models page card shows the cached backend measurement of a model on the device in use."""
from __future__ import annotations

import json
import os

import pytest

from tests.desktop.test_models_page import fake_model

SHA = "ab" * 32


def cache_measurement(device: str, chosen: str, **ms_per_mp: float) -> None:
    """A measurement as engine.backend_choice caches it, for the weights ``SHA`` on ``device``."""
    from engine import backend_cache, paths

    path = paths.cache_dir() / backend_cache.CACHE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    check = {n: {"ms_per_mp": v, "ok": True, "max_abs_diff": 1e-6, "setup_s": 1.0}
             for n, v in ms_per_mp.items()}
    check["compile"] = {"ok": False, "error": "torch.compile needs a C++ compiler"}   # not shown
    data[f"{SHA}:{device}"] = {**check, "chosen": chosen, "measured": "2026-12-04T01:20:00"}
    path.write_text(json.dumps(data))


@pytest.fixture
def models():
    from engine.paths import models_dir

    fake_model(models_dir(), "measured", title="Measured denoiser", sha256=SHA)
    fake_model(models_dir(), "unmeasured", title="Unmeasured denoiser", sha256="cd" * 32)


def shown(page, model_id: str) -> str:
    assert page.select(model_id)
    return page.detail.backend_note.text() if page.detail.backend_note.isVisible() else ""


def test_the_card_shows_the_chosen_backend_and_its_speed(make_window, models, tmp_path):
    from desktop.settings import Settings

    cache_measurement("cpu", "openvino", eager=812.0, onnxruntime=530.0, openvino=406.0)
    cache_measurement("cuda", "eager", eager=21.0)
    settings = Settings()
    settings.set("device", "cpu")
    window = make_window(settings=settings)
    window.resize(1200, 720)
    window.show_page("Models")
    page = window.models_page

    text = shown(page, "measured")
    assert "OpenVINO</b> on CPU" in text
    assert "406 ms per megapixel" in text and "2.00× as fast as PyTorch" in text
    assert "PyTorch 812" in text and "ONNX Runtime 530" in text and "2026-12-04 01:20" in text
    assert "CUDA" not in text and "compile" not in text   # the settings ask for the CPU
    assert "OpenVINO" not in page.detail.card.text()      # a section of its own, under the card
    window.grab().save(str(tmp_path / "models-card-backend.png"))
    if os.environ.get("RESTORELAB_SCREENSHOTS"):
        window.grab().save(os.path.join(os.environ["RESTORELAB_SCREENSHOTS"],
                                        "models-card-backend.png"))

    assert shown(page, "unmeasured") == ""         # nothing cached: no section
    assert shown(page, "nlmeans") == ""            # classical methods have no backends


def test_with_automatic_device_every_measured_device_is_listed(window, models):
    cache_measurement("cpu", "onnxruntime", eager=800.0, onnxruntime=400.0)
    cache_measurement("cuda", "eager", eager=20.0)
    window.show_page("Models")
    text = shown(window.models_page, "measured")
    assert "ONNX Runtime</b> on CPU: 400 ms per megapixel, 2.00× as fast" in text
    assert "PyTorch</b> on CUDA: 20 ms per megapixel" in text
