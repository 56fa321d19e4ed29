"""Default precision: bf16 only where a model's measured check found it equal to fp32."""
import numpy as np
import pytest

from engine import checkpoints, devices, precision, registry
from engine.models import load_restorer


@pytest.fixture
def model_id():
    kwargs = {"depth": 3, "width": 8}
    net = registry.get("dncnn").build(**kwargs)
    return checkpoints.save_model("tiny", net.state_dict(), "dncnn", kwargs, {"task": "denoise"}).id


def test_check_measures_bf16_against_fp32_and_auto_follows_the_card(model_id, monkeypatch):
    check = precision.check_bf16(model_id)
    assert check["device"] == "cpu" and check["bf16_speedup"] > 0
    # a 3-layer net in bf16 differs from fp32 by well under a level of 8 bits
    assert check["psnr_vs_fp32"] > precision.EQUAL_DB and check["equal"] is True
    assert check["max_levels"] < 3

    monkeypatch.setattr(devices, "fast_bf16", lambda device: True)
    assert load_restorer(model_id, device="cpu", precision="auto").precision == "fp32"  # unchecked
    entry = checkpoints.find_model(model_id)
    card = {**entry.card, precision.CARD_KEY: check}
    assert precision.auto_precision(card, "cpu") == "bf16"
    assert precision.auto_precision({**card, precision.CARD_KEY: {**check, "equal": False}}, "cpu") == "fp32"
    monkeypatch.setattr(devices, "fast_bf16", lambda device: False)   # no native bf16: fp32
    assert precision.auto_precision(card, "cpu") == "fp32"


def test_shipped_models_carry_a_passed_check_so_auto_restores_them_in_bf16(monkeypatch):
    monkeypatch.setattr(devices, "fast_bf16", lambda device: True)
    for model in ("deblur", "sobel-edges"):
        entry = checkpoints.find_model(model)
        assert entry.card[precision.CARD_KEY]["equal"] is True
        assert load_restorer(model, device="cpu", precision="auto").precision == "bf16"
    # the explicit choice always wins
    assert load_restorer("deblur", device="cpu", precision="fp32").precision == "fp32"


def test_sample_is_deterministic_and_photo_like():
    a, b = precision.sample_image(), precision.sample_image()
    assert np.array_equal(a, b) and a.shape == (160, 160, 3)
    assert 0.05 < float(a.std()) < 0.4
