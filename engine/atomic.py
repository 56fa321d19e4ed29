"""Atomic writes: write a temporary sibling, fsync, rename over the target.

Temporary siblings are named ``.NAME.<pid>-<random>.part`` (files keep their
suffix after ``.part``). A folder swap moves the previous folder aside to
``.NAME.<pid>-<random>.old`` first, with the writer's own token, so writers
racing on one name never share a path, and a ``.part`` with an ``.old`` of the
same token is known to be complete: it was only waiting for its last rename.
:func:`recover_dir` uses that to put a folder back after a kill between the two
renames, and the pid to tell a killed writer's leftovers from a live one's work.

Temporaries are created with mode 0666 (files) / 0777 (folders) less the umask,
as ``open``/``mkdir`` would, not with tempfile's private 0600/0700; files that a
library wrote privately into a temporary folder are opened up the same way.
"""
from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .procs import pid_alive

SWAP_TRIES = 50           # a folder swap retries while other writers swap the same name
LEGACY_STALE_S = 3600     # a .part named by an older version (no pid): abandoned after this
LEGACY_OLD_S = 10         # an older version's .old, moved aside this long ago (they swap at once)

# .NAME.<pid>-<8 hex>[-<n>].part|old  (n: further attempts of one swap)
_OURS = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{8})(?:-\d+)?\.(?P<kind>part|old)$")
# a file's temporary: .NAME.<pid>-<8 hex>.part[.SUFFIX]
_FILE_PART = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{8}\.part(?:\.[^.]+)?$")
# older versions: .NAME.<mkdtemp random>.part and .NAME.old
_LEGACY = re.compile(r"^\.(?P<name>.+?)(?:\.(?P<token>[a-z0-9_]{8})\.(?P<kind>part)|\.(?P<old>old))$")


def _token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _make_sibling(target: Path, suffix: str, make: Callable[[Path], None]) -> Path:
    for _ in range(100):
        path = target.with_name(f".{target.name}.{_token()}{suffix}")
        try:
            make(path)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _new_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))


def _new_dir(path: Path) -> None:
    os.mkdir(path, 0o777)


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    On any error the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _make_sibling(target, ".part" + target.suffix, _new_file)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def atomic_dir(target: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``target``.

    An existing ``target`` is replaced, or with ``replace=False`` left alone:
    then FileExistsError is raised (and nothing is written) if the name is taken,
    even when another process takes it at the same moment.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_sibling(target, ".part", _new_dir)
    try:
        yield tmp
        _umask_modes(tmp)
        _commit_dir(tmp, target, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask_modes(folder: Path) -> None:
    """Give files inside ``folder`` at least the read/write bits a new file gets (safetensors,
    for one, writes 0600 files); ``folder`` itself was made with the umask's mode."""
    if os.name == "nt":
        return
    wanted = stat.S_IMODE(folder.stat().st_mode) & 0o666
    for parent, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(parent, name)
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISREG(info.st_mode) and mode | wanted != mode:
                os.chmod(path, mode | wanted)


def _rename_if_free(tmp: Path, target: Path) -> None:
    """Rename a folder to ``target`` unless a folder with content is there (FileExistsError)."""
    try:
        os.rename(tmp, target)
    except OSError as err:
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
        raise


def _commit_dir(tmp: Path, target: Path, replace: bool) -> None:
    token = tmp.name[len(target.name) + 2:-len(".part")]
    aside: list[Path] = []
    done = False
    try:
        for attempt in range(SWAP_TRIES):
            try:
                _rename_if_free(tmp, target)
                done = True
                break
            except FileExistsError:
                if not replace:
                    raise
            old = target.with_name(f".{target.name}.{token}{f'-{attempt}' if attempt else ''}.old")
            try:
                os.replace(target, old)
            except FileNotFoundError:   # another writer moved it first: try again
                continue
            aside.append(old)
        else:
            raise OSError(errno.EBUSY, "other writers keep replacing it", str(target))
        _fsync_dir(target.parent)
    finally:
        if not done and aside and not target.exists():
            try:    # put the last folder we moved aside back
                os.rename(aside.pop(), target)
            except OSError:
                pass
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ recovery

@dataclass(frozen=True)
class _Leftover:
    path: Path
    kind: str             # "part" or "old"
    token: str | None     # None for an old-style ".NAME.old"
    pid: int | None       # None for names of older versions

    def abandoned(self, now: float) -> bool:
        if self.pid is not None:
            return not pid_alive(self.pid)
        try:   # the rename that made an .old set its ctime; writing a .part, its mtime
            info = self.path.stat()
        except OSError:
            return False
        if self.kind == "old":
            return now - info.st_ctime > LEGACY_OLD_S
        return now - info.st_mtime > LEGACY_STALE_S


def _parse(path: Path) -> tuple[str, _Leftover] | None:
    m = _OURS.match(path.name)
    if m:
        return m["name"], _Leftover(path, m["kind"], f"{m['pid']}-{m['token']}", int(m["pid"]))
    m = _LEGACY.match(path.name)
    if m:
        return m["name"], _Leftover(path, m["kind"] or "old", m["token"], None)
    return None


def _leftovers(root: Path) -> dict[str, list[_Leftover]]:
    found: dict[str, list[_Leftover]] = {}
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(".") and p.is_dir()]
    except OSError:
        return found
    for path in entries:
        parsed = _parse(path)
        if parsed:
            found.setdefault(parsed[0], []).append(parsed[1])
    return found


def _mtime(item: _Leftover) -> float:
    try:
        return item.path.stat().st_mtime
    except OSError:
        return 0.0


def _restore(target: Path, dead: list[_Leftover]) -> Path | None:
    """Rename the best complete leftover to ``target``; return the path it came from."""
    tokens = {item.token for item in dead if item.kind == "old" and item.pid is not None}
    complete = [item for item in dead if item.kind == "part" and item.token in tokens]
    olds = [item for item in dead if item.kind == "old"]
    for item in sorted(complete, key=_mtime, reverse=True) + sorted(olds, key=_mtime, reverse=True):
        try:
            _rename_if_free(item.path, target)
            return item.path
        except OSError:
            continue
    return None


def recover_dir(target: str | os.PathLike) -> bool:
    """After a kill: bring ``target`` back from what its writer left, remove the rest.

    A writer killed between its two renames leaves ``target`` missing, the previous
    folder in ``.old`` and the new one, complete, in ``.part``: the new one comes
    back (or the previous one, when the pair cannot be told). ``.part`` folders of
    writers killed mid-write are removed. Leftovers of live writers are not touched.
    Returns whether ``target`` exists.
    """
    target = Path(target)
    _recover(target, _leftovers(target.parent).get(target.name, []))
    return target.exists()


def recover_all(root: str | os.PathLike) -> None:
    """:func:`recover_dir` for every folder under ``root`` that has leftovers."""
    root = Path(root)
    for name, items in _leftovers(root).items():
        _recover(root / name, items)


def remove_stale_parts(folder: str | os.PathLike) -> int:
    """Delete the temporary files (not folders) in ``folder`` that writers killed mid-write
    left: a file's ``.part`` is never renamed by anyone but its writer, so once that pid is
    gone it is litter. Those of live pids (or a reused pid) stay. Returns how many went."""
    removed = 0
    try:
        entries = [p for p in Path(folder).iterdir() if p.name.startswith(".")]
    except OSError:
        return 0
    for path in entries:
        m = _FILE_PART.match(path.name)
        if not m or pid_alive(int(m["pid"])):
            continue
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def _recover(target: Path, items: list[_Leftover]) -> None:
    if not items:
        return
    now = time.time()
    dead = [item for item in items if item.abandoned(now)]
    moved = None if target.exists() else _restore(target, dead)
    for item in dead:
        if item.path != moved:
            shutil.rmtree(item.path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
