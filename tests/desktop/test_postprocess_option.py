"""The Restore page's post-processing checkboxes (note 004's chain) reach the engine."""
from __future__ import annotations

import numpy as np


def test_toggling_post_processing_changes_the_output(window, tmp_path, images, qtbot):
    rng = np.random.default_rng(0)
    noisy = np.clip(images.gradient(32, 40) + rng.normal(0, 0.08, (32, 40, 3)), 0, 1)
    path = images.write_png(tmp_path / "noisy.png", noisy, bit_depth=16)
    page = window.restore_page
    item = page.add_paths([path])[0]
    assert page.picker.select("unsharp")
    assert not any(box.isChecked() for box in page.options.post.values())
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    plain = item.result.pixels.copy()

    page.options.post["nlmeans"].setChecked(True)
    page.options.post["dither"].setChecked(True)
    assert page.options.values()["post"] == ["nlmeans", "dither"]
    assert page.settings.get("post") == ["nlmeans", "dither"]     # remembered
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    post = item.result.pixels
    assert post.shape == plain.shape and np.abs(post - plain).mean() > 0.005
    assert np.allclose(post * 255, np.rint(post * 255), atol=1e-4)   # dithered to 8 bits

    page.options.post["nlmeans"].setChecked(False)
    page.options.post["dither"].setChecked(False)
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error
    assert np.allclose(item.result.pixels, plain, atol=1e-6)
