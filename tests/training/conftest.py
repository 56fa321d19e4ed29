"""Shared fixtures of the training tests."""
from __future__ import annotations

import numpy as np
import pytest

from engine.imageio import write_image


@pytest.fixture
def images(tmp_path):
    """Four small random RGB images in a folder: data for runs of a few steps."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(folder / f"im{i}.png", rng.random((24, 28, 3)).astype(np.float32))
    return folder
