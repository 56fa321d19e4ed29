"""Bicubic SR through the quality benchmark's protocol reproduces the published figures.

This pins both engine.resize (MATLAB imresize) and bench/quality.py's SR
protocol: HR cropped to a multiple of the scale, 8-bit MATLAB-bicubic LR,
the registry's `bicubic` method, PSNR on Y with a border of `scale`.
"""
from __future__ import annotations

import pytest

from bench import quality

PUBLISHED = {("Set5", "x2"): 33.66, ("Set14", "x2"): 30.24, ("BSD100", "x2"): 29.56,
             ("Set5", "x4"): 28.42, ("Set14", "x4"): 26.00, ("BSD100", "x4"): 25.96}

pytestmark = pytest.mark.skipif(not quality.BENCH.is_dir(), reason=f"{quality.BENCH} not found")


def test_bicubic_matches_published_psnr_on_set5_set14_bsd100():
    measured = {}
    for ds, proto, items, score_kw, opts in quality.cases("sr", None):
        measured[(ds, proto)] = quality.score("bicubic", items, score_kw, opts)[0]
    off = {k: round(measured[k] - v, 3) for k, v in PUBLISHED.items() if abs(measured[k] - v) > 0.05}
    assert not off, f"bicubic PSNR differs from the published figures by {off}"
