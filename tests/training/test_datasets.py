"""Datasets: pairs on the fly, paired/labelled folders, joint augmentation, sampler, named sets."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.imageio import read_image, write_image
from training.config import DataConfig
from training.datasets import (StreamSampler, add_named, augment, build_data, get_named, list_named,
                               remove_named, resolve_named)


def _write(folder, names, shape, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        write_image(folder / name, rng.random(shape).astype(np.float32))
    return folder


def test_degrade_pairs_are_cropped_and_reproducible(tmp_path):
    folder = _write(tmp_path / "clean", [f"{i}.png" for i in range(5)], (24, 20, 3))
    cfg = DataConfig(train=str(folder), crop=16, batch=2, scale=2, val_split=0.2,
                     recipe=[{"type": "downscale", "scale": 2}, {"type": "gaussian_noise", "sigma": 10}])
    data = build_data(cfg, seed=3, val_crop=16)
    assert data.summary["images"] == 4 and len(data.val) == 1   # one image held out
    inp, target = data.train[(0, 11)]
    assert inp.shape == (3, 8, 8) and target.shape == (3, 16, 16)
    again = build_data(cfg, seed=3, val_crop=16)
    assert np.array_equal(again.train[(0, 11)][0], inp)          # same sample id, same pair
    assert not np.array_equal(data.train[(0, 12)][0], inp)
    assert np.array_equal(again.val[0][0], data.val[0][0])       # a fixed validation set
    assert data.val[0][1].shape == (16, 16, 3)


def test_paired_folders_stack_targets_and_stay_aligned(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("in", "mask", "depth"):
        (tmp_path / name).mkdir()
    for i in range(3):
        img = rng.random((20, 20, 3)).astype(np.float32)
        write_image(tmp_path / "in" / f"{i}.png", img)
        write_image(tmp_path / "mask" / f"{i}.png", img[:, :, :1])      # target = input's red
        write_image(tmp_path / "depth" / f"{i}.png", img[:, :, 1:2])    # and green channel
    cfg = DataConfig(kind="paired", train=str(tmp_path / "in"),
                     target=[str(tmp_path / "mask"), str(tmp_path / "depth")], crop=8, val_split=0)
    data = build_data(cfg, seed=0, val_crop=8)
    for k in range(6):
        inp, target = data.train[(k % 3, k)]
        assert target.shape == (2, 8, 8)
        assert np.allclose(inp[:2], target, atol=1e-6)   # crop, flips and rotations applied jointly


def test_augment_covers_the_eight_orientations():
    img = np.arange(9, dtype=np.float32).reshape(3, 3, 1)
    seen = {augment([img], np.random.default_rng(s))[0].tobytes() for s in range(200)}
    assert len(seen) == 8


def test_labelled_folders(tmp_path):
    for c in ("a", "b"):
        _write(tmp_path / c, [f"{i}.png" for i in range(3)], (12, 12, 3))
    cfg = DataConfig(kind="labelled", train=str(tmp_path), crop=8, val_split=0.3)
    data = build_data(cfg, seed=0, val_crop=8)
    assert data.classes == ["a", "b"]
    image, label = data.train[(0, 5)]
    assert image.shape == (3, 8, 8) and int(label) in (0, 1)
    assert len(data.val) >= 1


def test_sampler_resumes_and_shards():
    full = iter(StreamSampler(5, 3, seed=1))
    batches = [next(full) for _ in range(6)]
    later = iter(StreamSampler(5, 3, seed=1, start=4))
    assert next(later) == batches[4]
    counts = np.bincount([i for b in batches[:5] for i, _ in b], minlength=5)
    assert counts.tolist() == [3] * 5   # every image once per epoch
    r0, r1 = iter(StreamSampler(5, 2, 1, rank=0, world=2)), iter(StreamSampler(5, 2, 1, rank=1, world=2))
    ids0, ids1 = {k for _, k in next(r0)}, {k for _, k in next(r1)}
    assert ids0 == {0, 1} and ids1 == {2, 3}


def test_named_datasets(tmp_path):
    folder = _write(tmp_path / "pics", ["x.png", "y.png"], (10, 10, 3))
    entry = add_named("my set", folder, copy=True, description="two pictures")
    assert entry["images"] == 2 and [d["name"] for d in list_named()] == ["my set"]
    cfg = resolve_named(DataConfig(dataset="my set"))
    assert cfg.train != str(folder) and len(list((tmp_path / "pics").iterdir())) == 2
    with pytest.raises(ConfigError):
        add_named("my set", folder)
    remove_named("my set")
    with pytest.raises(ConfigError, match="no dataset"):
        get_named("my set")


def test_datasets_cli_preview_writes_png(tmp_path, capsys):
    from desktop.cli import main

    folder = _write(tmp_path / "pics", ["a.png", "b.png"], (24, 24, 3))
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('recipe = [{type = "gaussian_noise", sigma = 30}]\n')
    out = tmp_path / "grid.png"
    assert main(["datasets", "preview", str(recipe), "-n", "3", "-o", str(out),
                 "--images", str(folder), "--crop", "16"]) == 0
    grid = read_image(out).pixels
    assert grid.shape[0] == 3 * 16 + 2 * 4 and grid.shape[1] == 2 * 16 + 4
    assert main(["datasets", "preview", "smoke", "-n", "2", "-o", str(out), "--images", str(folder)]) == 0
    assert main(["datasets", "add", "pics", str(folder)]) == 0
    assert main(["datasets", "list", "--json"]) == 0
    assert '"pics"' in capsys.readouterr().out
    assert main(["datasets", "remove", "pics"]) == 0


def test_prepare_noise_job(tmp_path):
    from desktop.cli import main

    folder = _write(tmp_path / "photos", ["p.png"], (40, 40, 3))
    assert main(["datasets", "prepare-noise", str(folder), "-o", str(tmp_path / "noise"),
                 "--patch", "16", "--per-image", "2"]) == 0
    assert len(list((tmp_path / "noise").glob("*.npy"))) == 2


def test_loader_workers_give_the_same_batches(tmp_path):
    import torch

    folder = _write(tmp_path / "clean", [f"{i}.png" for i in range(3)], (20, 20, 3))
    batches = {}
    for workers in (0, 1):
        cfg = DataConfig(train=str(folder), crop=8, batch=2, workers=workers, val_split=0,
                         recipe=[{"type": "gaussian_noise", "sigma": 10}])
        loader = iter(build_data(cfg, seed=0, val_crop=8).loader(start=2))
        batches[workers] = [next(loader) for _ in range(2)]
        del loader
    for a, b in zip(batches[0], batches[1]):
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_preview_of_a_preset_with_generated_data_prepares_it_first(tmp_path, capsys):
    """A research config whose recipe needs generated kernels and noise patches previews on its
    first use: the preparation runs (progress on stderr), then the grid is written."""
    from desktop.cli import main

    photos = _write(tmp_path / "photos", ["p.png", "q.png"], (48, 48, 3))
    config = tmp_path / "realsr.toml"
    config.write_text(f'''name = "tiny-realsr"
task = "super-resolution"
[data]
train = "{photos}"
crop = 16
scale = 2
recipe = [{{ type = "kernel_blur" }}, {{ type = "downscale", scale = 2 }},
          {{ type = "noise_patches", strength = [0.5, 1.0] }}]
[model]
arch = "rdn"
[research]
generate = "realsr"
source = "{photos}"
count = 2
size = 16
''')
    out = tmp_path / "grid.png"
    assert main(["datasets", "preview", str(config), "-n", "2", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "cutting noise patches" in err and "give a 'folder'" not in err
    assert read_image(out).pixels.shape[0] > 16
    assert main(["datasets", "preview", str(config), "-n", "2", "-o", str(out)]) == 0
    assert "cutting noise patches" not in capsys.readouterr().err   # made once, then cached
