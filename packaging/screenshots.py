"""Render every page and viewer mode with real content to PNG files.

    python packaging/screenshots.py OUTDIR [--theme dark|light|both]

Runs in a throwaway RESTORELAB_HOME (unless one is set), loads the shipped
sample, restores it to completion with the default denoiser, compares it
with its clean reference, and grabs each page and viewer mode. Then it names
a dataset (../shared/data/train/BSDS500_train200) and previews its pairs,
trains a small denoiser from the Train page and grabs the dashboard while it
runs (with an injected NaN, so a rollback shows), and compares two runs in
the journal. Works offscreen (QT_QPA_PLATFORM=offscreen is the default here).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def wait(app, condition, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def settle(app, seconds: float = 0.15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def demo_model() -> None:
    """An (untrained) x2 ESPCN with a full card, so the Models page shows a user model."""
    from engine import registry
    from engine.checkpoints import save_model

    spec = registry.get("espcn")
    net = spec.build()
    save_model("ESPCN x2 (demo)", net.state_dict(), "espcn", spec.kwargs(),
               {"task": "super-resolution", "scale": 2, "dataset": "shared/data/train (demo)",
                "metrics": {"Set5 PSNR": 33.12, "Set5 SSIM": 0.9121},
                "description": "A demo card: an untrained ESPCN saved by the screenshot script."})


def clean_reference(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "resources" / "samples"))
    import numpy as np
    from make_sample import scene

    from engine.imageio import write_image

    path = folder / "clean-scene.png"
    write_image(path, scene().astype(np.float32))
    return path


def corrupt_file(folder: Path) -> Path:
    path = folder / "damaged-photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    return path


TRAIN_IMAGES = ROOT.parent / "shared" / "data" / "train" / "BSDS500_train200"


def train_run(app, page, steps: int, lr: float, every: int, nan_at: int = 0):
    """Start a small real run from the Train page (the smoke preset on BSDS crops)."""
    from desktop.train.form import write

    if not wait(app, lambda: page.form.ready, 120):
        raise SystemExit("the Train page did not load its presets")
    page.use_preset("smoke")
    f = page.form
    f.folder.setText(str(TRAIN_IMAGES))
    f.name.setText(f"smoke-lr{lr:g}")
    f.max_images.setValue(48)
    f.crop.setValue(48)
    f.val_crop.setValue(64)
    f.steps.setValue(steps)
    f.val_every.setValue(every)
    f.lr.setValue(lr)
    write(f.device, "cpu")
    f.raw["watchdog"] = {"inject_nan": [nan_at] if nan_at else [], "snapshot_every": 20}
    if not page.start():
        raise SystemExit(f"the run did not start: {f.error.text()}")


def shoot_training(app, window, grab) -> None:
    """Datasets with a preview, a running dashboard (real curves, previews, a rollback),
    and the journal comparing two runs."""
    if not TRAIN_IMAGES.is_dir():
        raise SystemExit(f"the training pages need clean images in {TRAIN_IMAGES}")
    datasets = window.pages["Datasets"]
    window.show_page("Datasets")
    wait(app, lambda: datasets.recipes, 60)
    if "bsds-train" not in datasets.names():
        datasets.name.setText("bsds-train")
        datasets.folder.setText(str(TRAIN_IMAGES))
        datasets.description.setText("BSDS500 train split, 200 clean photos")
        datasets.create()
        wait(app, lambda: "bsds-train" in datasets.names(), 60)
    datasets.select("bsds-train")
    datasets.recipe_pick.setCurrentIndex(datasets.recipe_pick.findData("deblur-nafnet"))
    datasets._recipe_picked(0)
    datasets.preview()
    wait(app, lambda: datasets.grid.image is not None, 60)
    grab("10-datasets")

    train = window.pages["Train"]
    window.show_page("Train")
    board = train.dashboard
    train_run(app, train, steps=2000, lr=1e-3, every=20, nan_at=70)
    if not wait(app, lambda: len(board.previews.frames) >= 6 or board.state == "failed", 300):
        raise SystemExit("the training run made no previews")
    if board.state == "failed":
        raise SystemExit(f"the training run failed: {board.error_label.text()}")
    grab("09-train-running")
    train.stop()
    wait(app, lambda: board.state in ("stopped", "failed"), 120)

    from training.experiments import list_experiments

    if len(list_experiments()) < 2:
        train_run(app, train, steps=120, lr=3e-3, every=20)
        wait(app, lambda: board.state in ("done", "failed"), 300)
    journal = window.pages["Experiments"]
    window.show_page("Experiments")
    journal.select_numbers({s["number"] for s in journal.runs[:2]})
    wait(app, lambda: len(journal.cache) >= 2, 60)
    journal.draw()
    grab("11-experiments")
    journal.select_numbers({journal.runs[-1]["number"]})
    journal.notes.setPlainText("Rollback at step 70 (injected NaN): the watchdog went back to "
                               "step 60 with half the learning rate.")
    journal.save_notes()


def shoot(out: Path, theme_name: str) -> list[Path]:
    from desktop.app import create_app

    app = create_app(["screenshots"])
    from desktop.main_window import MainWindow
    from desktop.settings import Settings

    settings = Settings()
    settings.set("theme", theme_name)
    window = MainWindow(settings, ask=lambda *_: True)
    window.resize(1440, 900)
    window.show()
    window.start_engine()
    written: list[Path] = []
    tag = f"-{theme_name}"

    def grab(name: str, widget=None) -> None:
        settle(app)
        path = out / f"{name}{tag}.png"
        (widget or window).grab().save(str(path))
        written.append(path)

    page = window.restore_page
    grab("01-restore-first-launch")
    item = page.try_sample()
    if not wait(app, lambda: item.status in ("done", "failed")):
        raise SystemExit("the sample restore did not finish")
    if item.status == "failed":
        raise SystemExit(f"the sample restore failed: {item.error}")
    wait(app, lambda: window.engine_ready, 30)
    viewer = page.viewer
    viewer.set_mode("split")
    viewer.split.fraction = 0.42
    grab("02-restore-split")
    viewer.set_mode("side")
    viewer.state.set_zoom(3.0)
    viewer.state.center = viewer.state.center.__class__(96, 196)   # the house and the fence
    viewer.state.changed.emit()
    grab("03-restore-side-by-side-zoomed")
    viewer.fit()
    viewer.set_mode("difference")
    grab("04-restore-difference")
    viewer.set_mode("blink")
    viewer.toggle_blink()
    grab("05-restore-blink-before")
    viewer.set_mode("split")
    tmp = Path(tempfile.mkdtemp(prefix="restorelab-shots-"))
    page.set_reference(str(clean_reference(tmp)))
    wait(app, lambda: "PSNR" in viewer.metrics_label.text() or "Reference:" in viewer.metrics_label.text(), 30)
    viewer.state.set_zoom(4.0)
    grab("06-restore-reference-metrics-zoom400")
    viewer.fit()
    bad = page.add_paths([str(corrupt_file(tmp))])[0]
    page.run_items([bad])
    wait(app, lambda: bad.status == "failed", 30)
    grab("07-restore-failed-item")
    page.queue_view.select_item(item)

    window.show_page("Models")
    grab("08-models")
    shoot_training(app, window, grab)
    window.show_page("Restore")

    from desktop.settings import SettingsDialog

    dialog = SettingsDialog(window.settings, window)
    dialog.show()
    grab("12-settings-dialog", dialog)
    dialog.close()
    window.close()
    window.deleteLater()
    settle(app, 0.2)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--theme", choices=("dark", "light", "both"), default="both")
    args = parser.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("RESTORELAB_HOME"):
        os.environ["RESTORELAB_HOME"] = tempfile.mkdtemp(prefix="restorelab-home-")
    demo_model()
    themes = ("dark", "light") if args.theme == "both" else (args.theme,)
    written = []
    from engine.paths import settings_file

    for name in themes:
        settings_file().unlink(missing_ok=True)  # each theme starts as a first launch
        written += shoot(out, name)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
