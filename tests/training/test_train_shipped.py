"""packaging/train_shipped.py starts a shipped model, installs it with a resumable state,
and by default goes on from that state (the way later sessions add hours)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ship(tmp_path: Path, *args: str) -> dict:
    cmd = [sys.executable, str(ROOT / "packaging" / "train_shipped.py"), "ship-sobel",
           "--home", str(tmp_path / "home"), "--into", str(tmp_path / "models"), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((tmp_path / "models" / "sobel-edges" / "card.json").read_text())


def test_a_shipped_model_continues_from_its_committed_state(tmp_path):
    first = ship(tmp_path, "--fresh", "--steps", "3")
    folder = tmp_path / "models" / "sobel-edges"
    assert first["steps"] == 3 and (folder / "train_state.pt").exists()
    assert first["output_normalise"] == "max" and first["restore_12mp_cpu_s"] > 0
    assert [row["step"] for row in first["val_curve"]] == [3]
    # a new machine: no experiments of the first run, only the committed folder
    (tmp_path / "home").rename(tmp_path / "old-home")
    second = ship(tmp_path, "--steps", "2")
    assert second["steps"] == 5
    assert [row["step"] for row in second["val_curve"]] == [3, 5]
    assert second["val_curve"][1]["train_s"] >= second["val_curve"][0]["train_s"]
