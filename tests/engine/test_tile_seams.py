"""Tiles of nets whose receptive radius is a true bound overlap by about twice it (a margin
of the radius at each edge, then a short blend) and still give the untiled output."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine import registry  # noqa: E402
from engine.descriptor import NetRestorer  # noqa: E402
from engine.inference import InferenceOptions, restore_whole, seam  # noqa: E402

EXACT = {   # small random-weight nets of each architecture that claims an exact radius
    "dncnn": dict(depth=5, width=8, batchnorm=False),
    "ffdnet": dict(depth=4, width=12),
    "fsrcnn": dict(d=12, s=6, m=2, scale=2),
    "rdn": dict(G0=8, G=8, D=2, C=2, scale=2),
    "resunet": dict(widths=(8, 16, 32), blocks=1),
    "resunet-noise": dict(widths=(8, 16), blocks=1, level="noise", in_channels=4),
    "srresnet18": dict(widths=(8, 8, 16, 16), blocks=(1, 1, 1, 1), scale=4),
}


def restorer(name: str) -> NetRestorer:
    spec = registry.get(name.split("-")[0])
    torch.manual_seed(0)
    module = spec.build(**EXACT[name])
    with torch.no_grad():      # weights big enough that a cut context would show
        for p in module.parameters():
            p.mul_(3.0 if p.ndim > 1 else 1.0)
    return NetRestorer(module, spec, spec.kwargs(EXACT[name]))


@pytest.mark.parametrize("name", sorted(EXACT))
def test_a_net_with_an_exact_radius_tiles_with_a_tight_overlap_and_matches_untiled(name):
    r = restorer(name)
    assert r.radius_exact
    tile = 160
    overlap, margin = seam(r, tile)
    wide = min(max(16, 4 * r.receptive_radius), tile // 2)     # what any other net gets
    assert margin == min(r.receptive_radius, (overlap - 8) // 2) >= wide // 4
    assert overlap < wide or overlap == 16
    img = np.random.default_rng(3).random((270, 330, 3), dtype=np.float32)
    whole = restore_whole(r, img, InferenceOptions(tile=0, backend="eager", precision="fp32"))
    tiled = restore_whole(r, img, InferenceOptions(tile=tile, backend="eager", precision="fp32"))
    assert np.abs(tiled - whole).max() < 1e-4


def test_a_net_whose_radius_is_a_guess_keeps_the_wide_overlap():
    r = restorer("resunet")
    r.radius_exact = False
    overlap, margin = seam(r, 512)
    assert overlap == min(4 * r.receptive_radius, 128) and margin == overlap // 4
