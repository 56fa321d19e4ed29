"""Two CPU processes under torchrun (gloo): both ranks end with the same parameters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.imageio import write_image

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_ddp_ranks_agree(tmp_path, restorelab_home):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(images / f"{i}.png", rng.random((20, 20, 3)).astype(np.float32))
    config = tmp_path / "ddp.toml"
    config.write_text(f"""
name = "ddp"
device = "cpu"
precision = "fp32"
[data]
train = "{images}"
crop = 16
batch = 2
val_count = 1
recipe = [{{type = "gaussian_noise", sigma = 20}}]
[model]
arch = "dncnn"
kwargs = {{depth = 3, width = 8}}
[schedule]
steps = 3
""")
    env = {**os.environ, "RESTORELAB_HOME": str(restorelab_home), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", "-m", "training.run", str(config)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    results = {r["rank"]: r for r in (json.loads(line) for line in out.stdout.splitlines()
                                       if line.startswith("{"))}
    assert set(results) == {0, 1}
    assert results[0]["params_sha256"] == results[1]["params_sha256"]
    assert results[0]["status"] == results[1]["status"] == "done" and results[0]["step"] == 3
    assert results[0]["model"] and results[1]["model"] is None      # rank 0 alone writes
    experiments = list((restorelab_home / "data" / "experiments").iterdir())
    assert len(experiments) == 1
