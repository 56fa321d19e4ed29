"""Training data: image folders, on-the-fly pairs, joint augmentation, a resumable sampler.

Three kinds (``data.kind``): ``degrade`` (clean images + a degradation recipe),
``paired`` (input/target folders matched by file stem; several target folders
stack as channels, e.g. mask + depth) and ``labelled`` (one sub-folder per
class). A fixed share of the files is held out for validation.

Sampling is counter-based, so a run resumes exactly without pickling any RNG:
sample ``k`` of the stream uses image ``perm(epoch)[k % n]`` and draws its crop,
augmentation and degradation from ``default_rng([seed, k])``. The stream
position (``cursor``, in batches) is all the state there is. Under DDP each rank
takes its own slice of every global batch, as a DistributedSampler would
(torch's sampler cannot restart mid-epoch, which exact resume needs).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from engine import paths
from engine.atomic import write_json
from engine.checkpoints import slug
from engine.errors import ConfigError
from engine.imageio import is_image_path, read_image

from .config import DataConfig
from .degradations import Recipe

VAL_KEY = 1 << 40   # sample ids of validation pairs, far from the training stream's


def image_files(folder: str | Path, max_images: int = 0) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted; or the file itself), at most ``max_images``."""
    folder = Path(folder).expanduser()
    if folder.is_file() and is_image_path(folder):   # one image (note 000 trains on one)
        return [folder]
    if not folder.is_dir():
        raise ConfigError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p)
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return files[:max_images] if max_images else files


def load_pixels(path: Path, channels: str = "rgb") -> np.ndarray:
    """float32 HWC: alpha dropped; ``rgb`` makes 3 channels, ``grey`` 1, ``keep`` as stored."""
    img = read_image(path).pixels
    if img.shape[2] in (2, 4):
        img = img[:, :, :-1]
    if channels == "grey" and img.shape[2] == 3:
        img = (img @ np.array([0.299, 0.587, 0.114], np.float32))[:, :, None]
    elif channels == "rgb" and img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img, dtype=np.float32)


class ImageStore:
    """Decoded images by index; with ``cache`` kept in memory (8-bit ones as uint8)."""

    def __init__(self, items: list, channels: list[str], cache: bool = True) -> None:
        self.items, self.channels, self.cache = items, channels, cache
        self._memory: dict[int, list[np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _decode(self, i: int) -> list[np.ndarray]:
        out = []
        for path, mode in zip(self.items[i], self.channels):
            img = load_pixels(path, mode)
            if self.cache and np.abs(img * 255 - np.rint(img * 255)).max() < 1e-3:
                img = np.rint(img * 255).astype(np.uint8)  # 8-bit sources: a quarter of the memory
            out.append(img)
        return out

    def get(self, i: int) -> list[np.ndarray]:
        arrays = self._memory.get(i) if self.cache else None
        if arrays is None:
            arrays = self._decode(i)
            if self.cache:
                self._memory[i] = arrays
        return [a.astype(np.float32) / 255 if a.dtype == np.uint8 else a for a in arrays]

    def preload(self) -> Iterator[tuple[int, int]]:
        """Decode everything now (before loader workers fork); yields (done, total)."""
        for i in range(len(self)):
            if self.cache and i not in self._memory:
                self._memory[i] = self._decode(i)
            yield i + 1, len(self)


# -- joint crop / augmentation -----------------------------------------------------
def _pad_to(img: np.ndarray, h: int, w: int) -> np.ndarray:
    ph, pw = max(0, h - img.shape[0]), max(0, w - img.shape[1])
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    return img


def random_crop(arrays: list[np.ndarray], crop: int, scale: int, rng) -> list[np.ndarray]:
    """One aligned random window: ``crop`` px of the targets, ``crop / scale`` of the input
    (the first array); images smaller than that are mirrored out."""
    sizes, factors = [crop // scale] + [crop] * (len(arrays) - 1), [1] + [scale] * (len(arrays) - 1)
    arrays = [_pad_to(a, s, s) for a, s in zip(arrays, sizes)]
    y = int(rng.integers(0, arrays[0].shape[0] - sizes[0] + 1))
    x = int(rng.integers(0, arrays[0].shape[1] - sizes[0] + 1))
    return [a[y * f:y * f + s, x * f:x * f + s] for a, s, f in zip(arrays, sizes, factors)]


def centre_crop(arrays: list[np.ndarray], crop: int, scale: int) -> list[np.ndarray]:
    """The same centred window of every array (the input, first, at 1/scale)."""
    ref = arrays[0]
    s0 = min(crop // scale, ref.shape[0], ref.shape[1])
    y, x = (ref.shape[0] - s0) // 2, (ref.shape[1] - s0) // 2
    factors = [1] + [scale] * (len(arrays) - 1)
    return [a[y * f:(y + s0) * f, x * f:(x + s0) * f] for a, f in zip(arrays, factors)]


def augment(arrays: list[np.ndarray], rng) -> list[np.ndarray]:
    """One random choice of 8 (flips x 90-degree rotations), applied to every array."""
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k)
        out.append(a[:, ::-1] if flip else a)
    return out


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


# -- datasets ----------------------------------------------------------------------
class TrainSet(Dataset):
    """Map-style dataset indexed by ``(image index, sample id)``."""

    def __init__(self, cfg: DataConfig, store: ImageStore, seed: int, labels: list[int] | None = None):
        self.cfg, self.store, self.seed, self.labels = cfg, store, seed, labels
        self.recipe = Recipe.from_list(cfg.recipe) if cfg.kind == "degrade" else None
        if self.recipe is not None and self.recipe.scale not in (None, float(cfg.scale)):
            raise ConfigError(f"the recipe downscales x{self.recipe.scale:g} but data.scale is {cfg.scale}")

    def __len__(self) -> int:
        return len(self.store)

    def make(self, index: int, sample_id: int, train: bool = True, crop: int = 0):
        """One (input, target) pair of numpy HWC arrays (labelled: (image, label))."""
        rng = np.random.default_rng([self.seed, sample_id])
        cfg = self.cfg
        arrays = self.store.get(index)
        scale = cfg.scale if cfg.kind == "paired" else 1
        if train:
            arrays = random_crop(arrays, cfg.crop, scale, rng)
            if cfg.augment:
                arrays = augment(arrays, rng)
        elif crop:
            arrays = centre_crop(arrays, crop, scale)
        if not train and cfg.kind == "degrade" and cfg.scale > 1:   # the recipe downscales it
            h, w = arrays[0].shape[:2]
            arrays = [arrays[0][:h - h % cfg.scale, :w - w % cfg.scale]]
        if cfg.kind == "labelled":
            return arrays[0], self.labels[index]
        if cfg.kind == "degrade":
            return self.recipe.make_pair(np.ascontiguousarray(arrays[0]), rng)
        target = arrays[1] if len(arrays) == 2 else np.concatenate(arrays[1:], axis=2)
        return arrays[0], target

    def __getitem__(self, key):
        index, sample_id = key
        a, b = self.make(int(index), int(sample_id))
        return to_tensor(a), (torch.tensor(b) if self.cfg.kind == "labelled" else to_tensor(b))


class StreamSampler(Sampler):
    """Endless batches of (image, sample id), starting at batch ``start`` of this rank."""

    def __init__(self, n: int, batch: int, seed: int, start: int = 0, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.start = n, batch, seed, start
        self.rank, self.world = rank, world
        self._epoch, self._perm = -1, None

    def image(self, k: int) -> int:
        epoch = k // self.n
        if epoch != self._epoch:
            self._epoch = epoch
            self._perm = np.random.default_rng([self.seed, 7, epoch]).permutation(self.n)
        return int(self._perm[k % self.n])

    def __iter__(self):
        b = self.start
        while True:
            first = (b * self.world + self.rank) * self.batch
            yield [(self.image(k), k) for k in range(first, first + self.batch)]
            b += 1


@dataclass
class Data:
    """Everything a loop needs: the train set, the fixed validation pairs, a summary."""
    train: TrainSet
    val: list[tuple]            # [(input, target)] numpy HWC, or [(image, label)]
    classes: list[str]
    summary: dict

    def loader(self, start: int, rank: int = 0, world: int = 1, pin: bool = False) -> DataLoader:
        cfg = self.train.cfg
        sampler = StreamSampler(len(self.train), cfg.batch, self.train.seed, start, rank, world)
        workers = cfg.workers
        return DataLoader(self.train, batch_sampler=sampler, num_workers=workers, pin_memory=pin,
                          persistent_workers=workers > 0, prefetch_factor=4 if workers else None)


def _split(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) indices: a fixed random share, at least one held out when n > 1."""
    if n < 2 or fraction <= 0:
        return list(range(n)), []
    held = max(1, round(n * fraction))
    order = np.random.default_rng([seed, 99]).permutation(n)
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def _paired_items(inputs: Path, targets, max_images: int) -> list[tuple]:
    folders = [targets] if isinstance(targets, str) else list(targets)
    if not folders or not all(folders):
        raise ConfigError("paired data needs data.target (a folder or a list of folders)")
    by_stem = [{p.stem: p for p in image_files(f)} for f in folders]
    items = [(p, *[m[p.stem] for m in by_stem]) for p in image_files(inputs)
             if all(p.stem in m for m in by_stem)]
    if not items:
        raise ConfigError(f"no input in {inputs} has a target of the same name in {', '.join(folders)}")
    return items[:max_images] if max_images else items


def _items(cfg: DataConfig, folder: str, target) -> tuple[list[tuple], list[int], list[str]]:
    """(items, labels, classes) of one folder."""
    if cfg.kind == "paired":
        return _paired_items(Path(folder), target, cfg.max_images), [], []
    if cfg.kind == "labelled":
        root = Path(folder)
        if not root.is_dir():
            raise ConfigError(f"image folder not found: {root}")
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        items, labels = [], []
        for label, name in enumerate(classes):
            files = image_files(root / name)
            items += [(p,) for p in files]
            labels += [label] * len(files)
        if len(classes) < 2:
            raise ConfigError(f"labelled data needs one sub-folder per class in {root}")
        return items, labels, classes
    files = image_files(folder, cfg.max_images)
    return [(p,) for p in files], [], []


def _modes(cfg: DataConfig, n_arrays: int) -> list[str]:
    colour = "grey" if cfg.grey else "rgb"
    return [colour] + (["keep"] * (n_arrays - 1) if cfg.kind == "paired" else [])


def build_data(cfg: DataConfig, seed: int, val_crop: int) -> Data:
    """Scan the folders, split off validation, and make the fixed validation pairs."""
    cfg = resolve_named(cfg)
    if not cfg.train:
        raise ConfigError("data.train is empty: give a folder of images (or data.dataset)")
    items, labels, classes = _items(cfg, cfg.train, cfg.target)
    if not items:
        raise ConfigError(f"no images found in {cfg.train}")
    if cfg.val:
        val_items, val_labels, _ = _items(cfg, cfg.val, cfg.val_target or cfg.target)
        train_idx, val_idx = list(range(len(items))), []
    else:
        train_idx, val_idx = _split(len(items), cfg.val_split, seed)
        val_items = [items[i] for i in val_idx]
        val_labels = [labels[i] for i in val_idx] if labels else []
    if not val_items:  # a single image: validate on it rather than on nothing
        val_items, val_labels = items[:1], labels[:1]
    modes = _modes(cfg, len(items[0]))
    train = TrainSet(cfg, ImageStore([items[i] for i in train_idx], modes, cfg.cache), seed,
                     [labels[i] for i in train_idx] if labels else None)
    val_set = TrainSet(cfg, ImageStore(val_items[:cfg.val_count] if cfg.val_count else val_items,
                                       modes, cache=False), seed, val_labels or None)
    val = [val_set.make(i, VAL_KEY + i, train=False, crop=val_crop) for i in range(len(val_set))]
    summary = {"kind": cfg.kind, "train": cfg.train, "images": len(train), "val_images": len(val),
               "dataset": cfg.dataset or Path(cfg.train).name, "classes": classes,
               "val_files": [str(item[0]) for item in val_set.store.items]}
    return Data(train, val, classes, summary)


def steps_per_epoch(n_images: int, batch: int) -> int:
    return max(1, math.ceil(n_images / batch))


# -- named datasets: a JSON entry in datasets_dir() ---------------------------------
def _entry_path(name: str) -> Path:
    return paths.datasets_dir() / f"{slug(name)}.json"


def list_named() -> list[dict]:
    out = []
    for path in sorted(paths.datasets_dir().glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            out.append({"name": path.stem, "error": "unreadable entry"})
    return out


def get_named(name: str) -> dict:
    path = _entry_path(name)
    if not path.exists():
        known = ", ".join(d.get("name", "?") for d in list_named()) or "none"
        raise ConfigError(f"no dataset named '{name}' (known: {known})")
    return json.loads(path.read_text(encoding="utf-8"))


def add_named(name: str, folder: str | Path, kind: str = "degrade", target=None,
              copy: bool = False, description: str = "") -> dict:
    """Register ``folder`` (and paired target folders) under ``name``; ``copy`` copies them in."""
    if _entry_path(name).exists():
        raise ConfigError(f"a dataset named '{name}' already exists")
    folder = Path(folder).expanduser().resolve()
    targets = [str(Path(t).expanduser().resolve()) for t in
               ([target] if isinstance(target, (str, Path)) else list(target or []))]
    probe = DataConfig(kind=kind, train=str(folder), target=targets or "")
    count = len(_items(probe, str(folder), probe.target)[0])
    if copy:
        home = paths.datasets_dir() / slug(name)
        shutil.copytree(folder, home / "train")
        for i, t in enumerate(targets):
            shutil.copytree(t, home / f"target{i}")
        folder, targets = home / "train", [str(home / f"target{i}") for i in range(len(targets))]
    entry = {"name": name, "kind": kind, "train": str(folder), "target": targets, "copied": copy,
             "images": count, "description": description,
             "created": _dt.datetime.now().isoformat(timespec="seconds")}
    write_json(_entry_path(name), entry)
    return entry


def remove_named(name: str) -> None:
    entry = get_named(name)
    if entry.get("copied"):
        shutil.rmtree(paths.datasets_dir() / slug(name), ignore_errors=True)
    _entry_path(name).unlink()


def resolve_named(cfg: DataConfig) -> DataConfig:
    """``data.dataset = NAME`` fills in train, target and kind from the named entry."""
    if not cfg.dataset:
        return cfg
    entry = get_named(cfg.dataset)
    from dataclasses import replace

    return replace(cfg, train=entry["train"], target=entry.get("target") or "",
                   kind=entry.get("kind", cfg.kind))


# -- noise patches for the realsr recipe, as a job ------------------------------------
@dataclass
class NoiseSpec:
    folder: str
    output: str
    patch: int = 64
    per_image: int = 8
    strength: float = 10.0   # NL-means h (8-bit units)
    seed: int = 0


def noise_patches_job(spec: NoiseSpec, control) -> Iterator:
    """Cut real noise patches from every image in ``spec.folder`` into ``spec.output`` (.npy)."""
    from engine.events import Progress, Saved

    from .degradations.realsr import extract_noise_patches, save_patches

    files = image_files(spec.folder)
    rng = np.random.default_rng(spec.seed)
    written = 0
    for i, path in enumerate(files):
        if control.stop_requested:
            break
        patches = extract_noise_patches([load_pixels(path)], spec.patch, spec.per_image, rng, spec.strength)
        written += len(save_patches(patches, spec.output))
        yield Progress(i + 1, len(files), f"{path.name}: {written} patches")
    yield Saved(str(spec.output), "file")
    return {"patches": written, "output": str(spec.output)}
