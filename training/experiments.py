"""The experiment journal: every training run is a numbered folder in the user data dir.

``experiments/0007-denoise-dncnn/`` holds

- ``config.toml``   the run's config, as run (resume reads it back)
- ``run.json``      summary: number, name, dates, dataset, status, step, results, model id
- ``metrics.jsonl`` one JSON object per line: per-step losses/lr, validation scores, rollbacks
- ``notes.md``      free text (``restorelab experiments note N TEXT``)
- ``previews/``     validation previews (input | output | target) as PNG
- ``checkpoints/last/``  a model folder + ``train_state.pt``, to resume
- ``checkpoints/best/``  the weights of the best validation PSNR so far (registered if it beats the last)

From its creation on, run.json also holds the ``pid`` and ``host`` of the process that
runs it and a ``heartbeat`` time, refreshed every HEARTBEAT_S seconds while it trains: a run
marked created or running whose process is gone (or whose heartbeat stopped) reads as
"interrupted", with how to go on.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from engine import paths, procs
from engine.atomic import recover_all, remove_stale_parts, write_json, write_text
from engine.checkpoints import TRAIN_STATE, read_card, slug
from engine.errors import ConfigError, ModelError

CONFIG, META, METRICS, NOTES = "config.toml", "run.json", "metrics.jsonl", "notes.md"
_FOLDER = re.compile(r"^(\d{4,})-(.+)$")
HEARTBEAT_S = 30.0    # a training run refreshes its heartbeat this often
STALE_S = 600.0       # no heartbeat for this long: the run is not going on
LIVE = ("created", "running")   # statuses that only a live process keeps


class Experiment:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        match = _FOLDER.match(self.path.name)
        self.number = int(match.group(1)) if match else 0
        try:
            self.meta: dict[str, Any] = json.loads((self.path / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.meta = {"name": self.path.name, "status": "unreadable"}
        if self.meta.get("host", procs.host()) == procs.host():   # pids mean nothing elsewhere
            remove_stale_parts(self.path)   # temp files of writers killed mid-write (run.json's)
        self._lock = threading.Lock()

    # -- what the journal shows -------------------------------------------------
    @property
    def name(self) -> str:
        return self.meta.get("name", self.path.name)

    @property
    def checkpoint(self) -> Path:
        folder = self.path / "checkpoints"
        recover_all(folder)   # put back what a kill during a checkpoint write left aside
        return folder / "last"

    def resumable(self) -> bool:
        return (self.checkpoint / TRAIN_STATE).is_file()

    @property
    def status(self) -> str:
        """run.json's status; a run it calls live whose process is gone reads 'interrupted'."""
        status = self.meta.get("status", "")
        return "interrupted" if status in LIVE and not self.alive() else status

    def alive(self) -> bool:
        """Whether the process that runs this experiment still does (runs of versions that
        kept no pid cannot be told: they count as alive)."""
        pid, beat = self.meta.get("pid"), self.meta.get("heartbeat")
        if pid is None:
            return True
        if self.meta.get("host", procs.host()) == procs.host() and not procs.pid_alive(int(pid)):
            return False
        try:
            age = (_dt.datetime.now() - _dt.datetime.fromisoformat(str(beat))).total_seconds()
        except ValueError:
            return True
        return age < STALE_S

    def require_resumable(self) -> None:
        """Raise a ConfigError saying why and what to do when there is nothing to resume."""
        pid = self.meta.get("pid")
        if pid and self.status in LIVE:
            raise ConfigError(f"experiment {self.number} ('{self.name}') is still running "
                              f"(process {pid}); stop it before resuming it")
        if not self.resumable():
            raise ConfigError(self.hint() or f"experiment {self.number} ('{self.name}') has no "
                              f"checkpoint to resume from")

    def step(self) -> int:
        """The step it got to: for a run that did not end, that of its last checkpoint (a kill
        between the checkpoint and run.json's update leaves run.json a checkpoint behind)."""
        step = int(self.meta.get("step", 0) or 0)
        if self.status != "interrupted":
            return step
        try:
            return max(step, int(read_card(self.checkpoint).get("step", 0)))
        except (ModelError, TypeError, ValueError):
            return step

    def hint(self) -> str:
        """For a run that is not going on and did not finish: how to go on with it."""
        status, step = self.status, self.step()
        if status not in ("interrupted", "failed", "aborted", "stopped"):
            return ""
        what = {"interrupted": "was interrupted", "failed": "failed", "aborted": "was aborted",
                "stopped": "was stopped"}[status]
        which = f"experiment {self.number} ('{self.name}')"
        if self.resumable():
            return (f"{which} {what} at step {step}; continue it with "
                    f"`restorelab train --resume {self.number}`")
        return (f"{which} {what} before its first checkpoint, so there is "
                f"nothing to resume; start it again with "
                f"`restorelab train \"{self.path / CONFIG}\"`")

    @property
    def notes(self) -> str:
        try:
            return (self.path / NOTES).read_text(encoding="utf-8")
        except OSError:
            return ""

    def config(self) -> dict:
        import tomllib

        return tomllib.loads((self.path / CONFIG).read_text(encoding="utf-8"))

    def summary(self) -> dict:
        """One journal row: number, name, date, dataset, description, status, results."""
        m = self.meta
        return {"number": self.number, "name": self.name, "created": m.get("created", ""),
                "dataset": m.get("dataset", ""), "description": m.get("description", ""),
                "status": self.status, "step": self.step(), "total": m.get("total", 0),
                "results": m.get("results", {}), "model": m.get("model", ""),
                "notes": self.notes.strip(), "error": m.get("error", ""), "path": str(self.path),
                "hint": self.hint()}

    # -- writing (rank 0 only) ------------------------------------------------------
    def update(self, **changes: Any) -> None:
        with self._lock:   # the heartbeat thread writes too
            self.meta.update(changes)
            self.meta["updated"] = _now()
            write_json(self.path / META, self.meta)

    @contextmanager
    def heartbeat(self, every: float | None = None):
        """Record this process in run.json and refresh its heartbeat until the block ends."""
        self.update(pid=os.getpid(), host=procs.host(), heartbeat=_now())
        done = threading.Event()

        def beat() -> None:
            while not done.wait(every or HEARTBEAT_S):
                try:
                    self.update(heartbeat=_now())
                except Exception:   # a full disk must not kill the run from here
                    pass

        thread = threading.Thread(target=beat, name=f"heartbeat-{self.number}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            done.set()
            thread.join()

    def log(self, step: int, values: dict[str, Any]) -> None:
        with open(self.path / METRICS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, **values}, default=float) + "\n")

    def metrics(self) -> list[dict]:
        try:
            lines = (self.path / METRICS).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:   # a line cut short by a crash
                pass
        return out

    def truncate_metrics(self, step: int) -> None:
        """Drop log lines after ``step`` (a resume repeats them)."""
        kept = [json.dumps(r) for r in self.metrics() if r.get("step", 0) <= step]
        write_text(self.path / METRICS, "".join(line + "\n" for line in kept))

    def save_preview(self, step: int, images: dict[str, np.ndarray]) -> Path:
        from engine.imageio import write_image

        strips = [images[k] for k in ("input", "output", "target") if k in images]
        h = max(s.shape[0] for s in strips)
        strips = [np.pad(np.repeat(s, 3 // s.shape[2], axis=2), ((0, h - s.shape[0]), (0, 4), (0, 0)))
                  for s in strips]
        path = self.path / "previews" / f"step_{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, np.concatenate(strips, axis=1)[:, :-4].astype(np.float32) / 255)
        return path

    def set_notes(self, text: str) -> None:
        write_text(self.path / NOTES, text.rstrip() + "\n")


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def create(config: dict, name: str, description: str = "", dataset: str = "") -> Experiment:
    """A new numbered experiment folder holding the config snapshot."""
    import tomli_w

    root = paths.experiments_dir()
    for _ in range(100):   # another process may take a number at the same moment
        number = max((e.number for e in list_experiments()), default=0) + 1
        folder = root / f"{number:04d}-{slug(name)}"
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise ConfigError(f"could not create an experiment folder in {root}")
    write_text(folder / CONFIG, tomli_w.dumps(config))
    exp = Experiment(folder)
    # the creating process runs it: a kill before its heartbeat starts still reads interrupted
    exp.update(number=number, name=name, description=description, dataset=dataset,
               task=config.get("task", ""), loop=config.get("loop", ""),
               arch=config.get("model", {}).get("arch", ""), created=_now(),
               status="created", step=0, total=0, results={},
               pid=os.getpid(), host=procs.host(), heartbeat=_now())
    return exp


def list_experiments() -> list[Experiment]:
    root = paths.experiments_dir()
    return sorted((Experiment(p) for p in root.iterdir() if p.is_dir() and _FOLDER.match(p.name)),
                  key=lambda e: e.number)


def find(ref: str | int) -> Experiment:
    """An experiment by number (``7``), folder name, run name (latest of that name) or path."""
    text = str(ref).strip()
    runs = list_experiments()
    if text.isdigit():
        for exp in runs:
            if exp.number == int(text):
                return exp
    for exp in reversed(runs):
        if text in (exp.path.name, exp.name):
            return exp
    path = Path(text).expanduser()
    if path.is_dir() and (path / CONFIG).exists():
        return Experiment(path.resolve())
    raise ConfigError(f"no experiment '{ref}' (see `restorelab experiments list`)")


def set_notes(ref: str | int, text: str) -> Experiment:
    exp = find(ref)
    exp.set_notes(text)
    return exp


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict) and value and key not in ("kwargs", "disc_kwargs"):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def compare(a: str | int, b: str | int) -> list[tuple[str, Any, Any]]:
    """Rows (field, value in A, value in B): summaries and results, then config differences."""
    ea, eb = find(a), find(b)
    sa, sb = ea.summary(), eb.summary()
    rows = [(k, sa.get(k, ""), sb.get(k, "")) for k in
            ("number", "name", "created", "dataset", "description", "status", "step", "model")]
    ra, rb = sa["results"], sb["results"]
    rows += [(f"results.{k}", ra.get(k, ""), rb.get(k, "")) for k in sorted(set(ra) | set(rb))]
    try:
        ca, cb = _flat(ea.config()), _flat(eb.config())
    except OSError:
        return rows
    rows += [(f"config.{k}", ca.get(k, ""), cb.get(k, "")) for k in sorted(set(ca) | set(cb))
             if ca.get(k) != cb.get(k) and k not in ("name", "description")]
    return rows
