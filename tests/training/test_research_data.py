"""Generated research data, the extra degradations and the report measures."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.cli import main
from desktop.commands.datasets import GENERATED
from engine.imageio import read_image
from training.degradations import Recipe
from training.research import GENERATORS, MEASURES
from training.research.generate import composite, kernel_pool
from training.research.measures import auroc, mask_iou, nyquist_energy, paste_defect


def test_generate_command_writes_deterministic_sets(tmp_path, capsys):
    assert GENERATED == GENERATORS
    for name in ("a", "b"):
        assert main(["datasets", "generate", "labelled", "-o", str(tmp_path / name),
                     "--count", "20", "--size", "16"]) == 0
    classes = sorted(p.name for p in (tmp_path / "a").iterdir() if p.is_dir())
    assert len(classes) == 10 and "circle" in classes
    files = sorted((tmp_path / "a").rglob("*.png"))
    assert len(files) == 20 and read_image(files[0]).pixels.shape == (16, 16, 3)
    assert all(f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes() for f in files)
    assert main(["datasets", "generate", "labelled", "-o", str(tmp_path / "a")]) == 1   # not empty
    assert "not empty" in capsys.readouterr().err


def test_composites_have_a_mask_and_a_depth_that_agree():
    img, mask, depth = composite(48, np.random.default_rng(3), [])
    assert img.shape == (48, 48, 3) and mask.shape == depth.shape == (48, 48)
    assert 0 < mask.mean() < 1 and set(np.unique(mask)) <= {0.0, 1.0}
    ground = depth[mask == 0].reshape(-1)
    assert ground.min() >= 0.09 and depth.max() <= 1
    rows = [depth[r][mask[r] == 0].mean() for r in (40, 47) if (mask[r] == 0).any()]
    assert rows == sorted(rows)            # the ground comes nearer towards the bottom


def test_kernel_pool_is_normalised():
    pool = kernel_pool(8, np.random.default_rng(0))
    assert len(pool) == 8 and all(abs(k.sum() - 1) < 1e-5 and k.min() >= 0 for k in pool)


def test_zero_pad_pads_both_and_down_up_keeps_the_size():
    rng = np.random.default_rng(0)
    clean = rng.random((10, 12, 1)).astype(np.float32)
    inp, target = Recipe.from_list([{"type": "zero_pad", "factor": 2}]).make_pair(clean, rng)
    assert inp.shape == target.shape == (20, 24, 1)
    assert np.array_equal(target[:10, :12], clean) and not target[10:].any() and not target[:, 12:].any()
    inp, target = Recipe.from_list([{"type": "down_up", "scale": 2}]).make_pair(clean, rng)
    assert inp.shape == target.shape == clean.shape and not np.allclose(inp, clean)


def test_nyquist_energy_sees_a_checkerboard():
    y, x = np.mgrid[0:32, 0:32]
    checker = ((x + y) % 2).astype(np.float32)
    smooth = np.sin(x / 6.0).astype(np.float32)
    assert nyquist_energy(checker) == pytest.approx(1.0)
    assert nyquist_energy(smooth) < 0.01 and nyquist_energy(np.ones((8, 8))) == 0
    assert nyquist_energy(smooth + 0.1 * checker) > 10 * nyquist_energy(smooth)


def test_anomaly_helpers():
    assert auroc([0.1, 0.2], [0.3, 0.4]) == 1.0 and auroc([0.3], [0.3]) == 0.5
    img = np.full((40, 40, 3), 0.5, np.float32)
    bad = paste_defect(img, np.random.default_rng(0))
    assert 0.02 < np.any(bad != img, axis=2).mean() < 0.5
    assert mask_iou(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])) == 0.5
    assert set(MEASURES) >= {"kernel", "nyquist", "anomaly"}
