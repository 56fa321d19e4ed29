"""Restoring straight to uint8/uint16, band by band: the float path rounded, in far less memory."""
from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from desktop.cli import main
from engine import imageio
from engine.descriptor import NetRestorer, Restorer
from engine.events import Finished, Log
from engine.inference import InferenceOptions, restore_pixels
from engine.jobs import run_to_end
from engine.models import load_restorer
from engine.registry import ArchSpec
from engine.restore import restore_to_scale

DEPTH = {np.uint8: 8, np.uint16: 16}


def drive(gen):
    """(returned value, events) of a job-style generator, run as a job."""
    events = []
    end = run_to_end(lambda _spec, _control: gen, None, on_event=events.append)
    assert isinstance(end, Finished), getattr(end, "detail", end)
    return end.result, events


def result(gen):
    return drive(gen)[0]


def tiny_net(normalise: str = "", channels: int = 3) -> NetRestorer:
    """x2: one conv to 4x the channels, pixel-shuffled back."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2))
    net.receptive_radius, net.in_channels, net.out_channels = 1, channels, channels
    spec = ArchSpec(id="tiny", family="test", title="tiny", tasks=("super-resolution",),
                    builder="u:u", defaults={"scale": 2})
    return NetRestorer(net, spec, output_normalise=normalise)


RESTORERS = {"tiny-net": tiny_net,
             "grey-net": lambda: tiny_net(channels=1),          # colour restored per channel
             "unsharp": lambda: load_restorer("unsharp", device="cpu"),
             "bicubic": lambda: load_restorer("bicubic", device="cpu")}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("tile", [0, 40])
@pytest.mark.parametrize("name", list(RESTORERS))
@pytest.mark.parametrize("channels, strength", [(4, 0.6), (1, 1.0), (2, 0.3)])
def test_integer_output_is_the_float_output_rounded(name, tile, dtype, channels, strength):
    restorer = RESTORERS[name]()
    img = np.random.default_rng(1).random((70, 93, channels), dtype=np.float32)
    options = InferenceOptions(tile=tile, overlap=16, strength=strength)
    floats = result(restore_pixels(restorer, img, options))
    ints = result(restore_pixels(restorer, img, InferenceOptions(
        tile=tile, overlap=16, strength=strength, out_dtype=dtype)))
    assert floats.dtype == np.float32 and ints.dtype == dtype
    assert ints.shape == floats.shape == (70 * restorer.scale, 93 * restorer.scale, channels)
    want = imageio.quantize(floats, DEPTH[dtype]).astype(np.int64)
    assert np.abs(ints.astype(np.int64) - want).max() <= 1


@pytest.mark.parametrize("make, options, scale", [
    (tiny_net, InferenceOptions(postprocess=("autocontrast",)), None),   # post-processing
    (lambda: tiny_net("max"), InferenceOptions(), None),                 # per-image normalisation
    (tiny_net, InferenceOptions(), 3),                                   # resampled to x3
])
def test_whole_image_steps_keep_the_float_path(make, options, scale):
    img = np.random.default_rng(2).random((30, 26, 3), dtype=np.float32)
    floats = result(restore_to_scale(make(), img, options, scale))
    asked = result(restore_to_scale(make(), img, replace(options, out_dtype=np.uint8), scale))
    assert asked.dtype == np.float32 and np.array_equal(asked, floats)


def test_non_finite_output_is_zeroed_band_by_band():
    class Holes(Restorer):
        def run(self, x, precision=None):
            y = x.copy()
            y[y > 0.9] = np.nan
            return y

    img = np.random.default_rng(5).random((50, 40, 3), dtype=np.float32)
    options = InferenceOptions(tile=16, overlap=8, out_dtype=np.uint8)
    out, events = drive(restore_pixels(Holes(), img, options))
    assert any(isinstance(e, Log) and "non-finite" in e.text for e in events)
    assert out.dtype == np.uint8 and (out[img > 0.9] == 0).all()
    assert np.array_equal(out[img <= 0.9], imageio.quantize(img, 8)[img <= 0.9])


TILE = 128


def traced_peak(restorer, img, dtype) -> int:
    """Bytes allocated at the peak of one restore (numpy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        result(restore_pixels(restorer, img, InferenceOptions(tile=TILE, out_dtype=dtype)))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_uint8_output_never_holds_a_full_float32_output():
    restorer = load_restorer("unsharp", device="cpu")   # grey in, 3 channels out of the method
    side = 4896                                          # a 24 MP grey image
    img = np.linspace(0.0, 1.0, side * side, dtype=np.float32).reshape(side, side, 1)
    float32_output = side * side * 1 * 4                 # one float32 copy of the output
    uint8_output = side * side * 1
    band = TILE * side * restorer.out_channels * 4       # one tile row summed in float32
    new_peak = traced_peak(restorer, img, np.uint8)
    old_peak = traced_peak(restorer, img, np.float32)
    print(f"traced peak: uint8 path {new_peak / 2**20:.1f} MiB, float32 path "
          f"{old_peak / 2**20:.1f} MiB, one float32 output {float32_output / 2**20:.1f} MiB")
    assert old_peak > float32_output
    # the uint8 output plus a few band-sized buffers, well below one float32 output
    bound = uint8_output + 6 * band
    assert bound < 0.75 * float32_output
    assert uint8_output <= new_peak < bound


def write_png(path, h, w, channels, depth):
    pixels = np.random.default_rng(3).random((h, w, channels), dtype=np.float32)
    info = imageio.ImageInfo("PNG", depth, channels in (2, 4), channels in (1, 2))
    imageio.write_image(path, pixels, info)


@pytest.mark.parametrize("depth, channels", [(8, 4), (16, 2), (16, 3)])
@pytest.mark.parametrize("model", ["bicubic", "unsharp"])
def test_cli_writes_the_same_file_as_the_float_path(tmp_path, depth, channels, model):
    src = tmp_path / "in.png"
    write_png(src, 45, 61, channels, depth)
    assert main(["restore", str(src), "-o", str(tmp_path / "out.png"), "--model", model,
                 "--tile", "24", "--overlap", "8", "--strength", "0.7", "-q"]) == 0
    image = imageio.read_image(src)
    options = InferenceOptions(tile=24, overlap=8, strength=0.7)
    floats = result(restore_to_scale(load_restorer(model, device="cpu"), image.pixels, options))
    imageio.write_image(tmp_path / "float.png", floats, image.info)
    assert (tmp_path / "out.png").read_bytes() == (tmp_path / "float.png").read_bytes()
    assert imageio.read_image(tmp_path / "out.png").info.bit_depth == depth


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_write_image_takes_integer_pixels(tmp_path, suffix, dtype):
    """As they are at the depth written; rescaled from another depth, composited for JPEG."""
    pixels = np.random.default_rng(4).random((9, 11, 4), dtype=np.float32)
    ints = imageio.quantize(pixels, DEPTH[dtype])
    info = imageio.ImageInfo("PNG", 16, True, False)
    imageio.write_image(tmp_path / f"int{suffix}", ints, info, quality=100)
    imageio.write_image(tmp_path / f"float{suffix}", ints / np.float32(np.iinfo(dtype).max),
                        info, quality=100)
    a = imageio.read_image(tmp_path / f"int{suffix}").pixels
    b = imageio.read_image(tmp_path / f"float{suffix}").pixels
    assert np.array_equal(a, b)
