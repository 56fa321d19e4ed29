"""Every registered network: builds small, runs through NetRestorer, round-trips its weights."""
from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.archinfo import count_params, describe
from engine.archs import ARCH_SPECS
from engine.descriptor import NetRestorer
from engine.registry import TASKS

SPECS = {spec.id: spec for spec in ARCH_SPECS}
NETS = [s.id for s in ARCH_SPECS if s.kind == "net"]
DISCRIMINATORS = [s.id for s in ARCH_SPECS if s.kind == "discriminator"]
EXPECTED_IDS = {"deconv2d", "srcnn", "espcn", "conv-ae", "dae", "dae-groupnorm", "unet", "patchgan",
                "convdisc", "dilated-fcn", "unet-ps", "srresnet18", "rdn", "sr-disc-simple",
                "sr-disc-rev", "dncnn", "fsrcnn", "nafnet", "resunet", "ffdnet"}

# the smallest sensible configuration of each id (CPU tests stay fast)
TINY = {
    "deconv2d": dict(kernel_size=(3, 3)),
    "srcnn": dict(n1=8, n2=4),
    "espcn": dict(n1=8, n2=4, scale=3),
    "conv-ae": dict(width=4),
    "dae": dict(),
    "dae-groupnorm": dict(),
    "unet": dict(depth=3, base=4),
    "patchgan": dict(base=4, n_layers=2),
    "convdisc": dict(base=4, n_layers=2),
    "sr-disc-simple": dict(base=4),
    "sr-disc-rev": dict(base=4),
    "dilated-fcn": dict(width=8),
    "unet-ps": dict(base=4, depth=2),
    "srresnet18": dict(widths=(4, 4, 8, 8), blocks=(1, 1, 1, 1)),
    "rdn": dict(G0=4, G=4, D=2, C=2),
    "dncnn": dict(depth=3, width=4),
    "fsrcnn": dict(d=8, s=4, m=1),
    "nafnet": dict(width=4, enc_blocks=(1, 1), dec_blocks=(1, 1)),
    "resunet": dict(widths=(4, 8), blocks=1),
    "ffdnet": dict(depth=3, width=8),
}

# other options worth running once: (id, kwargs)
VARIANTS = [
    ("deconv2d", dict(kernel_size=(2, 2), mode="channelwise", learn_scale=True)),
    ("deconv2d", dict(kernel_size=(2, 2), mode="full", out_channels=1, four_factor=False)),
    ("srcnn", dict(n1=4, n2=4, first_layer="deconv", scale=3)),
    ("espcn", dict(n1=4, n2=4, first_layer="deconv", scale=4)),
    ("dae", dict(size=64)),
    ("dae-groupnorm", dict(size=50, resize_mode="bilinear", out_activation="sigmoid")),
    ("unet", dict(depth=2, base=4, out_activation="relu", out_channels=1)),
    ("dilated-fcn", dict(width=8, dilations=(2, 4, 8), residual=False, upsample="transposed")),
    ("srresnet18", dict(widths=(4, 8), blocks=(1, 1), scale=4)),
    ("rdn", dict(G0=4, G=4, D=1, C=2, scale=4, antialias="blurpool")),
    ("rdn", dict(G0=4, G=4, D=1, C=2, scale=3, antialias="blurpool")),
    ("fsrcnn", dict(d=8, s=4, m=1, scale=3, in_channels=1, out_channels=1)),
    ("resunet", dict(widths=(4, 8, 8), blocks=1, level="noise", in_channels=4)),
    ("resunet", dict(widths=(4, 8), blocks=1, level="blur", in_channels=4)),
    ("resunet", dict(widths=(4, 8), blocks=1, out_channels=1)),
    ("ffdnet", dict(depth=3, width=8, level="noise", in_channels=4)),
]


def _image(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


def _run(arch_id: str, kwargs: dict, precision: str = "fp32") -> None:
    spec = SPECS[arch_id]
    torch.manual_seed(0)
    module = spec.build(**kwargs)
    restorer = NetRestorer(module, spec, kwargs, precision=precision)
    h, w = (restorer.fixed_size,) * 2 if restorer.fixed_size else (37, 29)
    out = restorer.run(_image(h, w, restorer.in_channels))
    s = spec.scale_for(spec.kwargs(kwargs))
    assert module.scale == s
    assert out.shape == (h * s, w * s, restorer.out_channels)
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_registry_entries_are_consistent():
    ids = [s.id for s in ARCH_SPECS]
    assert len(ids) == len(set(ids))
    assert set(ids) == EXPECTED_IDS == set(TINY)
    for spec in ARCH_SPECS:
        assert spec.tasks and all(t in TASKS for t in spec.tasks), spec.id
        assert set(spec.precisions) <= {"fp32", "bf16", "fp16"} and "fp32" in spec.precisions
        assert spec.kind in ("net", "discriminator")
        assert spec.builder.startswith("engine.archs.")
        params = inspect.signature(spec.target()).parameters
        signature = {name: p.default for name, p in params.items()}
        assert dict(spec.defaults) == signature, spec.id
        assert spec.scale == spec.defaults.get("scale", 1)
        assert spec.in_channels == spec.defaults["in_channels"]
        if "out_channels" in spec.defaults:
            assert spec.out_channels == spec.defaults["out_channels"]
        module_name = spec.builder.partition(":")[0]
        assert spec in importlib.import_module(module_name).SPECS  # each family lists its own


def test_listing_archs_does_not_import_torch():
    code = "import sys, engine.archs; assert 'torch' not in sys.modules; print(len(engine.archs.ARCH_SPECS))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(ARCH_SPECS)


@pytest.mark.parametrize("arch_id", NETS)
def test_net_runs_through_restorer(arch_id):
    _run(arch_id, TINY[arch_id])


@pytest.mark.parametrize("arch_id,kwargs", VARIANTS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(VARIANTS)])
def test_variants_run(arch_id, kwargs):
    _run(arch_id, kwargs)


@pytest.mark.parametrize("arch_id", [i for i in NETS if "bf16" in SPECS[i].precisions])
def test_low_precision_runs(arch_id):
    _run(arch_id, TINY[arch_id], precision="bf16")


def test_deconv_first_layer_keeps_float32_under_autocast():
    _run("espcn", dict(n1=4, n2=4, first_layer="deconv"), precision="bf16")


@pytest.mark.parametrize("arch_id", DISCRIMINATORS)
def test_discriminator_forward(arch_id):
    spec = SPECS[arch_id]
    module = spec.build(**TINY[arch_id]).eval()
    with torch.no_grad():
        out = module(torch.rand(2, spec.in_channels, 48, 40))
    assert out.shape[:2] == (2, 1) and torch.isfinite(out).all()


@pytest.mark.parametrize("arch_id", sorted(EXPECTED_IDS))
def test_weights_round_trip(arch_id, tmp_path):
    spec = SPECS[arch_id]
    kwargs = spec.kwargs(TINY[arch_id])
    torch.manual_seed(1)
    module = spec.build(**kwargs)
    with torch.no_grad():  # move every weight off its init (zero taps, zero residual scales)
        for p in module.parameters():
            p.add_(0.01 * torch.randn_like(p))
    side = getattr(module, "fixed_size", None) or 32
    x = torch.rand(2, spec.in_channels, side, side)
    module.train()(x)  # fill BatchNorm running statistics
    module.eval()
    path = tmp_path / "model.safetensors"
    save_file(module.state_dict(), str(path), metadata={"arch": arch_id, "kwargs": json.dumps(kwargs)})

    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert meta["arch"] == arch_id
    torch.manual_seed(2)
    rebuilt = SPECS[meta["arch"]].build(**json.loads(meta["kwargs"]))
    rebuilt.load_state_dict(load_file(str(path)))
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(module(x), rebuilt(x))


# -- the learned deconvolution layer ---------------------------------------------------

H_KERNEL = torch.tensor([[1.0, 0.2, 0.0, 0.0], [0.2, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("four_factor", [True, False])
def test_deconv_inverts_its_blur(four_factor):
    from engine.archs.deconv import Deconv2d, four_factor_blur

    torch.manual_seed(0)
    x = torch.rand(1, 1, 40, 36)
    padded = torch.nn.functional.pad(x, (0, 36, 0, 40))  # zero-padded to twice the size
    blurred = four_factor_blur(padded, H_KERNEL, four_factor=four_factor)
    assert (blurred - padded).abs().max() > 0.05
    for pad_factor in (1, 2):
        layer = Deconv2d(kernel_size=(2, 4), four_factor=four_factor, pad_factor=pad_factor)
        layer.set_kernel(H_KERNEL)
        with torch.no_grad():
            restored = layer(blurred)
        err = (restored - padded).abs()[..., 8:32, 8:28]  # away from the image borders
        assert err.max() < 1e-4, (pad_factor, float(err.max()))
    # pad_factor=1 on the already padded image is the exact inverse everywhere
    layer = Deconv2d(kernel_size=(2, 4), four_factor=four_factor, pad_factor=1)
    layer.set_kernel(H_KERNEL)
    with torch.no_grad():
        assert (layer(blurred) - padded).abs().max() < 1e-4


def test_deconv_numpy_blur_and_identity_start():
    from engine.archs.deconv import Deconv2d, four_factor_blur

    img = np.random.default_rng(0).random((16, 12)).astype(np.float32)
    out = four_factor_blur(img, H_KERNEL.numpy())
    assert isinstance(out, np.ndarray) and out.shape == img.shape and out.dtype == np.float32
    assert np.allclose(out.sum(), img.sum() * 1.4 ** 4, rtol=1e-4)  # DC gain of the 4 factors
    layer = Deconv2d(3, 3, kernel_size=(3, 3), depthwise=True)
    x = torch.rand(2, 3, 9, 7)
    assert torch.allclose(layer(x), x, atol=1e-6)  # monic zero taps: the identity


def test_deconv_guard_and_gradients():
    from engine.archs.deconv import Deconv2d, _guard

    d = torch.tensor([0j, 1e-12 + 1e-12j, 2 + 0j])
    g = _guard(d, 1e-8)
    assert torch.allclose(g.abs(), torch.tensor([1e-8, 1e-8, 2.0]), rtol=1e-5)
    assert torch.allclose(torch.angle(g[1]), torch.tensor(np.pi / 4, dtype=torch.float32))
    layer = Deconv2d(2, 3, kernel_size=(2, 2), bias=True, learn_scale=True)
    layer(torch.rand(1, 2, 8, 8)).square().mean().backward()
    assert torch.isfinite(layer.taps.grad).all() and layer.taps.grad.abs().sum() > 0
    assert layer.out_scale.grad is not None


# -- sizes, parameter counts, archinfo ----------------------------------------------------

def _params(arch_id: str, **kwargs) -> int:
    if arch_id == "rdn":  # 22M parameters: shapes only
        with torch.device("meta"):
            return count_params(SPECS[arch_id].build(**kwargs))
    return count_params(SPECS[arch_id].build(**kwargs))


@pytest.mark.parametrize("arch_id,kwargs,expected,tolerance", [
    ("fsrcnn", dict(in_channels=1, out_channels=1), 12_000, 0.10),  # the paper's Y-channel model
    ("rdn", dict(), 22_000_000, 0.10),
    ("unet-ps", dict(), 2_300_000, 0.20),
    ("dilated-fcn", dict(), 230_000, 0.30),
    ("dilated-fcn", dict(dilations=(2, 4, 8), residual=False, upsample="transposed"), 230_000, 0.30),
])
def test_parameter_counts(arch_id, kwargs, expected, tolerance):
    assert abs(_params(arch_id, **kwargs) - expected) <= tolerance * expected


def test_size_multiples_follow_kwargs():
    assert SPECS["unet"].build(depth=3, base=4).size_multiple == 8
    assert SPECS["unet"].size_multiple == 2 ** SPECS["unet"].defaults["depth"]
    assert SPECS["nafnet"].size_multiple == 2 ** len(SPECS["nafnet"].defaults["enc_blocks"])
    assert SPECS["unet-ps"].size_multiple == 2 ** SPECS["unet-ps"].defaults["depth"]
    assert SPECS["dae"].build(size=64).fixed_size == 64


@pytest.mark.parametrize("arch_id", sorted(EXPECTED_IDS))
def test_describe(arch_id):
    spec = SPECS[arch_id]
    info = describe(spec, TINY[arch_id], field_probe=48)
    assert info["params"] == count_params(spec.build(**TINY[arch_id]))
    key = "macs_per_input_pixel" if spec.kind == "discriminator" else "macs_per_output_pixel"
    assert info[key] > 0
    assert 0 < info["receptive_field"] <= max(info["probe_size"], 100)
    assert info["scale"] == spec.scale_for(spec.kwargs(TINY[arch_id]))


def test_describe_measures_known_fields():
    assert describe(SPECS["dncnn"], dict(depth=3, width=4))["receptive_field"] == 7  # three 3x3
    assert describe(SPECS["conv-ae"], dict(width=4))["receptive_field"] == 9
    assert describe(SPECS["patchgan"], dict(base=4))["receptive_field"] == 70
    info = describe(SPECS["deconv2d"], TINY["deconv2d"])
    assert info["receptive_field_capped"]  # the inverse filter is global
