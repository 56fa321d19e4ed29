"""Tiled inference: exactness, memory back-off, NaN fallback, channels and alpha."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.descriptor import NetRestorer, Restorer
from engine.events import Log, Progress
from engine.inference import InferenceOptions, auto_tile, restore_pixels
from engine.registry import ArchSpec

SPEC = ArchSpec(id="test-net", family="test", title="test net", tasks=("denoise",),
                builder="unused:unused", defaults={})


def finish(gen):
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as end:
            return end.value, events


def conv_net(scale: int = 1, out_channels: int = 3) -> nn.Module:
    torch.manual_seed(0)
    layers = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
              nn.Conv2d(8, out_channels * scale * scale, 3, padding=1)]
    if scale > 1:
        layers.append(nn.PixelShuffle(scale))
    net = nn.Sequential(*layers)
    net.receptive_radius = 3
    net.scale = scale
    return net


@pytest.mark.parametrize("scale", [1, 2])
def test_tiled_output_equals_untiled(scale):
    spec = ArchSpec(id="t", family="test", title="t", tasks=("super-resolution",),
                    builder="u:u", defaults={"scale": scale})
    restorer = NetRestorer(conv_net(scale), spec)
    img = np.random.default_rng(1).random((150, 173, 3), dtype=np.float32)
    whole, _ = finish(restore_pixels(restorer, img, InferenceOptions(tile=0)))
    tiled, events = finish(restore_pixels(restorer, img, InferenceOptions(tile=48, overlap=16)))
    assert tiled.shape == (150 * scale, 173 * scale, 3)
    assert sum(isinstance(e, Progress) for e in events) > 4  # it really tiled
    # compare before clipping hides differences: the net's raw outputs are in range here
    assert np.abs(tiled - whole).max() < 1e-4


class FakeRestorer(Restorer):
    """Doubles nothing: returns its input, with hooks to simulate failures."""

    def __init__(self, fail_above: int | None = None, nan_in: str | None = None, scale: int = 1,
                 in_channels: int = 3, out_channels: int = 3):
        self.fail_above, self.nan_in = fail_above, nan_in
        self.scale, self.in_channels, self.out_channels = scale, in_channels, out_channels
        self.tile_sizes: list[int] = []
        self.precision = "bf16"

    def run(self, x, precision=None):
        self.tile_sizes.append(max(x.shape[:2]))
        if self.fail_above and max(x.shape[:2]) > self.fail_above:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        y = np.repeat(np.repeat(x, self.scale, 0), self.scale, 1)
        if self.out_channels != x.shape[2]:
            y = y.mean(axis=2, keepdims=True) if self.out_channels == 1 else np.repeat(y, 3, 2)
        if precision == self.nan_in:
            y = y.copy()
            y[0, 0, 0] = np.nan
        return y


def test_out_of_memory_halves_the_tile_and_still_finishes():
    fake = FakeRestorer(fail_above=64)
    img = np.random.default_rng(2).random((200, 200, 3), dtype=np.float32)
    out, events = finish(restore_pixels(fake, img, InferenceOptions(tile=256, overlap=8)))
    assert np.allclose(out, img, atol=1e-6)
    assert max(fake.tile_sizes[-5:]) <= 64
    assert any(isinstance(e, Log) and "Out of memory" in e.text for e in events)


def test_non_finite_tile_is_rerun_in_fp32():
    fake = FakeRestorer(nan_in="bf16")
    img = np.full((40, 40, 3), 0.5, np.float32)
    out, events = finish(restore_pixels(fake, img, InferenceOptions(tile=0, precision="bf16")))
    assert np.isfinite(out).all() and np.allclose(out, 0.5)
    assert any(isinstance(e, Log) and "fp32" in e.text for e in events)


def test_alpha_is_carried_and_resized_for_scaling_models():
    fake = FakeRestorer(scale=2)
    img = np.random.default_rng(3).random((30, 20, 4), dtype=np.float32)
    img[:, :, 3] = 0.25
    out, _ = finish(restore_pixels(fake, img))
    assert out.shape == (60, 40, 4)
    assert np.allclose(out[:, :, 3], 0.25, atol=1e-3)


def test_grey_input_through_colour_model_comes_back_grey():
    fake = FakeRestorer()
    grey = np.random.default_rng(4).random((25, 31, 1), dtype=np.float32)
    out, _ = finish(restore_pixels(fake, grey))
    assert out.shape == (25, 31, 1) and np.allclose(out, grey, atol=1e-6)
    grey_alpha = np.concatenate([grey, np.ones_like(grey)], axis=2)
    out, _ = finish(restore_pixels(fake, grey_alpha))
    assert out.shape == (25, 31, 2)


def test_colour_input_through_single_channel_model_runs_per_channel():
    fake = FakeRestorer(in_channels=1, out_channels=1)
    img = np.random.default_rng(5).random((16, 16, 3), dtype=np.float32)
    out, _ = finish(restore_pixels(fake, img))
    assert out.shape == (16, 16, 3) and np.allclose(out, img, atol=1e-6)


def test_strength_zero_returns_the_input():
    class Invert(FakeRestorer):
        def run(self, x, precision=None):
            return 1.0 - x

    img = np.random.default_rng(6).random((16, 16, 3), dtype=np.float32)
    out, _ = finish(restore_pixels(Invert(), img, InferenceOptions(strength=0.0)))
    assert np.allclose(out, img, atol=1e-6)
    out, _ = finish(restore_pixels(Invert(), img, InferenceOptions(strength=0.5)))
    assert np.allclose(out, 0.5, atol=1e-6)


def test_tile_size_follows_the_memory_budget():
    restorer = NetRestorer(conv_net(), SPEC)
    small, big = auto_tile(restorer, 16), auto_tile(restorer, 1024)
    assert small < big and small % 8 == 0


@pytest.mark.parametrize("message", [
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 9663676416 bytes. Error code 12 (Cannot allocate memory)",
    "CUDA out of memory. Tried to allocate 2.00 GiB",
])
def test_the_allocators_out_of_memory_errors_are_recognised(message):
    from engine.inference import is_oom

    assert is_oom(RuntimeError(message))
    assert not is_oom(RuntimeError("Given groups=1, weight of size [8, 3, 3, 3]"))


def test_a_net_whose_tiles_cannot_be_exact_gets_the_memory_the_machine_can_spare(monkeypatch):
    from engine import inference

    fake = FakeRestorer()
    fake.bytes_per_pixel = lambda: 4096.0
    monkeypatch.setattr(inference, "spare_memory_mb", lambda: 8192)
    assert auto_tile(fake, 512) == 360          # sqrt(512 MB / 4 KB), a multiple of 8
    fake.wide_context = True
    assert auto_tile(fake, 512) == 1448         # sqrt(8 GB / 4 KB)
    monkeypatch.setattr(inference, "spare_memory_mb", lambda: 0)
    assert auto_tile(fake, 512) == 360          # nothing known: the budget stands

