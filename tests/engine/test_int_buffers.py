"""Integer image buffers end to end: uint8/uint16 pixels go through tiling as read, each
tile converted to float on its own, and come out as the float path gives them, to 1 LSB."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine import imageio
from engine.descriptor import NetRestorer
from engine.imagebase import quantize, to_float
from engine.inference import InferenceOptions, restore_whole
from engine.models import load_restorer
from engine.registry import ArchSpec
from engine.tiling import run_tiled

DEPTH = {np.uint8: 8, np.uint16: 16}


def tiny_net(scale: int) -> NetRestorer:
    torch.manual_seed(0)
    layers = [nn.Conv2d(3, 3 * scale * scale, 3, padding=1)]
    if scale > 1:
        layers.append(nn.PixelShuffle(scale))
    net = nn.Sequential(*layers)
    net.receptive_radius, net.in_channels, net.out_channels = 1, 3, 3
    spec = ArchSpec(id="tiny", family="test", title="tiny", tasks=("super-resolution",),
                    builder="u:u", defaults={"scale": scale})
    return NetRestorer(net, spec)


def integer_image(dtype, shape=(61, 83, 3), seed=0) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_run_tiled_converts_each_tile_not_the_image(dtype):
    img = integer_image(dtype)
    seen = []

    def fn(tile):
        seen.append((tile.dtype, tile.shape, float(tile.max())))
        return tile * 0.5

    gen = run_tiled(fn, img, tile=32, overlap=8, scale=1, out_channels=3)
    try:
        while True:
            next(gen)
    except StopIteration as end:
        out = end.value
    assert len(seen) > 4 and all(d == np.float32 and s[0] < img.shape[0] for d, s, _ in seen)
    assert all(peak <= 1.0 for *_, peak in seen)
    np.testing.assert_allclose(out, to_float(img) * 0.5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("make, channels, strength", [
    (lambda: tiny_net(1), 3, 1.0),
    (lambda: tiny_net(2), 4, 0.6),                               # alpha and a blend, x2
    (lambda: load_restorer("unsharp", device="cpu"), 3, 1.0),    # a classical method
    (lambda: load_restorer("bicubic", device="cpu"), 2, 0.5),    # grey + alpha
])
def test_integer_input_equals_the_float_path_to_one_lsb(dtype, make, channels, strength):
    restorer = make()
    img = integer_image(dtype, (61, 83, channels))
    options = InferenceOptions(tile=32, overlap=16, strength=strength, out_dtype=dtype)
    from_int = restore_whole(restorer, img, options)
    from_float = restore_whole(restorer, to_float(img), options)
    reference = quantize(restore_whole(restorer, to_float(img), InferenceOptions(
        tile=32, overlap=16, strength=strength)), DEPTH[dtype])
    assert from_int.dtype == dtype and from_int.shape == reference.shape
    for got in (from_int, from_float):
        assert np.abs(got.astype(np.int64) - reference.astype(np.int64)).max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_read_keeps_integer_pixels_and_round_trips(tmp_path, dtype):
    img = integer_image(dtype, (40, 50, 3), seed=3)
    src = tmp_path / "in.png"
    imageio.write_image(src, img, imageio.ImageInfo("PNG", DEPTH[dtype], False, False))
    kept = imageio.read_image(src, as_float=False)
    assert kept.pixels.dtype == dtype
    np.testing.assert_array_equal(kept.pixels, img)
    np.testing.assert_array_equal(to_float(kept.pixels), imageio.read_image(src).pixels)
    # identity restore of the integer buffer gives the file's own pixels back
    out = restore_whole(load_restorer("unsharp", device="cpu", options={"amount": 0.0}), kept.pixels,
                        InferenceOptions(tile=16, overlap=8, out_dtype=dtype))
    np.testing.assert_array_equal(out, img)
