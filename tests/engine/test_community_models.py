"""Imported spandrel models run through their descriptor, tile exactly and honour size hints."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.importer import _describe, import_model
from engine.inference import InferenceOptions, restore_whole
from engine.models import load_restorer


def _arch(name):
    import importlib

    module, cls = name.rsplit(".", 1)
    package = "spandrel_extra_arches" if module in EXTRA else "spandrel"
    return getattr(importlib.import_module(f"{package}.architectures.{module}"), cls)


EXTRA = {"SRFormer"}   # from spandrel-extra-arches


NETS = {
    "dncnn": ("DnCNN.DnCNN", dict(in_nc=3, out_nc=3, nc=8, nb=17)),
    "fdncnn": ("DnCNN.DnCNN", dict(in_nc=4, out_nc=3, nc=8, nb=17, mode="FDnCNN")),
    "compact": ("Compact.Compact", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2)),
    "esrgan": ("ESRGAN.ESRGAN", dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)),
    "swinir": ("SwinIR.SwinIR", dict(img_size=16, embed_dim=12, depths=[1], num_heads=[2],
                                     window_size=4, upscale=1, upsampler="", resi_connection="1conv")),
    "span": ("SPAN.SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2)),
    "safmn": ("SAFMN.SAFMN", dict(dim=8, n_blocks=1, upscaling_factor=2)),
    "srformer": ("SRFormer.SRFormer", dict(img_size=16, embed_dim=12, depths=[1], num_heads=[2],
                                           window_size=4, upscale=1, upsampler="",
                                           resi_connection="1conv")),
    # pads itself with zeros (not mirrored) to its window: the borders catch a pre-padding
    "omnisr": ("OmniSR.OmniSR", dict(num_feat=16, block_num=1, window_size=8, res_num=1, up_scale=2)),
    # windows only inside its blocks (none at the top): tiles must still start on them
    "dctlsa": ("DCTLSA.DCTLSA", dict(nf=10, num_modules=6, upscale=2, num_head=5)),
    "hat": ("HAT.HAT", dict(img_size=16, embed_dim=30, depths=[1], num_heads=[2], window_size=4,
                            upscale=2, upsampler="pixelshuffle", num_feat=8)),
}
NO_ONNX = {"safmn"}
# context that no overlap bounds: OmniSR's grid attention spans the whole input, DCTLSA rolls its
# windows without a mask (the top row attends to the bottom one). Tiles of these cannot equal the
# whole image; their default (memory-sized) tile must leave an image that fits it whole.
NON_LOCAL = {"omnisr", "dctlsa"}
ONNX_KINDS = ("compact", "dncnn", "esrgan", "fdncnn", "safmn", "span", "srformer", "swinir")   # adaptive pooling to a size that follows the input: ONNX cannot say it


def _save(tmp_path, kind):
    cls, kwargs = NETS[kind]
    torch.manual_seed(0)
    state = _arch(cls)(**kwargs).state_dict()
    path = tmp_path / f"{kind}.pth"
    torch.save(state, path)
    return path, state


@pytest.mark.parametrize("kind", sorted(NETS))
def test_imported_model_matches_spandrel_and_tiles_exactly(tmp_path, kind):
    path, state = _save(tmp_path, kind)
    entry = import_model(path)
    restorer = load_restorer(entry.id)
    tile = 12 * restorer.receptive_radius   # its default overlap (4 radii) fits 3 times
    img = np.random.default_rng(1).random((tile + 41, tile + 27, 3), dtype=np.float32)   # odd
    whole = restore_whole(restorer, img, InferenceOptions(tile=0))
    descriptor = _describe(state)
    with torch.inference_mode():
        ref = descriptor(torch.from_numpy(img.transpose(2, 0, 1).copy())[None])[0]
    ref = ref.permute(1, 2, 0).clamp(0, 1).numpy()
    assert whole.shape == ref.shape
    assert np.abs(whole - ref).max() <= 1 / 255
    # default tiling: still spandrel's (non-local nets: on an image that fits their default tile)
    part = img
    if kind in NON_LOCAL:
        from engine.inference import DEFAULT_BUDGET_MB, auto_tile

        side = auto_tile(restorer, DEFAULT_BUDGET_MB) - 1
        assert side >= 127
        part = img[:side, :side - 2]
        with torch.inference_mode():
            out = descriptor(torch.from_numpy(part.transpose(2, 0, 1).copy())[None])[0]
        ref = out.permute(1, 2, 0).clamp(0, 1).numpy()
    default = restore_whole(restorer, part, InferenceOptions())
    assert np.abs(default - ref).max() <= 1 / 255
    if kind not in NON_LOCAL:
        restorer.tiles = True   # force tiling even where spandrel discourages it: still seamless
        tiled = restore_whole(restorer, img, InferenceOptions(tile=tile))
        assert np.abs(tiled - whole).max() <= 1 / 255

    # exported as safetensors, the file imports again (spandrel knows its keys) and runs the same
    from engine.export import export_model

    again = import_model(export_model(entry.id, "safetensors", tmp_path / f"{kind}-out.safetensors"))
    assert again.card["architecture_id"] == entry.card["architecture_id"]
    small = img[:40, :48]
    assert np.abs(restore_whole(load_restorer(again.id), small, InferenceOptions(tile=0))
                  - restore_whole(restorer, small, InferenceOptions(tile=0))).max() == 0


def test_tiny_input_below_the_minimum_is_padded(tmp_path):
    from engine.community import DescriptorNet

    torch.manual_seed(0)
    state = _arch("DnCNN.DnCNN")(in_nc=3, out_nc=3, nc=8, nb=17).state_dict()
    net = DescriptorNet(_describe(state))
    net.minimum = 32   # a DCTLSA-like minimum: reflect padding of 3 px would fail without it
    y = net(torch.rand(1, 3, 3, 5))
    assert y.shape == (1, 3, 3, 5) and torch.isfinite(y).all()


@pytest.mark.parametrize("kind", ONNX_KINDS)
def test_imported_model_exports_to_onnx_with_the_same_output(tmp_path, kind):
    import onnxruntime

    from engine.errors import ModelError
    from engine.export import export_model

    path, _ = _save(tmp_path, kind)
    entry = import_model(path)
    out = tmp_path / f"{kind}.onnx"
    if kind in NO_ONNX:
        with pytest.raises(ModelError, match="cannot be exported to ONNX") as err:
            export_model(entry.id, "onnx", out)
        assert "\n" not in str(err.value) and not out.exists()
        return
    export_model(entry.id, "onnx", out)
    session = onnxruntime.InferenceSession(str(out))
    restorer = load_restorer(entry.id)
    x = np.random.default_rng(2).random((1, 3, 40, 48), dtype=np.float32)   # not the trace size
    with torch.inference_mode():
        want = restorer.module(torch.from_numpy(x)).numpy()
    got = session.run(None, {"image": x})[0]
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-4


def test_a_model_that_cannot_run_is_refused_at_import(tmp_path, monkeypatch):
    from engine import checkpoints
    from engine.community import DescriptorNet
    from engine.errors import ModelError

    path, _ = _save(tmp_path, "compact")

    def broken(self, x):
        raise RuntimeError("expected input to have 4 channels, but got 3 channels instead")

    monkeypatch.setattr(DescriptorNet, "forward", broken)
    with pytest.raises(ModelError, match="recognised but cannot run here.*4 channels"):
        import_model(path)
    assert checkpoints.find_model("compact") is None


def test_cli_import_reports_what_the_file_is_and_describe_takes_its_id(tmp_path, capsys):
    from desktop.cli import main

    from safetensors.torch import save_file

    _, state = _save(tmp_path, "srformer")
    path = tmp_path / "srformer-x1.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path),
              metadata={"author": "someone", "dataset": "DF2K"})
    assert main(["models", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported SRFormer as 'srformer-x1'" in out
    for line in ("architecture SRFormer", "scale        x1", "M parameters", "licence      restrictive",
                 "author=someone", "dataset=DF2K"):
        assert line in out
    assert main(["models", "describe", "srformer-x1"]) == 0
    out = capsys.readouterr().out
    assert "SRFormer" in out and "restrictive" in out and "not described" not in out


@pytest.mark.parametrize("kind", ["hat", "dctlsa", "omnisr", "swinir"])
def test_attention_families_tile_on_their_windows_with_wide_overlaps(tmp_path, kind):
    from engine.inference import default_overlap

    path, _ = _save(tmp_path, kind)
    restorer = load_restorer(import_model(path).id)
    window = {"hat": 4, "dctlsa": 16, "omnisr": 8, "swinir": 4}[kind]
    assert restorer.size_multiple % window == 0     # DCTLSA's windows sit inside its blocks
    assert restorer.receptive_radius >= 32 and default_overlap(restorer, 512) == 128


def test_import_prints_no_bare_library_warnings(tmp_path):
    import warnings

    path, _ = _save(tmp_path, "srformer")   # its construction warns about meshgrid indexing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_model(path)
    assert [str(w.message) for w in caught] == []


def test_a_recognised_file_that_cannot_run_is_refused_in_one_line(tmp_path, capsys):
    from desktop.cli import main
    from engine import checkpoints

    torch.manual_seed(0)   # spandrel rebuilds DCTLSA with 6 modules from these weights of 1
    state = _arch("DCTLSA.DCTLSA")(nf=10, num_modules=1, upscale=2, num_head=2).state_dict()
    torch.save(state, tmp_path / "odd-dctlsa.pth")
    assert main(["models", "import", str(tmp_path / "odd-dctlsa.pth")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: odd-dctlsa.pth: DCTLSA was recognised but cannot run here (")
    assert "\n" not in err and "Traceback" not in err
    assert checkpoints.find_model("odd-dctlsa") is None


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/clear_refs"),
                    reason="peak memory is measured through Linux's /proc")
def test_the_default_tile_follows_the_memory_measured_at_import(tmp_path):
    from engine import checkpoints
    from engine.inference import auto_tile

    path, _ = _save(tmp_path, "esrgan")
    entry = import_model(path)
    measured = checkpoints.load_weights(entry.path)[1]["bytes_per_pixel"]
    assert measured >= 4 * 3 * 2 ** 2     # at least its float32 x2 RGB output, per input pixel
    restorer = load_restorer(entry.id)
    assert restorer.bytes_per_pixel() == pytest.approx(measured)
    side = auto_tile(restorer, 256)
    assert side ** 2 * measured <= 256 * 2 ** 20 < (side + 2 * 8) ** 2 * measured
