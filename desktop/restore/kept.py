"""Restored results kept in the cache dir between sessions, so the queue comes back with them.

``<cache dir>/results/`` holds one ``.npy`` file per kept result (16-bit levels,
the result's exact shape) and ``index.json``: the queue as it was last saved,
one row per queue row, with the row's kept result (or none)::

    {"version": 1, "rows": [{"path": ..., "result": {"file", "model", "seconds",
                                                      "saved_to", "size", "mtime_ns",
                                                      "bytes", "time"} | null}, ...]}

``size`` and ``mtime_ns`` are the source file's when the result was kept: a
source that changed since then drops its result. Every file is written
atomically; files no row names are removed; past ``MAX_BYTES`` (or
``MAX_RESULTS``) the oldest results go first. The jobs below all run on the
Restore page's IO lane, one after another, so they never race each other.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

INDEX = "index.json"
VERSION = 1
MAX_BYTES = 1 << 30     # all kept results together
MAX_RESULTS = 200


def folder() -> Path:
    from engine.paths import cache_dir

    return cache_dir() / "results"


def new_name() -> str:
    return f"{uuid.uuid4().hex}.npy"


def _source_stamp(path: str) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_size, st.st_mtime_ns


# -- keeping one result ----------------------------------------------------------------------
@dataclass(frozen=True)
class KeepSpec:
    name: str                 # file name in folder(), chosen by the page before it submits
    source: str
    pixels: Any               # float32 HWC in [0, 1]
    model: str
    seconds: float


def keep_job(spec: KeepSpec, control):
    """Write one result (atomically); the result is its index entry (without saved_to)."""
    from engine.atomic import atomic_path
    from engine.events import Progress

    yield Progress(0, 1, "keeping the result")
    levels = np.clip(np.rint(np.asarray(spec.pixels, np.float32) * 65535.0), 0, 65535)
    levels = levels.astype(np.uint16)
    target = folder() / spec.name
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, levels, allow_pickle=False)
    size, mtime_ns = _source_stamp(spec.source)
    return {"file": spec.name, "model": spec.model, "seconds": float(spec.seconds),
            "size": size, "mtime_ns": mtime_ns, "bytes": target.stat().st_size,
            "time": time.time()}


# -- the index -------------------------------------------------------------------------------
def read_index() -> list[dict]:
    try:
        data = json.loads((folder() / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    rows = data.get("rows") if isinstance(data, dict) and data.get("version") == VERSION else None
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if not (isinstance(row, dict) and isinstance(row.get("path"), str)):
            continue
        entry = row.get("result")
        ok = isinstance(entry, dict) and isinstance(entry.get("file"), str) \
            and Path(entry["file"]).name == entry["file"] and entry["file"].endswith(".npy")
        out.append({"path": row["path"], "result": entry if ok else None})
    return out


def sync_job(rows: tuple[tuple[str, dict | None], ...], control):
    """Write the index for the queue's rows ((path, entry or None), in order), keep it within
    MAX_BYTES / MAX_RESULTS (oldest out) and remove files no row names. The result: the
    entries kept, by file name (a result kept just now gets its source's stamp here)."""
    from engine.atomic import write_json
    from engine.events import Progress

    yield Progress(0, 1, "keeping the queue's results")
    root = folder()
    entries = {}
    for path, e in rows:
        if not e or not (root / e["file"]).is_file():
            continue
        e = dict(e)
        if "size" not in e:   # written by a keep job whose end the page has not seen yet
            try:
                e["size"], e["mtime_ns"] = _source_stamp(path)
            except OSError:
                continue
            e["bytes"] = (root / e["file"]).stat().st_size
        entries[e["file"]] = e
    total, kept = 0, {}
    for e in sorted(entries.values(), key=lambda e: -float(e.get("time", 0))):   # newest first
        size = int(e.get("bytes", 0))
        if total + size <= MAX_BYTES and len(kept) < MAX_RESULTS:
            total += size
            kept[e["file"]] = e
    if root.is_dir() or kept:
        out = [{"path": p, "result": kept.get(e["file"]) if e else None} for p, e in rows]
        write_json(root / INDEX, {"version": VERSION, "rows": out})
        for f in root.glob("*.npy"):
            if f.name not in kept:
                f.unlink(missing_ok=True)
    return kept


def find_job(rows: tuple[tuple[int, str], ...], control):
    """(row id, kept entry) for the queue's rows ((id, path), in order) that have one."""
    yield from ()
    return [(row_id, e) for (row_id, _p), e in zip(rows, match(read_index(), [p for _i, p in rows]))
            if e]


def match(rows: list[dict], paths: list[str]) -> list[dict | None]:
    """The kept entry of each queue row (``paths``, in order): by position when the index was
    written for this very queue, else the n-th row of a file gets the file's n-th entry."""
    if [r["path"] for r in rows] == list(paths):
        return [r["result"] for r in rows]
    by_path: dict[str, list] = {}
    for r in rows:
        by_path.setdefault(r["path"], []).append(r["result"])
    return [by_path[p].pop(0) if by_path.get(p) else None for p in paths]


# -- bringing one back -----------------------------------------------------------------------
@dataclass(frozen=True)
class BringBackSpec:
    source: str
    entry: dict


def bring_back_job(spec: BringBackSpec, control):
    """The kept result as a RestoreResult (None when its source changed or it is gone)."""
    from engine import imageio
    from engine.events import Progress

    from .jobs import RestoreResult

    entry = spec.entry
    yield Progress(0, 2, "reading the kept result")
    try:
        stamp = _source_stamp(spec.source)
    except OSError:
        return None
    if stamp != (entry.get("size"), entry.get("mtime_ns")):
        return None   # the picture changed since: the result is not its result any more
    path = folder() / entry["file"]
    try:
        levels = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if levels.dtype != np.uint16 or levels.ndim != 3:
        return None
    image = imageio.read_image(spec.source)
    yield Progress(1, 2, "reading the picture")
    return RestoreResult(image, levels.astype(np.float32) / 65535.0, str(entry.get("model", "")),
                         float(entry.get("seconds", 0.0)))
