"""Folder restores as a pipeline: reading the next image and writing the previous one
overlap the compute, outputs equal one-by-one restores, bad files are reported and
skipped, progress carries images, tiles and an ETA, and an abort leaves no partial file."""
from __future__ import annotations

import io
import threading
import time

import numpy as np

from desktop.terminal import TerminalProgress
from engine import imageio, restore
from engine.events import ItemDone, ItemFailed, Progress, Saved
from engine.jobs import Control, drive
from engine.restore import RestoreSpec, restore_job


def make_folder(tmp_path, n=4, bad=None):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        path = src / f"img{i}.png"
        if i == bad:
            path.write_bytes(b"not an image at all")
        else:
            imageio.write_image(path, rng.random((20 + i, 28, 3), dtype=np.float32),
                                imageio.ImageInfo("PNG", 8, False, False))
        names.append(path)
    return names


def run(inputs, output, control=None, **kw):
    spec = RestoreSpec(tuple(map(str, inputs)), str(output), model="bicubic", scale=2, **kw)
    return list(drive(restore_job, spec, control))


def test_batch_equals_one_by_one(tmp_path):
    inputs = make_folder(tmp_path)
    events = run(inputs, tmp_path / "batch")
    assert len([e for e in events if isinstance(e, ItemDone)]) == len(inputs)
    for src in inputs:
        single = tmp_path / f"single-{src.name}"
        run([src], single)
        np.testing.assert_array_equal(imageio.read_image(tmp_path / "batch" / src.name).pixels,
                                      imageio.read_image(single).pixels)


def test_reads_and_writes_overlap_compute(tmp_path, monkeypatch):
    inputs = make_folder(tmp_path, n=4)
    spans: dict[str, list] = {"read": [], "compute": [], "write": []}

    def timed(kind, fn, pause):
        """``fn`` slowed by ``pause`` s, recording (thread, start, end) of each call."""
        def note(start):
            spans[kind].append((threading.get_ident(), start, time.monotonic()))

        def plain(*args, **kwargs):
            start = time.monotonic()
            time.sleep(pause)
            try:
                return fn(*args, **kwargs)
            finally:
                note(start)

        def job_style(*args, **kwargs):                # restore_image: a generator
            start = time.monotonic()
            time.sleep(pause)
            try:
                return (yield from fn(*args, **kwargs))
            finally:
                note(start)
        return job_style if kind == "compute" else plain

    monkeypatch.setattr(restore.imageio, "read_image", timed("read", imageio.read_image, 0.05))
    monkeypatch.setattr(restore.imageio, "write_image", timed("write", imageio.write_image, 0.05))
    monkeypatch.setattr(restore, "restore_image", timed("compute", restore.restore_image, 0.1))
    run(inputs, tmp_path / "out")
    assert all(len(v) == len(inputs) for v in spans.values())
    threads = {kind: {t for t, *_ in v} for kind, v in spans.items()}
    assert len(threads["read"] | threads["compute"] | threads["write"]) == 3   # three stages
    # the next image is read, and the previous one written, while one computes
    computes = spans["compute"]
    assert any(s < computes[0][2] for _, s, _ in spans["read"][1:])
    assert any(s < computes[-1][2] and e > computes[-1][1] for _, s, e in spans["write"][:-1])


def test_bad_file_reported_and_the_rest_written(tmp_path):
    inputs = make_folder(tmp_path, n=4, bad=1)
    out = tmp_path / "out"
    events = run(inputs, out)
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert [e.source for e in failed] == [str(inputs[1])]
    assert "img1.png" in failed[0].message and "\n" not in failed[0].message
    assert sorted(p.name for p in out.iterdir()) == ["img0.png", "img2.png", "img3.png"]
    assert events[-1].result == {"written": [str(out / n) for n in ("img0.png", "img2.png",
                                                                    "img3.png")],
                                 "failed": [str(inputs[1])]}


def test_progress_shows_images_tiles_and_eta(tmp_path):
    inputs = make_folder(tmp_path, n=3)
    events = run(inputs, tmp_path / "out", inference=restore.InferenceOptions(tile=16,
                                                                              overlap=4))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].done == 3 and progress[-1].eta_s == 0.0
    tiles = [e for e in progress if "image 2/3" in e.stage and "/" in e.stage.split(":")[-1]]
    assert tiles and all(e.eta_s is not None and e.eta_s >= 0 for e in tiles)
    assert all(1 <= e.done <= 2 for e in tiles)
    stream = io.StringIO()
    printer = TerminalProgress(stream)
    printer._last_draw = -1e9
    printer(tiles[-1])
    line = stream.getvalue()
    assert "image 2/3" in line and "ETA" in line


def test_abort_mid_batch_leaves_only_whole_files(tmp_path):
    inputs = make_folder(tmp_path, n=4)
    out = tmp_path / "out"
    control = Control()
    saved = []
    for ev in drive(restore_job, RestoreSpec(tuple(map(str, inputs)), str(out),
                                             model="bicubic", scale=2), control):
        if isinstance(ev, Saved):
            saved.append(ev.path)
        if isinstance(ev, Progress) and ev.stage.startswith("image 3/4"):
            control.abort()
    files = sorted(out.iterdir())
    assert 1 <= len(files) < len(inputs)           # stopped part way
    assert [f.name for f in files if f.suffix != ".png"] == []   # no temporary left
    for f in files:                                # each one complete
        assert imageio.read_image(f).pixels.shape[:2] == (2 * (20 + int(f.stem[3:])), 56)
