"""packaging/gpu_check.py's dry run: every step of the GPU check, on the CPU, small."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "packaging" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow   # four subprocesses: self-test, two smoke runs, torchrun
def test_the_dry_run_goes_through_every_step(capsys):
    check = load_check()
    assert check.main(["--dry-run", "--models", "sobel-edges", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[0].strip("| ") for line in out.splitlines() if line.startswith("| ")]
    assert rows[:2] == ["check", "self-test"] and "dry run on the CPU" in out
    for row in ("sobel-edges fp32 vs CPU fp32", "sobel-edges fp32 tiles of 32 vs CPU fp32",
                "sobel-edges bf16 vs CPU fp32", "train smoke fp32 (1 steps)",
                "train smoke bf16 (1 steps)", "torchrun 1 process (1 steps)",
                "sobel-edges 12 MP fp32"):
        assert row in rows, (row, rows)
    assert "| FAIL |" not in out and "0 of " in out


def test_a_nan_restore_fails_the_check():
    check = load_check()
    good = np.zeros((4, 4, 3), np.float32)
    assert math.isnan(check.psnr(np.full_like(good, np.nan), good))
    assert not check.psnr(np.full_like(good, np.nan), good) > check.LOW_DB
    assert check.psnr(good + 0.001, good) > check.PASS_DB
