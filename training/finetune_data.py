"""The examples of a fine-tune as training data: scanning a folder of pairs and lone crops,
and mixing them with the parent's base set (``build_finetune_data``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.errors import ConfigError
from engine.imageio import is_image_path
from engine.levels import UNKNOWN, blur_level_map_value, estimate_blur_sigma

from .config import RunConfig
from .datasets import VAL_KEY, Data, augment, build_data, centre_crop, load_pixels, random_crop, to_tensor
from .degradations import Recipe

CLEAN = ".clean"          # NAME.clean.png is the clean reference of NAME.png
MIN_HELD_OUT = 4          # with this many pairs or more, a quarter validates and does not train


@dataclass(frozen=True)
class Example:
    input: Path
    clean: Path | None = None   # None: a lone crop, trained with the parent's recipe

    @property
    def kind(self) -> str:
        return "pair" if self.clean else "crop"

    def describe(self) -> dict:
        return {"input": self.input.name, "clean": self.clean.name if self.clean else None,
                "kind": self.kind}


def scan_examples(folder: str | Path) -> list[Example]:
    """The examples in ``folder`` (not recursive), pairs and lone crops, sorted by name."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"examples folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p)
                   and not p.name.startswith("."))
    cleans = {p.stem[:-len(CLEAN)]: p for p in files if p.stem.endswith(CLEAN)}
    out = [Example(p, cleans.get(p.stem)) for p in files if not p.stem.endswith(CLEAN)]
    orphans = sorted(set(cleans) - {e.input.stem for e in out})
    if orphans:
        raise ConfigError(f"{cleans[orphans[0]].name} has no input {orphans[0]}.* beside it")
    if not out:
        raise ConfigError(f"no examples in {folder} (NAME.png, optionally with NAME.clean.png)")
    return out



def fit_channels(img: np.ndarray, channels: int, level: str) -> np.ndarray:
    """An example's input with the level map a level net reads (blind noise, estimated blur)."""
    if img.shape[2] >= channels:
        return img
    if level == "blur":
        value = blur_level_map_value(estimate_blur_sigma(img))
    else:
        value = UNKNOWN
    maps = np.full(img.shape[:2] + (channels - img.shape[2],), value, np.float32)
    return np.concatenate([img, maps], axis=2)


class ExampleSet:
    """(input, target) pairs from the examples: pairs as given, crops through the recipe."""

    def __init__(self, examples: list[Example], cfg, recipe: Recipe | None, channels: int, level: str):
        self.examples, self.cfg, self.recipe = examples, cfg, recipe
        self.channels, self.level = channels, level
        mode = "grey" if cfg.grey else "rgb"
        self.images = [(load_pixels(e.input, mode), load_pixels(e.clean, mode) if e.clean else None)
                       for e in examples]
        if recipe is None and any(clean is None for _, clean in self.images):
            raise ConfigError("the parent has no degradation recipe (it trained on paired folders, "
                              "or none fits its task) to make inputs from lone crops: give each "
                              "example a NAME.clean.png reference")
        for e, (inp, clean) in zip(examples, self.images):
            if clean is not None and (clean.shape[0] != inp.shape[0] * self.scale
                                      or clean.shape[1] != inp.shape[1] * self.scale):
                raise ConfigError(f"{e.clean.name} is {clean.shape[1]}x{clean.shape[0]} but must be "
                                  f"{self.scale}x the size of {e.input.name}")

    @property
    def scale(self) -> int:
        return self.cfg.scale

    def __len__(self) -> int:
        return len(self.examples)

    def make(self, index: int, rng, crop: int = 0, train: bool = True):
        inp, clean = self.images[index]
        if clean is None:   # a lone crop is the target; the recipe degrades it
            arrays = [inp]
            if train:
                arrays = random_crop(arrays, self.cfg.crop, 1, rng)
                arrays = augment(arrays, rng) if self.cfg.augment else arrays
            elif crop:
                arrays = centre_crop(arrays, crop, 1)
            target = np.ascontiguousarray(arrays[0])
            if self.scale > 1:
                h, w = target.shape[:2]
                target = target[:h - h % self.scale, :w - w % self.scale]
            return self.recipe.make_pair(target, rng)
        arrays = [inp, clean]
        if train:
            arrays = random_crop(arrays, self.cfg.crop, self.scale, rng)
            arrays = augment(arrays, rng) if self.cfg.augment else arrays
        elif crop:
            arrays = centre_crop(arrays, crop, self.scale)
        inp, target = (np.ascontiguousarray(a) for a in arrays)
        return fit_channels(inp, self.channels, self.level), target


class MixedSet(torch.utils.data.Dataset):
    """The training stream: each sample an example with probability ``mix``, else a base pair.
    Drawn from ``(seed, sample id)`` alone, so a run resumes exactly like any other."""

    def __init__(self, base, examples: ExampleSet, train_idx: list[int], mix: float, seed: int):
        self.base, self.examples, self.train_idx = base, examples, train_idx
        self.mix = mix if base is not None else 1.0
        self.cfg, self.seed = examples.cfg, seed
        self.store = base.store if base is not None else None

    def __len__(self) -> int:
        return len(self.base) if self.base is not None else len(self.train_idx)

    def __getitem__(self, key):
        index, sample_id = (int(k) for k in key)
        rng = np.random.default_rng([self.seed, sample_id, 31])
        if self.base is None or rng.random() < self.mix:
            pick = self.train_idx[int(rng.integers(len(self.train_idx)))]
            a, b = self.examples.make(pick, rng)
        else:
            a, b = self.base.make(index, sample_id)
        return to_tensor(a), to_tensor(b)


def split_examples(examples: list[Example], seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) indices: with MIN_HELD_OUT pairs or more a quarter of the pairs only
    validates; with fewer, every example trains and every one validates (the marked regions)."""
    pairs = [i for i, e in enumerate(examples) if e.clean]
    if len(pairs) < MIN_HELD_OUT:
        every = list(range(len(examples)))
        return every, pairs or every
    order = np.random.default_rng([seed, 17]).permutation(pairs).tolist()
    held = sorted(order[:max(1, len(pairs) // 4)])
    return [i for i in range(len(examples)) if i not in held], held


def build_finetune_data(cfg: RunConfig, examples: list[Example], mix: float, val_crop: int) -> tuple[Data, list[str]]:
    """The mixed training set and the examples' validation pairs; also warnings to show."""
    notes = []
    data_cfg = cfg.data
    base = None
    recipe = Recipe.from_list(data_cfg.recipe) if data_cfg.kind == "degrade" else None
    if mix < 1:
        try:
            base = build_data(data_cfg, cfg.seed, val_crop).train
        except ConfigError as err:
            notes.append(f"the parent's base training set is not here ({err}); "
                         f"training on the examples alone")
    level = str(cfg.model.kwargs.get("level", ""))
    channels = _input_channels(base, recipe, data_cfg)
    ex_set = ExampleSet(examples, data_cfg, recipe, channels, level)
    train_idx, val_idx = split_examples(examples, cfg.seed)
    crop = val_crop if val_crop else 0
    val = [ex_set.make(i, np.random.default_rng([cfg.seed, VAL_KEY + i]), crop=crop, train=False)
           for i in val_idx]
    train = MixedSet(base, ex_set, train_idx, mix, cfg.seed)
    pairs = sum(1 for e in examples if e.clean)
    summary = {"kind": "finetune", "train": data_cfg.train, "images": len(examples),
               "val_images": len(val), "classes": [],
               "dataset": f"{len(examples)} examples ({pairs} pairs)"
                          + (f" + {Path(data_cfg.train).name}" if base is not None else ""),
               "val_files": [str(examples[i].input) for i in val_idx]}
    return Data(train, val, [], summary), notes


def _input_channels(base, recipe, data_cfg) -> int:
    """How many channels the parent's inputs have (image + level maps)."""
    if base is not None:
        return int(base.make(0, 0)[0].shape[2])
    planes = 1 if data_cfg.grey else 3
    if recipe is None:
        return planes
    probe = np.zeros((2 * data_cfg.scale * 8,) * 2 + (planes,), np.float32)
    return int(recipe.make_pair(probe, np.random.default_rng(0))[0].shape[2])


