"""bench/quality.py's real-world x2 protocol and its table reader."""
from __future__ import annotations

import numpy as np

from bench import quality


def test_real_world_lr_is_a_fixed_camera_like_half_size_image():
    hr = np.random.default_rng(1).random((40, 36, 3)).astype(np.float32)
    a = quality.real_world_lr(hr, np.random.default_rng(0))
    b = quality.real_world_lr(hr, np.random.default_rng(0))
    assert a.shape == (20, 18, 3) and np.array_equal(a, b)          # same seed, same image
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-4)       # 8-bit, as a JPEG is
    clean = quality.imresize(hr, 0.5)
    assert np.abs(a - clean).mean() > 0.01                          # blurred, noisy, compressed


def test_rows_of_reads_back_the_table_it_wrote(tmp_path):
    table = tmp_path / "quality.md"
    table.write_text("| set | protocol | method | PSNR | SSIM | s/MP | published PSNR |\n"
                     "|---|---|---|---|---|---|---|\n"
                     "| Set5 | x2 | bicubic | 33.68 | 0.9305 | 0.19 | FSRCNN 37.00 |\n"
                     "| Set14 | x2-real | lanczos | 24.84 | 0.6555 | 0.03 |  |\n"
                     "| CBSD68 | blur1.6 | wiener | 27.22 | 0.7398 | 1.38 |  |\n"
                     "| deblur | CBSD68 | blur1.6 | >= 28.22 (Wiener) | 28.51 | met | 137 min |\n")
    rows = quality.rows_of(table)
    assert rows["sr"] == [["Set5", "x2", "bicubic", 33.68, 0.9305, 0.19, "FSRCNN 37.00"]]
    assert rows["realsr"][0][:4] == ["Set14", "x2-real", "lanczos", 24.84]
    assert set(rows) == {"sr", "realsr", "deblur"}                  # the targets table is not a row
