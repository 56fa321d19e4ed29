"""Run safety: no silent overwrites, races and kills that leave things whole, safe imports."""
from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.cli import main
from engine import atomic, checkpoints, imageio, importer, paths
from engine.errors import ModelError
from engine.events import Finished, ItemDone, ItemFailed
from engine.jobs import drive
from engine.restore import RestoreSpec, restore_job


def make_png(path: Path, h=12, w=16):
    pixels = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    imageio.write_image(path, pixels)
    return path


def tiny_dncnn():
    from engine import registry

    spec = registry.get("dncnn")
    kwargs = spec.kwargs({"depth": 2, "width": 4})
    return spec.build(**kwargs).state_dict(), kwargs


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------- 1: inputs are never replaced

def test_restore_refuses_to_write_over_its_input_unless_asked(tmp_path, capsys):
    photo = make_png(tmp_path / "a.png")
    before = photo.read_bytes()
    assert main(["restore", str(photo), "-o", str(photo), "--scale", "2", "-q"]) != 0
    err = capsys.readouterr().err
    assert "a.png" in err and "--overwrite" in err and "Traceback" not in err
    assert photo.read_bytes() == before

    folder = tmp_path / "dir"
    folder.mkdir()
    b = make_png(folder / "b.png")
    b_before = b.read_bytes()
    assert main(["restore", str(folder), str(photo), "-o", str(folder), "-q"]) != 0
    assert "b.png" in capsys.readouterr().err
    assert b.read_bytes() == b_before
    assert sorted(p.name for p in folder.iterdir()) == ["b.png"]

    # the engine refuses too (the window goes through it), before any work
    events = list(drive(restore_job, RestoreSpec((str(photo),), str(photo), scale=2)))
    assert "a.png" in events[-1].message and photo.read_bytes() == before

    assert main(["restore", str(photo), "-o", str(photo), "--scale", "2", "--overwrite", "-q"]) == 0
    assert imageio.read_image(photo).pixels.shape == (24, 32, 3)


# ---------------------------------------------------------------- 2: library names stay unique

def esrgan_file(path: Path, **save_kwargs) -> Path:
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)
    torch.save(net.state_dict(), path, **save_kwargs)
    return path


def test_import_never_replaces_a_model_unless_replace(tmp_path, capsys, monkeypatch):
    state, kwargs = tiny_dncnn()
    trained = checkpoints.save_model("smoke-0001", state, "dncnn", kwargs, {"task": "denoise"})
    pth = esrgan_file(tmp_path / "x2.pth")
    assert main(["models", "import", str(pth), "--name", "smoke-0001"]) == 0
    captured = capsys.readouterr()
    assert "smoke-0001-2" in captured.out and "already exists" in captured.err
    assert checkpoints.find_model("smoke-0001").card["arch"] == "dncnn"
    assert (trained.path / "model.safetensors").exists()

    assert main(["models", "import", str(pth), "--name", "smoke-0001", "--replace"]) == 0
    capsys.readouterr()
    assert checkpoints.find_model("smoke-0001").card["arch"] == importer.IMPORTED_ARCH
    assert {m.id for m in checkpoints.list_models() if not m.shipped} == {"smoke-0001", "smoke-0001-2"}

    # a shipped model's id is never taken over, not even with --replace
    shipped = tmp_path / "shipped"
    checkpoints.save_model("ship", state, "dncnn", kwargs, {"task": "denoise"}, root=shipped)
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: shipped)
    assert checkpoints.save_model("ship", state, "dncnn", kwargs, {"task": "denoise"}).id == "ship-2"
    assert main(["models", "import", str(pth), "--name", "ship", "--replace"]) == 2
    assert "ships with RestoreLab" in capsys.readouterr().err
    # folders inside a given root (experiment checkpoints) are still replaced in place
    again = checkpoints.save_model("ship", state, "dncnn", kwargs, {"task": "x"}, root=shipped)
    assert again.id == "ship" and checkpoints.read_card(again.path)["task"] == "x"


# ---------------------------------------------------------------- 3: writers racing on one name

def test_writers_racing_on_one_folder_never_fail(tmp_path):
    target = tmp_path / "model"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        start.wait()
        for i in range(60):
            try:
                with atomic.atomic_dir(target) as tmp:
                    (tmp / "who.txt").write_text(f"{n}:{i}")
            except BaseException as err:  # noqa: BLE001 - the test reports every failure
                errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (target / "who.txt").read_text().count(":") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model"]   # no .old / .part left


def test_a_taken_name_is_not_replaced_even_in_a_race(tmp_path):
    target = tmp_path / "m"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a").write_text("first")
    with pytest.raises(FileExistsError):
        with atomic.atomic_dir(target, replace=False) as tmp:
            (tmp / "a").write_text("second")
    assert (target / "a").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


# ---------------------------------------------------------------- 4: modes follow the umask

@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_get_the_umask_mode(tmp_path, umask, file_mode, dir_mode):
    state, kwargs = tiny_dncnn()
    before = os.umask(umask)
    try:
        imageio.write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32))
        entry = checkpoints.save_model("m", state, "dncnn", kwargs, {"task": "denoise"})
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == file_mode
    assert stat.S_IMODE(entry.path.stat().st_mode) == dir_mode
    for name in ("model.safetensors", "card.json"):
        assert stat.S_IMODE((entry.path / name).stat().st_mode) == file_mode


# ---------------------------------------------------------------- 5: WebP stays lossless; quality

def test_lossless_webp_stays_lossless_and_quality_is_an_option(tmp_path, capsys):
    rng = np.random.default_rng(1)
    arr = (rng.random((20, 24, 3)) * 255).astype(np.uint8)
    src = tmp_path / "in.webp"
    Image.fromarray(arr).save(src, format="WEBP", lossless=True)
    image = imageio.read_image(src)
    assert image.info.lossless
    out = tmp_path / "copy.webp"
    imageio.write_image(out, image.pixels, image.info)
    assert imageio.webp_is_lossless(out.read_bytes())
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), arr)

    lossy = tmp_path / "lossy.webp"
    Image.fromarray(arr).save(lossy, format="WEBP", quality=80)
    assert not imageio.read_image(lossy).info.lossless

    big = tmp_path / "big.webp"
    assert main(["restore", str(src), "-o", str(big), "--scale", "2", "-q"]) == 0
    assert imageio.webp_is_lossless(big.read_bytes())
    sizes = {}
    for q in (20, 95):
        path = tmp_path / f"q{q}.jpg"
        assert main(["restore", str(src), "-o", str(path), "--quality", str(q), "-q"]) == 0
        sizes[q] = path.stat().st_size
    assert sizes[20] < sizes[95]
    assert main(["restore", str(src), "-o", str(tmp_path / "l.webp"), "--quality", "40", "-q"]) == 0
    assert not imageio.webp_is_lossless((tmp_path / "l.webp").read_bytes())
    with pytest.raises(SystemExit):
        main(["restore", str(src), "-o", str(tmp_path / "x.jpg"), "--quality", "0"])
    assert "1 to 100" in capsys.readouterr().err


# ---------------------------------------------------------------- 7: kills during a folder swap

def fake_model(folder: Path, step: int) -> Path:
    state, kwargs = tiny_dncnn()
    return checkpoints.save_model(folder.name, state, "dncnn", kwargs, {"step": step},
                                  root=folder.parent).path


def test_a_folder_left_aside_by_a_kill_comes_back(tmp_path, monkeypatch):
    from training import experiments

    monkeypatch.setattr(atomic, "LEGACY_OLD_S", 0)   # older versions' .old: not just moved

    exp = experiments.create({"task": "denoise"}, "run")
    root = exp.path / "checkpoints"
    last = fake_model(root / "last", 10)
    # killed between the two renames (older naming): .last.old and a complete .part
    os.rename(last, root / ".last.old")
    fake_model(root / "tmp", 20).rename(root / ".last.abcd1234.part")
    assert exp.checkpoint.exists()
    assert checkpoints.read_card(exp.checkpoint)["step"] == 10

    # the same kill with today's names: the .part with the .old of its writer is the new one
    pid = dead_pid()
    os.rename(last, root / f".last.{pid}-0123abcd.old")
    fake_model(root / "tmp", 30).rename(root / f".last.{pid}-0123abcd.part")
    fake_model(root / "tmp", 40).rename(root / f".last.{pid}-feedbeef.part")       # killed mid-write
    fake_model(root / "tmp", 50).rename(root / f".last.{os.getpid()}-00000000.part")  # a live writer
    assert checkpoints.read_card(exp.checkpoint)["step"] == 30
    assert sorted(p.name for p in root.iterdir()) == \
        [f".last.{os.getpid()}-00000000.part", ".last.abcd1234.part", "last"]   # old-style .part: too new

    # the user library recovers when it is listed
    lib = paths.models_dir()
    model = fake_model(lib / "mine", 1)
    os.rename(model, lib / f".mine.{pid}-11111111.old")
    assert [m.id for m in checkpoints.list_models() if not m.shipped] == ["mine"]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX signals")
def test_a_run_json_temp_of_a_writer_killed_mid_write_is_cleared_when_the_run_is_read(tmp_path):
    """A process killed while writing run.json leaves its hidden temp file; reading the journal
    removes it (its writer is gone). A live writer's temp, and any other file, stay."""
    from training import experiments

    exp = experiments.create({"task": "denoise"}, "run")
    exp.update(status="done", step=7)
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys\n"
        "from engine.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('{\"status\": \"runn')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"), str(exp.path / "run.json")],
        cwd=Path(__file__).resolve().parents[2])
    assert killed.returncode == -9
    litter = [p.name for p in exp.path.iterdir() if p.name.startswith(".run.json.")]
    assert len(litter) == 1 and litter[0].endswith(".part.json"), litter
    live = exp.path / f".run.json.{os.getpid()}-0badf00d.part.json"   # ours: being written
    live.write_text("{")
    (exp.path / ".keep.part.json").write_text("a user's file")
    rows = [e.summary() for e in experiments.list_experiments()]
    assert rows[0]["status"] == "done" and rows[0]["step"] == 7
    assert sorted(p.name for p in exp.path.iterdir() if p.name.startswith(".")) == \
        [".keep.part.json", live.name]


# ---------------------------------------------------------------- 9, 10: safe loading of .pth

def test_a_zip_bomb_is_refused_before_it_unpacks(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}))
        archive.writestr("archive/data/0", b"\0" * (4 << 20))
    assert bomb.stat().st_size < 64 << 10
    monkeypatch.setattr(importer, "MAX_UNPACKED_BYTES", 1 << 20)

    def never(*args, **kwargs):
        raise AssertionError("torch.load ran on a bomb")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(ModelError, match="bomb.pth was refused: it would unpack to 4.2 MB"):
        importer.read_state_dict(bomb)


@pytest.mark.parametrize("protocol", [4, 5])
def test_state_dicts_of_any_pickle_protocol_import_quietly(tmp_path, protocol, capfd):
    path = esrgan_file(tmp_path / f"p{protocol}.pth", pickle_protocol=protocol)
    entry = importer.import_model(path)
    assert entry.card["scale"] == 2
    legacy = esrgan_file(tmp_path / "legacy.pth", pickle_protocol=protocol,
                         _use_new_zipfile_serialization=False)
    assert set(importer.read_state_dict(legacy)) == set(importer.read_state_dict(path))
    assert capfd.readouterr().err == ""


class RunsShell:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


class RunsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("payload", [RunsShell(), RunsEval()])
@pytest.mark.parametrize("protocol", [2, 5])
def test_code_in_a_pickle_is_refused_in_one_line(tmp_path, monkeypatch, capfd, payload, protocol):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "x": payload}, path, pickle_protocol=protocol)
    with pytest.raises(ModelError) as caught:
        importer.read_state_dict(path)
    message = str(caught.value)
    assert "evil.pth was refused" in message and "\n" not in message
    assert ("system" in message) or ("eval" in message)
    assert not (tmp_path / "pwned.txt").exists()
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- 11: one file out of memory

def test_out_of_memory_on_one_file_fails_only_that_file(tmp_path, monkeypatch):
    import engine.restore as restore

    folder = tmp_path / "in"
    folder.mkdir()
    make_png(folder / "a.png")
    make_png(folder / "huge.png", h=20)
    make_png(folder / "c.png")
    real = restore.restore_to_scale

    def oom_on_huge(restorer, pixels, options, scale=None):
        if pixels.shape[0] == 20:
            raise MemoryError()
        return (yield from real(restorer, pixels, options, scale))

    monkeypatch.setattr(restore, "restore_to_scale", oom_on_huge)
    inputs = tuple(str(folder / n) for n in ("a.png", "huge.png", "c.png"))
    events = list(drive(restore_job, RestoreSpec(inputs, str(tmp_path / "out"), model="bicubic")))
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert len(failed) == 1 and "huge.png" in failed[0].message and "memory" in failed[0].message
    assert {Path(e.output).name for e in events if isinstance(e, ItemDone)} == {"a.png", "c.png"}
    assert isinstance(events[-1], Finished)
    assert events[-1].result["failed"] == [inputs[1]]
