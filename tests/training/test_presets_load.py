"""Every committed preset is a valid run config (names, types, choices)."""
from __future__ import annotations

import pytest

from training.config import list_presets, load_run


@pytest.mark.parametrize("name", sorted(list_presets()))
def test_preset_parses(name):
    cfg = load_run(preset=name)
    assert cfg.name and cfg.schedule.steps > 0
