"""A batch of images with bad ones among them, as a user drops a camera card's folder:
every bad input gets one clear line naming it and the batch goes on; a decoder's warning
(damaged EXIF) becomes one line naming the file, in the terminal and in the window's log
(issue 12, Images)."""
from __future__ import annotations

import io

import numpy as np
import tifffile
from PIL import Image

from desktop.cli import main
from desktop.restore.jobs import RestoreItemSpec, load_image_job, restore_item_job
from engine.events import ItemDone, ItemFailed, Log
from engine.jobs import drive
from engine.restore import RestoreSpec, restore_job


def png(path, value=120):
    Image.fromarray(np.full((6, 8, 3), value, np.uint8)).save(path)
    return path


def bad_exif_jpeg(path):
    """A JPEG whose Exif block's first directory is cut short (Pillow: "Corrupt EXIF data")."""
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + b"\x00" * 6
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    return path


def corpus(folder):
    """(good inputs, bad inputs by name) written into ``folder``."""
    good = [png(folder / "fine.png"), bad_exif_jpeg(folder / "exif.jpg")]
    shots = folder / "shots.png"                  # a folder named like an image
    shots.mkdir()
    good.append(png(shots / "inside.png"))
    bad = {"cut.png": folder / "cut.png", "empty.jpg": folder / "empty.jpg",
           "notes.tif": folder / "notes.tif", "int.tif": folder / "int.tif",
           "gone.png": folder / "gone.png"}
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    whole = io.BytesIO()
    Image.fromarray(noise).save(whole, "PNG")
    bad["cut.png"].write_bytes(whole.getvalue()[:len(whole.getvalue()) // 2])
    bad["empty.jpg"].write_bytes(b"")
    bad["notes.tif"].write_text("not a picture")
    tifffile.imwrite(bad["int.tif"], np.zeros((4, 4), np.int32))
    return good, bad


def test_every_bad_input_gets_one_line_and_the_batch_goes_on(tmp_path, capsys):
    good, bad = corpus(tmp_path)
    (tmp_path / "nothing.jpg").mkdir()            # a folder with no images
    out = tmp_path / "out"
    inputs = [str(p) for p in (good[0], tmp_path / "shots.png", good[1], *bad.values(),
                               tmp_path / "nothing.jpg")]
    rc = main(["restore", *inputs, "-o", str(out), "--model", "bicubic", "--scale", "2"])
    err = capsys.readouterr().err
    assert rc == 1                                # some failed: the exit status says so
    assert sorted(p.name for p in out.iterdir()) == ["exif.jpg", "fine.png", "inside.png"]
    lines = err.splitlines()
    for name in bad:
        named = [line for line in lines if line.startswith("error: ") and name in line]
        assert len(named) == 1, (name, err)
    assert len([line for line in lines if line.startswith("error: ")]) == len(bad)
    assert [line for line in lines if "Corrupt EXIF" in line] == [
        next(line for line in lines if line.startswith("warning: exif.jpg: Corrupt EXIF data"))]
    assert "shots.png is a folder: restoring the 1 image in it" in lines
    assert "skipped nothing.jpg: a folder with no images" in lines
    assert "int.tif' is a 32-bit signed integer greyscale TIFF, which is not supported." in err
    for noise in ("Traceback", "UserWarning", "mode I", "(I;", "PIL"):
        assert noise not in err
    # -q keeps warnings and errors, only them
    assert main(["restore", str(good[1]), "-o", str(tmp_path / "q.png"), "--model", "bicubic",
                 "-q"]) == 0
    quiet = capsys.readouterr().err.splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("warning: exif.jpg: Corrupt EXIF data")


def test_a_decoder_warning_is_a_log_event_of_the_job_just_before_its_file(tmp_path):
    src = bad_exif_jpeg(tmp_path / "exif.jpg")
    events = list(drive(restore_job, RestoreSpec((str(src), str(png(tmp_path / "b.png"))),
                                                 str(tmp_path / "out"), model="bicubic")))
    warned = [i for i, e in enumerate(events) if isinstance(e, Log) and e.level == "warning"]
    assert len(warned) == 1 and events[warned[0]].text.startswith("exif.jpg: Corrupt EXIF data")
    done = [e.source for e in events if isinstance(e, ItemDone)]
    assert done == [str(src), str(tmp_path / "b.png")]
    assert not [e for e in events if isinstance(e, ItemFailed)]


def test_a_decoder_warning_reaches_the_windows_log(tmp_path):
    """The Restore page shows a restore job's warning Logs in the status bar
    (RestoreActions._on_log); the job must yield the read's warning there, whether it
    reads the file itself or is given the image the viewer opened."""
    src = bad_exif_jpeg(tmp_path / "exif.jpg")
    opened = list(drive(load_image_job, str(src)))[-1].result
    for image in (None, opened):
        events = list(drive(restore_item_job, RestoreItemSpec(str(src), "bicubic", image=image,
                                                              scale=2)))
        warnings = [e.text for e in events if isinstance(e, Log) and e.level == "warning"]
        assert len(warnings) == 1 and warnings[0].startswith("exif.jpg: Corrupt EXIF data")
        assert events[-1].result.pixels.shape == (12, 16, 3)
