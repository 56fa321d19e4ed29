"""When a cached backend measurement is taken again: a changed setup, age, or a busy machine
that is quiet now; and the candidates are timed in turns."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import backend_cache, backend_choice


class FakeNet:
    """What the choice looks at: a net with weights' sha256 on the CPU."""
    module = forward = None
    device, sha256, id = "cpu", "abc123", "fake"


def stored(monkeypatch, load: float, **changes) -> dict:
    """A measurement as ``measure`` leaves it, taken at 1-minute load ``load`` per core."""
    monkeypatch.setattr(backend_cache, "load_per_core", lambda: load)
    check = {"eager": {"ok": True, "ms_per_mp": 100.0, "max_abs_diff": 0.0, "setup_s": 0.0}}
    backend_choice.finish(check, "cpu")
    check.update(changes)
    backend_cache.store_check(FakeNet(), check)
    return check


def test_a_fresh_measurement_holds_and_the_big_image_default_uses_it(monkeypatch):
    check = stored(monkeypatch, load=0.2)
    assert check["context"]["versions"]["torch"] and check["context"]["threads"] >= 1
    assert backend_cache.stale(check, "cpu") == ""
    assert backend_choice.default_choice(FakeNet(), 24_000_000) is None


@pytest.mark.parametrize("change, reason", [
    (lambda c: c["context"]["versions"].update(openvino="2020.1"), "openvino changed (2020.1 -> "),
    (lambda c: c["context"].update(threads=999), "threads changed (999 -> "),
    (lambda c: c["context"].update(device="Some Other CPU x64"), "device changed"),
    (lambda c: c.update(measured=(dt.datetime.now() - dt.timedelta(days=45)).isoformat()),
     "measured 45 days ago"),
    (lambda c: c.pop("context"), "predates its context"),
])
def test_a_measurement_from_another_setup_or_time_is_taken_again(monkeypatch, change, reason):
    check = stored(monkeypatch, load=0.2)
    change(check)
    backend_cache.store_check(FakeNet(), check)
    assert reason in backend_cache.stale(check, "cpu")
    assert backend_choice.default_choice(FakeNet(), 24_000_000) == "auto"   # a big image re-measures
    assert backend_choice.default_choice(FakeNet(), 10_000) is None         # a small one does not


def test_a_busy_measurement_is_retaken_once_the_machine_is_quiet(monkeypatch):
    check = stored(monkeypatch, load=2.5)
    assert check["context"]["busy"] is True
    assert backend_cache.stale(check, "cpu") == ""          # still busy: a new one is no better
    monkeypatch.setattr(backend_cache, "load_per_core", lambda: 0.1)
    assert backend_cache.stale(check, "cpu") == "measured on a busy machine, which is quiet now"


def test_candidates_are_timed_in_turns():
    torch = pytest.importorskip("torch")
    order = []
    fns = {name: (lambda x, n=name: order.append(n)) for name in ("eager", "onnxruntime", "openvino")}
    ms = backend_choice._ms_per_mp(fns, torch.zeros(1, 3, 10, 10), repeats=2)
    assert order == ["eager", "onnxruntime", "openvino"] * 3      # a warm-up round, then two
    assert set(ms) == set(fns) and all(v >= 0 for v in ms.values())


def test_an_onnx_export_is_kept_for_the_next_process_and_a_damaged_one_is_redone(monkeypatch):
    """The ONNX backends export a library model once (the user cache dir, by its weights'
    sha256); a later restorer loads that file, and a damaged file is exported again."""
    pytest.importorskip("onnxruntime")
    from engine import backends, checkpoints, paths, registry
    from engine.models import load_restorer

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = registry.get("dncnn").build(depth=2, width=8)
    model = checkpoints.save_model("tiny", net.state_dict(), "dncnn", {"depth": 2, "width": 8},
                                   {"task": "denoise"}).id
    exports = []
    real = backends._export
    monkeypatch.setattr(backends, "_export", lambda n, p: exports.append(p) or real(n, p))

    def ready(name="onnxruntime"):
        restorer = load_restorer(model, device="cpu", precision="fp32")
        return backend_choice.prepared(restorer, name, 64)

    first = ready()
    assert not first.reason and len(exports) == 1
    cached = exports[0]
    assert cached.parent == paths.cache_dir() / "onnx" and cached.is_file()
    assert not ready().reason and not ready("openvino").reason and len(exports) == 1
    cached.write_bytes(b"not an onnx file")
    again = ready()
    assert not again.reason and again.max_abs_diff <= backend_choice.TOLERANCE
    assert len(exports) == 2 and cached.stat().st_size > 1000
