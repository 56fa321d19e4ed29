"""Model folders: ``model.safetensors`` + ``card.json`` (+ ``train_state.pt`` to resume).

The safetensors metadata holds the architecture id and kwargs, so weights
alone are enough to rebuild the net; the card holds everything a person
wants to know (task, scale, training data, metrics, lineage, checksum).
User models live in the data dir; shipped ones in ``resources/models`` are
read-only. Every write goes to a temporary folder first and is renamed in.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from . import paths
from .atomic import atomic_dir, atomic_path, recover_all, recover_dir, write_json
from .errors import ModelError

WEIGHTS = "model.safetensors"
CARD = "card.json"
TRAIN_STATE = "train_state.pt"
FORMAT_VERSION = "1"


@dataclass
class ModelEntry:
    id: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict)
    shipped: bool = False

    @property
    def title(self) -> str:
        return self.card.get("title") or self.id

    @property
    def task(self) -> str:
        return self.card.get("task", "")

    @property
    def arch(self) -> str:
        return self.card.get("arch", "")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "shipped": self.shipped, **self.card}


def slug(name: str) -> str:
    text = re.sub(r"[^\w.-]+", "-", name.strip(), flags=re.UNICODE).strip("-.")
    return text[:80] or "model"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(name: str, state_dict: Mapping[str, Any], arch: str, kwargs: Mapping[str, Any],
               card: Mapping[str, Any] | None = None, *, root: Path | None = None,
               train_state: Mapping[str, Any] | None = None,
               overwrite: bool | None = None) -> ModelEntry:
    """Write a model folder atomically under ``root`` (default: the user model library).

    ``overwrite``: True replaces a folder of that name, False refuses (ModelError).
    None (the default) replaces inside a given ``root`` (an experiment's checkpoints),
    but in the user library picks a free name instead (``name-2``, ``name-3``, ...):
    a library model is never replaced unless asked, and a shipped one never is. The
    returned entry's id is the name used; compare it with ``slug(name)`` to tell.
    """
    import torch
    from safetensors.torch import save_file

    library = root is None
    root = root or paths.models_dir()
    base = slug(name)
    shipped = _shipped_ids() if library else set()
    if overwrite and base in shipped:
        raise ModelError(f"'{base}' ships with RestoreLab and cannot be replaced; choose another name")
    unique = library and overwrite is None
    replace = (not library) if overwrite is None else overwrite
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()
               if isinstance(v, torch.Tensor)}
    meta = {"restorelab.arch": arch, "restorelab.kwargs": json.dumps(dict(kwargs)),
            "restorelab.format": FORMAT_VERSION}
    for candidate in _names(base) if unique else [base]:
        target = root / candidate
        if unique and (candidate in shipped or recover_dir(target)):
            continue
        if overwrite is False and target.exists():
            raise ModelError(f"a model named '{target.name}' already exists")
        try:
            with atomic_dir(target, replace=replace) as tmp:
                save_file(tensors, str(tmp / WEIGHTS), metadata=meta)
                full_card = {
                    "name": target.name, "title": name + candidate[len(base):],
                    "arch": arch, "kwargs": dict(kwargs),
                    "created": _dt.datetime.now().isoformat(timespec="seconds"),
                    **dict(card or {}), "sha256": sha256(tmp / WEIGHTS),
                }
                write_json(tmp / CARD, full_card)
                if train_state is not None:
                    torch.save(dict(train_state), tmp / TRAIN_STATE)
        except FileExistsError:   # another writer took the name a moment ago
            if unique:
                continue
            raise ModelError(f"a model named '{target.name}' already exists") from None
        return ModelEntry(target.name, target, full_card, shipped=False)
    raise ModelError(f"no free name for '{base}' in {root}")


def _names(base: str) -> Iterator[str]:
    yield base
    for n in range(2, 10_000):
        yield f"{base}-{n}"


def _shipped_ids() -> set[str]:
    root = paths.shipped_models_dir()
    return {p.name for p in root.iterdir() if (p / WEIGHTS).exists()} if root.is_dir() else set()


def save_train_state(folder: Path, state: Mapping[str, Any]) -> None:
    import torch

    with atomic_path(folder / TRAIN_STATE) as tmp:
        torch.save(dict(state), tmp)


def load_train_state(folder: Path) -> dict[str, Any]:
    import torch

    path = Path(folder) / TRAIN_STATE
    if not path.exists():
        raise ModelError(f"{folder.name} has no training state to resume from")
    return torch.load(path, map_location="cpu", weights_only=True)


def read_card(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(folder) / CARD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise ModelError(f"{folder}: unreadable card.json ({err})") from None


def update_card(entry: ModelEntry, **changes: Any) -> ModelEntry:
    if entry.shipped:
        raise ModelError(f"'{entry.id}' ships with RestoreLab and cannot be changed")
    card = {**entry.card, **changes}
    write_json(entry.path / CARD, card)
    return ModelEntry(entry.id, entry.path, card, entry.shipped)


def load_weights(folder: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(arch id, kwargs, state_dict) of a model folder or a bare RestoreLab safetensors file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    folder = Path(folder)
    file = folder / WEIGHTS if folder.is_dir() else folder
    if not file.exists():
        raise ModelError(f"{folder}: no {WEIGHTS} found")
    try:
        with safe_open(str(file), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(file))
    except Exception as err:
        raise ModelError(f"{file.name}: not a readable safetensors file ({err})") from None
    arch = meta.get("restorelab.arch")
    if not arch:
        raise ModelError(f"{file.name} was not saved by RestoreLab; import it with "
                         "`restorelab models import`")
    try:
        kwargs = json.loads(meta.get("restorelab.kwargs", "{}"))
    except ValueError:
        raise ModelError(f"{file.name}: damaged metadata") from None
    return arch, kwargs, state


def build_model(folder: Path):
    """Rebuild the net of a model folder with its weights loaded (eval mode)."""
    from . import registry

    arch, kwargs, state = load_weights(folder)
    spec = registry.get(arch)
    if spec.kind == "imported":  # spandrel rebuilds these from the weights themselves
        from .importer import build_imported

        return build_imported(state, kwargs), spec, kwargs
    module = spec.build(**kwargs)
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise ModelError(f"{Path(folder).name}: weights do not fit {arch} ({str(err)[:200]})") from None
    return module.eval(), spec, kwargs


def _entries(root: Path, shipped: bool) -> list[ModelEntry]:
    if not root.is_dir():
        return []
    if not shipped:
        recover_all(root)   # a folder a killed save left aside comes back first
    out = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not (folder / WEIGHTS).exists():
            continue
        try:
            card = read_card(folder)
        except ModelError:
            card = {"title": folder.name, "error": "unreadable card"}
        out.append(ModelEntry(folder.name, folder, card, shipped))
    return out


def list_models() -> list[ModelEntry]:
    """Shipped models first, then the user's (a user model shadows a shipped one of that id)."""
    user = _entries(paths.models_dir(), shipped=False)
    user_ids = {e.id for e in user}
    shipped = [e for e in _entries(paths.shipped_models_dir(), shipped=True) if e.id not in user_ids]
    return shipped + user


def find_model(ref: str) -> ModelEntry | None:
    """A model by id, or by the path of a model folder."""
    for entry in list_models():
        if entry.id == ref or entry.id == slug(ref):
            return entry
    path = Path(ref).expanduser()
    if path.is_dir() and (path / WEIGHTS).exists():
        return ModelEntry(path.name, path, read_card(path), shipped=False)
    return None


def delete_model(model_id: str) -> None:
    entry = find_model(model_id)
    if entry is None:
        raise ModelError(f"no model named '{model_id}'")
    if entry.shipped:
        raise ModelError(f"'{model_id}' ships with RestoreLab and cannot be deleted")
    trash = entry.path.with_name(f".{entry.path.name}.deleting")
    entry.path.rename(trash)  # vanish at once, even if removal is slow
    shutil.rmtree(trash, ignore_errors=True)


def rename_model(model_id: str, new_name: str) -> ModelEntry:
    entry = find_model(model_id)
    if entry is None:
        raise ModelError(f"no model named '{model_id}'")
    if entry.shipped:
        raise ModelError(f"'{model_id}' ships with RestoreLab and cannot be renamed")
    target = entry.path.with_name(slug(new_name))
    if target.exists():
        raise ModelError(f"a model named '{target.name}' already exists")
    entry.path.rename(target)
    return update_card(ModelEntry(target.name, target, entry.card), name=target.name, title=new_name)
