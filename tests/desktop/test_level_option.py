"""Models with a noise/blur level map get a "Known" sigma row; the value reaches the engine."""
from __future__ import annotations

import numpy as np


def test_shipped_deblur_offers_a_blur_sigma_that_changes_the_result(window, tmp_path, images, qtbot):
    rng = np.random.default_rng(0)
    img = np.clip(images.gradient(48, 56) + rng.normal(0, 0.02, (48, 56, 3)), 0, 1)
    path = images.write_png(tmp_path / "soft.png", img)
    page = window.restore_page
    item = page.add_paths([path])[0]
    assert page.picker.select("deblur")
    options = page.options
    assert "sigma" in options.method_rows and not options.level_known.isChecked()
    assert "sigma" not in options.method_options()            # blind: estimated from the image
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    blind = item.result.pixels.copy()

    options.level_known.setChecked(True)
    options.level_box.setValue(3.0)
    assert options.method_options() == {"sigma": 3.0}
    assert page.settings.get("method_options")["deblur"] == {"sigma": 3.0}   # remembered
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    assert np.abs(item.result.pixels - blind).mean() > 1e-3

    assert page.picker.select("denoise-color")                # the denoiser's row is a noise level
    assert options.level_box.suffix() == " /255" and options.level_box.maximum() == 75
    assert page.picker.select("bicubic")                       # plain models have no such row
    assert "sigma" not in options.method_rows
