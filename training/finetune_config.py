"""What a fine-tune runs: ``FinetuneSpec`` and the run config made from the parent's (or,
for an imported model without one, from its card)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError

from .config import RunConfig

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
