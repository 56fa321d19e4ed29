"""Community models in (spandrel, safe loading) and library models out (safetensors, ONNX)."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.cli import main
from engine import checkpoints, registry
from engine.errors import ModelError
from engine.importer import import_model
from engine.inference import InferenceOptions, restore_pixels
from engine.models import load_restorer


def esrgan_state(scale: int = 2) -> dict:
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    return ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=scale).state_dict()


def finish(gen):
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_import_esrgan_and_restore(tmp_path, suffix):
    path = tmp_path / f"tiny_esrgan{suffix}"
    state = esrgan_state()
    if suffix == ".pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    entry = import_model(path)
    assert entry.card["scale"] == 2 and entry.card["task"] == "super-resolution"
    assert "ESRGAN" in entry.card["architecture_name"]
    restorer = load_restorer(entry.id)
    img = np.random.default_rng(0).random((13, 17, 3), dtype=np.float32)
    out = finish(restore_pixels(restorer, img, InferenceOptions(tile=0)))
    assert out.shape == (26, 34, 3) and np.isfinite(out).all()


class Exploit:
    def __reduce__(self):
        return (Path.write_text, (Path(MARKER), "pwned"))


MARKER = ""


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_malicious_pickle_is_refused_without_running_anything(tmp_path, protocol):
    global MARKER
    MARKER = str(tmp_path / "marker.txt")
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"weight": Exploit()}, fh, protocol=protocol)
    with pytest.raises(ModelError, match="refused"):
        import_model(path)
    assert not Path(MARKER).exists()
    assert [m for m in checkpoints.list_models() if not m.shipped] == []


def test_import_rejects_non_models(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a readable"):
        import_model(junk)
    torch.save({"foo.weight": torch.zeros(3, 3)}, tmp_path / "unknown.pth")
    with pytest.raises(ModelError, match="not recognised"):
        import_model(tmp_path / "unknown.pth")


def test_cli_import_then_export_onnx_matches_torch(tmp_path, capsys):
    spec = registry.get("dncnn")
    kwargs = spec.kwargs({"depth": 3, "width": 8})
    torch.manual_seed(1)
    net = spec.build(**kwargs).eval()
    checkpoints.save_model("tiny", net.state_dict(), "dncnn", kwargs, {"task": "denoise"})
    onnx_path = tmp_path / "tiny.onnx"
    assert main(["models", "export", "tiny", "--format", "onnx", "-o", str(onnx_path)]) == 0
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 40, 52)  # another size than the export probe: dynamic axes work
    got = session.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        want = net(x).numpy()
    assert np.abs(got - want).max() < 1e-4
    st_path = tmp_path / "tiny.safetensors"
    assert main(["models", "export", "tiny", "-o", str(st_path)]) == 0
    assert checkpoints.load_weights(st_path)[0] == "dncnn"


def test_cli_import_reports_the_model(tmp_path, capsys):
    torch.save(esrgan_state(), tmp_path / "x2.pth")
    assert main(["models", "import", str(tmp_path / "x2.pth"), "--name", "my-esrgan"]) == 0
    assert "my-esrgan" in capsys.readouterr().out
    assert checkpoints.find_model("my-esrgan").card["scale"] == 2


def test_fft_models_say_plainly_why_onnx_cannot_take_them(tmp_path):
    spec = registry.get("deconv2d")
    kwargs = spec.kwargs()
    net = spec.build(**kwargs)
    checkpoints.save_model("deconv", net.state_dict(), "deconv2d", kwargs, {"task": "deblur"})
    with pytest.raises(ModelError, match="FFT"):
        from engine.export import export_model

        export_model("deconv", "onnx", tmp_path / "d.onnx")
    assert not (tmp_path / "d.onnx").exists()
