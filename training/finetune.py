"""Fine-tuning a model on the user's own examples: ``finetune_job(FinetuneSpec, control)``.

An examples folder holds

- pairs: ``NAME.png`` (what the model gets) next to ``NAME.clean.png`` (what it should make);
- lone crops: ``NAME.png`` alone. Without a clean reference the crop itself is the target and
  the parent's own degradation recipe (its card's training config) makes the input, so a
  noisy photo teaches the denoiser the look of its content (noise2noise-style for noise).

A fine-tune is an ordinary training run (``training.job``) whose init is the parent model,
with the parent's config and a short schedule at a tenth of its learning rate. Each batch
sample is an example with probability ``mix``, else a pair from the parent's base training
set (so the model does not forget). Validation runs on the examples (their held-out part
when there are enough pairs) and every validation keeps its weights under
``checkpoints/timeline/step_NNNNNNN``: the run's timeline. The registered model's card
names its parent and the examples it learned from. The run config's ``[finetune]`` table
(examples folder, mix, parent) lets ``restorelab train --resume`` rebuild the same data
(``resumed``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from engine import devices
from engine.atomic import write_json
from engine.checkpoints import CARD, build_model, find_model, load_weights, read_card, save_model
from engine.errors import ConfigError
from engine.events import Event, Log, Metric, Saved
from engine.imageio import is_image_path
from engine.levels import UNKNOWN, blur_level_map_value, estimate_blur_sigma

from .config import RunConfig
from .datasets import VAL_KEY, Data, augment, build_data, centre_crop, load_pixels, random_crop, to_tensor
from .degradations import Recipe

CLEAN = ".clean"          # NAME.clean.png is the clean reference of NAME.png
TIMELINE = "timeline"     # checkpoints/timeline/step_NNNNNNN: the weights of every validation
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


@dataclass
class FinetuneSpec:
    model: str                     # the parent: a library model id or folder
    examples: str                  # the examples folder
    minutes: float = 3.0           # stepping-time budget (0 = steps only)
    steps: int = 300               # at most this many steps
    mix: float = 0.5               # share of each batch drawn from the examples
    lr_scale: float = 0.1          # learning rate = the parent's times this
    validations: int = 6           # validations (timeline checkpoints) over the steps
    name: str = ""                 # experiment / model name (default: PARENT-ft)
    device: str = ""               # default: the parent's config's
    overrides: list[str] = field(default_factory=list)   # --set key=value on the run config


# A parent without a training config (an imported model) gets one made from its card:
BASE_PRESETS = {"denoise": "ship-denoise", "super-resolution": "ship-sr-x2"}   # their data.train
NOISE_SIGMA = [5, 50]   # blind AWGN, 0..255 units: the range community denoisers serve
MADE_LR = 2e-4          # Adam's usual lr for these nets; the fine-tune takes lr_scale of it
# card keys that say what an imported net is and under which licence: its fine-tunes keep them
INHERITED = ("architecture_name", "architecture_id", "purpose", "tags", "licence", "tiling", "params")


def has_config(entry) -> bool:
    """Whether a model's card holds the config it trained with."""
    return isinstance(entry.card.get("training"), dict)


def parent_config(entry) -> dict:
    """The parent's training config: its card's, else one made from the card (made_config)."""
    return entry.card["training"] if has_config(entry) else made_config(entry)


def made_config(entry) -> dict:
    """A training config for a model whose card has none (an imported one): its own arch,
    kwargs and weights, a recipe that fits its task (blind Gaussian noise for a denoiser,
    bicubic downscale at its scale for super-resolution, none otherwise: examples only) on
    the base set the app's presets train on, when that folder is here."""
    from engine import registry
    from engine.errors import ModelError

    card = entry.card
    arch, kwargs = card.get("arch", ""), dict(card.get("kwargs") or {})
    try:
        kind = registry.get(arch).kind
    except ModelError:
        kind = ""
    if kind not in ("net", "imported"):
        raise ConfigError(f"model '{entry.id}' has no training config in its card and its "
                          f"architecture '{arch or '?'}' is not one that trains, so it cannot be "
                          f"fine-tuned")
    task = str(card.get("task") or "denoise")
    scale = int(card.get("scale") or kwargs.get("scale") or 1)
    channels = int(kwargs.get("in_channels", 3))
    if channels not in (1, 3) or int(kwargs.get("out_channels", channels)) != channels:
        raise ConfigError(f"model '{entry.id}' maps {channels} channels to "
                          f"{kwargs.get('out_channels')}: only grey or RGB image models fine-tune")
    if task == "denoise" and scale == 1:
        recipe = [{"type": "gaussian_noise", "sigma": list(NOISE_SIGMA)}]
    elif task == "super-resolution" and scale > 1:
        recipe = [{"type": "downscale", "scale": scale, "method": "bicubic"}]
    else:
        recipe = []
    multiple = max(1, int(kwargs.get("size_multiple") or 1))
    side = -(-(32 if scale > 1 else 64) // multiple) * multiple   # input crop side
    data = {"kind": "degrade" if recipe else "paired", "train": base_folder(task) if recipe else "",
            "crop": side * scale, "batch": 8, "scale": scale, "grey": channels == 1,
            "recipe": recipe, "val_count": 4}
    return {"name": entry.id, "task": task, "precision": "fp32",   # any net trains in fp32
            "data": data, "model": {"arch": arch, "kwargs": kwargs, "init": str(entry.path)},
            "loss": {"l1": 1.0}, "optim": {"name": "adam", "lr": MADE_LR},
            "val": {"y_channel": scale > 1}}


def base_folder(task: str) -> str:
    """The clean images the app's preset for ``task`` trains on, if that folder is here."""
    from .config import load_raw

    preset = BASE_PRESETS.get(task)
    folder = load_raw(preset=preset)["data"].get("train", "") if preset else ""
    return folder if folder and Path(folder).is_dir() else ""


def made_note(entry, cfg: RunConfig) -> str:
    """The Log line that says what a made config (made_config) trains on."""
    data = cfg.data
    steps = {"gaussian_noise": lambda r: f"blind Gaussian noise (sigma {_span(r['sigma'])})",
             "downscale": lambda r: f"bicubic x{r['scale']} downscale"}
    recipe = ", ".join(steps.get(r.get("type"), lambda r: str(r.get("type")))(r) for r in data.recipe)
    if cfg.finetune.mix < 1:
        base = f"mixed with the base set {data.dataset or data.train} (examples {cfg.finetune.mix:g})"
    elif not data.recipe:
        base = f"no degradation recipe fits a {cfg.task} x{data.scale} model: the examples alone"
    elif not (data.train or data.dataset):
        base = "no base training set is here: the examples alone"
    else:
        base = "the examples alone (mix 1)"
    return (f"'{entry.id}' has no training config, so one is made from its card: "
            f"{cfg.task} x{data.scale}, inputs by {recipe or 'your pairs'}; {base}; "
            f"{cfg.optim.name} lr {cfg.optim.lr:.2g}")


def _span(value) -> str:
    return "-".join(f"{v:g}" for v in value) if isinstance(value, list) else f"{value:g}"


def finetune_config(entry, spec: FinetuneSpec, examples: int = 0) -> RunConfig:
    """The parent's config with the fine-tune's init, schedule, lr and validation cadence."""
    from .config import apply_overrides

    if not 0 <= spec.mix <= 1:
        raise ConfigError(f"--mix is the examples' share of each batch, in [0, 1]; got {spec.mix}")
    if spec.steps < 1 or spec.minutes < 0 or spec.lr_scale <= 0:
        raise ConfigError("--steps must be >= 1, --minutes >= 0 and the lr scale > 0")
    made = not has_config(entry)
    raw = parent_config(entry)
    cfg = RunConfig.from_dict(raw)
    every = max(1, spec.steps // max(1, spec.validations))
    lr = cfg.optim.lr * spec.lr_scale
    raw = {**cfg.to_dict(), "name": spec.name or f"{entry.id}-ft",
           "description": f"fine-tune of {entry.id} on {examples or 'your'} examples"}
    raw["model"] = {**raw["model"], "init": str(entry.path)}
    raw["optim"] = {**raw["optim"], "lr": lr, "ema": 0.0}
    raw["schedule"] = {**raw["schedule"], "steps": spec.steps, "epochs": 0, "minutes": spec.minutes,
                       "warmup": min(20, spec.steps // 10), "decay": "cosine", "min_lr": lr / 10}
    # validations by steps and, when the budget is time, by time too: a slow machine that
    # runs out of minutes before the steps still gets its timeline
    raw["val"] = {**raw["val"], "every": every,
                  "every_minutes": spec.minutes / max(1, spec.validations) if spec.minutes else 0.0}
    raw["checkpoint"] = {"every": every}
    raw["data"] = {**raw["data"], "workers": 0}
    raw["research"] = {}
    raw["finetune"] = {"examples": str(Path(spec.examples).expanduser().resolve()),
                       "mix": spec.mix, "parent": entry.id}
    if spec.device:
        raw["device"] = spec.device
    raw = apply_overrides(raw, spec.overrides)
    if made and not (raw["data"].get("train") or raw["data"].get("dataset")):
        raw["finetune"]["mix"] = 1.0   # no base set to mix in: the examples alone (made_note)
    return RunConfig.from_dict(raw)


# -- the examples as training data ---------------------------------------------------
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


# -- scoring, the timeline, the job ------------------------------------------------------
@torch.no_grad()
def score(folder: Path, pairs: list, device: str = "cpu") -> float:
    """Mean PSNR (dB) of a model folder's output against the targets of ``pairs``."""
    from .metrics import psnr_torch

    net, spec, _ = build_model(folder)
    net = net.to(device).eval()
    multiple = int(getattr(net, "size_multiple", 0) or spec.size_multiple or 1)
    values = []
    for inp, target in pairs:
        x = to_tensor(inp)[None].to(device)
        h, w = x.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        if ph or pw:
            x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
        out = net(x).float()
        s = max(1, out.shape[-1] // x.shape[-1])
        out = out[..., :h * s, :w * s].clamp(0, 1)
        values.append(float(psnr_torch(out, to_tensor(target)[None].to(device))))
    return float(np.mean(values)) if values else math.nan


def timeline(experiment: str | Path) -> list[dict]:
    """The kept checkpoints of a fine-tune: [{step, psnr, path}], by step."""
    root = Path(experiment) / "checkpoints" / TIMELINE
    out = []
    for folder in sorted(root.glob("step_*")) if root.is_dir() else []:
        card = read_card(folder)
        out.append({"step": int(card.get("step", 0)), "psnr": card.get("metrics", {}).get("psnr"),
                    "path": str(folder)})
    return out


def _keep(checkpoint: str, step: int, metrics: dict) -> Path:
    """Copy the checkpoint just saved into the timeline (weights and card, no optimizer state)."""
    arch, kwargs, weights = load_weights(Path(checkpoint))
    root = Path(checkpoint).parent / TIMELINE
    entry = save_model(f"step_{step:07d}", weights, arch, kwargs,
                       {"step": step, "metrics": dict(metrics)}, root=root)
    return entry.path


class _Returning:
    """Iterate a generator and keep what it returns (``yield from`` would hide its events)."""

    def __init__(self, gen) -> None:
        self.gen, self.value = gen, None

    def __iter__(self):
        try:
            self.value = yield from self.gen
        finally:
            self.gen.close()


def finetune_card(cfg: RunConfig, examples: list[Example], **finetune) -> dict:
    """The keys a fine-tune adds to its model's card: parent, examples, how it mixed them."""
    ft = cfg.finetune
    return {"parent": ft.parent, "examples": [e.describe() for e in examples],
            "examples_dir": ft.examples,
            "finetune": {"mix": ft.mix, "lr": cfg.optim.lr, **finetune}}


def inherited(card: dict) -> dict:
    """What a fine-tune's card keeps of its parent's: the imported net's identity and licence."""
    return {k: card[k] for k in INHERITED if k in card}


def resumed(spec, exp):
    """A resume of fine-tune experiment ``exp`` (``spec`` from training.resumable): the same
    examples mixed into the base set at the same share, with the same split (both follow
    the config's seed), and the card its model had."""
    from dataclasses import replace

    cfg = spec.config
    try:
        examples = scan_examples(cfg.finetune.examples)
    except ConfigError as err:
        raise ConfigError(f"{err}: experiment {exp.number} is a fine-tune on those examples; put "
                          f"them back, or go on with the base data alone "
                          f"(--set finetune.examples='')") from None

    def data(data_cfg, seed, val_crop):
        return build_finetune_data(replace(cfg, data=data_cfg, seed=seed), examples,
                                   cfg.finetune.mix, val_crop)[0]

    before = find_model(exp.meta.get("model") or "")
    kept = before.card.get("finetune", {}) if before is not None else {}
    card = finetune_card(cfg, examples, **{k: v for k, v in kept.items() if k not in ("mix", "lr")})
    source = before or find_model(cfg.finetune.parent)
    lineage = inherited(source.card) if source is not None else {}
    return replace(spec, data=data, card={**spec.card, **lineage, **card})


def finetune_job(spec: FinetuneSpec, control) -> Iterator[Event]:
    from .job import TrainSpec, train_job

    parent = find_model(spec.model)
    if parent is None:
        raise ConfigError(f"no model named '{spec.model}' (see `restorelab models list`)")
    examples = scan_examples(spec.examples)
    cfg = finetune_config(parent, spec, len(examples))
    if not has_config(parent):
        yield Log("info", made_note(parent, cfg))
    val_crop = cfg.val.crop or 2 * cfg.data.crop
    data, notes = build_finetune_data(cfg, examples, cfg.finetune.mix, val_crop)
    for note in notes:
        yield Log("warning", note)
    device = devices.resolve(cfg.device)
    before = score(parent.path, data.val, device)
    yield Log("info", f"{len(examples)} examples; the parent '{parent.id}' scores "
                      f"{before:.2f} dB on the {len(data.val)} validation example(s)")
    yield Metric(0, "val/psnr", before)
    card = {**inherited(parent.card), **finetune_card(cfg, examples, parent_psnr=round(before, 4))}
    train = TrainSpec(cfg, experiment_name=cfg.name, data=lambda *_: data, card=card)
    run = _Returning(train_job(train, control))
    val: dict = {}
    kept: list[tuple[int, Path]] = []
    for event in run:
        if isinstance(event, Metric) and event.name.startswith("val/"):
            if val.get("_step") != event.step:
                val = {"_step": event.step}
            val[event.name.removeprefix("val/")] = event.value
        if isinstance(event, Saved) and event.kind == "checkpoint":
            step = int(read_card(Path(event.path)).get("step", 0))
            metrics = {k: v for k, v in val.items() if k != "_step"} if val.get("_step") == step else {}
            kept.append((step, _keep(event.path, step, metrics)))
        yield event
    result = run.value or {}
    # the final validation comes after the last checkpoint: its scores go on that entry's card
    if kept and val.get("_step") == kept[-1][0]:
        folder = kept[-1][1]
        write_json(folder / CARD, {**read_card(folder), "metrics":
                                   {k: v for k, v in val.items() if k != "_step"}})
    line = timeline(result["path"]) if result.get("path") else []
    return {**result, "parent": parent.id, "parent_psnr": before, "timeline": line,
            "examples": len(examples)}


def register_checkpoint(model: str, checkpoint: str | Path):
    """Put one timeline checkpoint of fine-tune ``model`` in the library as a model of its own
    (the run registered its best one; the user may prefer another step). Its card is the
    run model's card (parent, examples, training) with that step's scores."""
    entry = find_model(model)
    if entry is None:
        raise ConfigError(f"no model named '{model}' (see `restorelab models list`)")
    folder = Path(checkpoint)
    arch, kwargs, weights = load_weights(folder)
    step_card = read_card(folder)
    step = int(step_card.get("step", 0))
    keep = {k: v for k, v in entry.card.items()
            if k not in ("name", "title", "created", "sha256", "arch", "kwargs", "best")}
    card = {**keep, "steps": step, "metrics": step_card.get("metrics", {}),
            "checkpoint_of": entry.id}
    return save_model(f"{entry.id}-step{step}", weights, arch, kwargs, card)
