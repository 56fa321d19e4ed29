"""Run configs: one TOML file describes a training run (see docs/training.md).

``load_run(path_or_preset, overrides)`` reads a TOML file or a built-in preset,
applies ``--set a.b=value`` overrides and checks every key. Relative paths
resolve against the config file's folder (presets: the repository root, so
``../shared/data/train`` works); paths given in overrides resolve against the
current directory. The result is a :class:`RunConfig` of plain dataclasses;
``to_dict()`` gives back the TOML-ready dict saved with every run.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import paths
from engine.errors import ConfigError

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
LOOPS = ("supervised", "adversarial", "classify")
DATA_KINDS = ("degrade", "paired", "labelled")
DECAYS = ("none", "cosine", "step", "exponential")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PATH_KEYS = ("train", "target", "val", "val_target")
RESEARCH_PATH_KEYS = ("source", "anomaly")


@dataclass
class DataConfig:
    kind: str = "degrade"          # degrade | paired | labelled
    dataset: str = ""              # a named dataset (`restorelab datasets add`) instead of train/target
    train: str = ""                # clean images (degrade), inputs (paired), class folders (labelled)
    target: Any = ""               # paired: target folder, or a list of folders stacked as channels
    val: str = ""                  # optional validation folder (else a split of train)
    val_target: Any = ""           # paired: targets of ``val``
    val_split: float = 0.1         # fraction of train held out when ``val`` is empty
    val_count: int = 8             # at most this many validation images
    crop: int = 64                 # target-side crop size
    batch: int = 16
    workers: int = 0               # DataLoader worker processes
    cache: bool = True             # keep decoded images in memory
    augment: bool = True           # random flips and 90-degree rotations
    scale: int = 1                 # SR factor: input crop = crop / scale
    grey: bool = False             # train on one channel
    max_images: int = 0            # 0 = all
    recipe: list = field(default_factory=list)


@dataclass
class ModelConfig:
    arch: str = "dncnn"
    kwargs: dict = field(default_factory=dict)
    init: str = ""                 # a library model id to fine-tune


@dataclass
class OptimConfig:
    name: str = "adam"             # adam | adamw
    lr: float = 1e-3
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    grad_clip: float = 0.0         # max grad norm, 0 = off
    ema: float = 0.0               # EMA decay (e.g. 0.999), 0 = off


@dataclass
class ScheduleConfig:
    steps: int = 1000
    epochs: int = 0                # > 0: steps = epochs * ceil(train images / batch)
    warmup: int = 0                # linear warmup steps
    minutes: float = 0.0           # > 0: also stop after this much stepping time; the decay follows
                                   # whichever of steps and minutes runs out first
    decay: str = "cosine"          # none | cosine | step | exponential
    min_lr: float = 1e-6
    gamma: float = 0.5             # step/exponential factor per ``step_every`` (exponential 0: reach min_lr)
    step_every: int = 1000
    clock: str = "wall"            # what minutes count: wall time, or this process's CPU time
                                   # ("cpu": fair budgets on a shared machine, e.g. benchmarks)


@dataclass
class ValConfig:
    every: int = 0                 # steps between validations, 0 = only at the end
    every_minutes: float = 0.0     # also validate (and checkpoint) after this much stepping time
    crop: int = 0                  # centre crop of validation targets, 0 = 2 x data.crop
    y_channel: bool = False        # PSNR/SSIM on luma (SR convention)
    border: int = -1               # pixels cut from each side, -1 = the SR scale (1 -> 0)
    previews: int = 2              # validation images shown as previews


@dataclass
class AdversarialConfig:
    disc: str = "patchgan"
    disc_kwargs: dict = field(default_factory=dict)
    lr: float = 1e-4
    betas: list = field(default_factory=lambda: [0.5, 0.999])
    gan: str = "lsgan"             # lsgan | vanilla | hinge
    weight: float = 0.05           # generator's GAN term weight
    stepper: float = 0.0           # skip the D step while its last loss < this (0 = never)


@dataclass
class WatchdogConfig:
    enabled: bool = True
    max_loss: float = 50.0         # a loss above this counts as exploding
    max_rollbacks: int = 10
    lr_factor: float = 0.5         # lr multiplier after each rollback
    snapshot_every: int = 100      # steps between in-memory snapshots of good states
    inject_nan: list = field(default_factory=list)  # testing: make the loss NaN at these steps


@dataclass
class CheckpointConfig:
    every: int = 500               # steps between checkpoints, 0 = only at the end / stop


@dataclass
class ResearchConfig:
    """Reproductions of the seed notes (training.research, docs/experiments.md)."""
    generate: str = ""             # "" | labelled | composites | realsr: data made once into the cache
    source: str = ""               # images the generator draws from (backgrounds, noise patches)
    count: int = 0                 # generated images, 0 = the generator's default
    size: int = 0                  # generated image side, 0 = the generator's default
    report: list = field(default_factory=list)    # measures after the run (training.research.report)
    reported: dict = field(default_factory=dict)  # the original's figures, kept beside ours
    anomaly: str = "defects"       # anomaly measure: "defects" (val images + pasted defects) or a folder


@dataclass
class FinetuneConfig:
    """A fine-tune's own data (training.finetune), so a resume rebuilds the same stream."""
    examples: str = ""             # the examples folder mixed in; "" = not a fine-tune
    mix: float = 0.5               # share of each batch drawn from the examples
    parent: str = ""               # the parent model's id


@dataclass
class RunConfig:
    name: str = "run"
    description: str = ""
    task: str = "denoise"
    loop: str = "supervised"       # supervised | adversarial | classify
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"        # auto | fp32 | bf16 | fp16
    deterministic: bool = False
    threads: int = 0               # CPU threads, 0 = torch default
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: dict = field(default_factory=lambda: {"l1": 1.0})
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    val: ValConfig = field(default_factory=ValConfig)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    research: ResearchConfig = field(default_factory=ResearchConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    @classmethod
    def from_dict(cls, raw: dict) -> "RunConfig":
        cfg = _build(cls, raw, "")
        _check(cfg)
        return cfg

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())


def _build(cls, raw: Any, where: str):
    """Instantiate a config dataclass from a dict, checking names and value types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"[{where or 'top level'}] must be a table, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(fields)})"
            raise ConfigError(f"unknown config key '{name}'{hint}")
        f = fields[key]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(default):
            values[key] = _build(type(default), value, name)
        else:
            values[key] = _coerce(value, default, name)
    return cls(**values)


def _coerce(value: Any, default: Any, name: str) -> Any:
    """Check ``value`` against the type of the field's default (int -> float is allowed)."""
    if name in ("data.target", "data.val_target"):   # a folder or a list of folders
        if isinstance(value, (str, list)):
            return value
        raise ConfigError(f"'{name}' must be a folder or a list of folders, got {value!r}")
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"'{name}' must be {type(default).__name__}, got {value!r}")
    return value


def _check(cfg: RunConfig) -> None:
    def one_of(value, choices, name):
        if value not in choices:
            raise ConfigError(f"'{name}' must be one of {', '.join(choices)}, got '{value}'")

    def positive(value, name, zero_ok=False):
        if not (value > 0 or (zero_ok and value == 0)) or not math.isfinite(value):
            raise ConfigError(f"'{name}' must be {'>= 0' if zero_ok else '> 0'}, got {value}")

    one_of(cfg.loop, LOOPS, "loop")
    one_of(cfg.data.kind, DATA_KINDS, "data.kind")
    one_of(cfg.schedule.decay, DECAYS, "schedule.decay")
    one_of(cfg.precision, PRECISIONS, "precision")
    one_of(cfg.optim.name, ("adam", "adamw"), "optim.name")
    one_of(cfg.adversarial.gan, ("lsgan", "vanilla", "hinge"), "adversarial.gan")
    if (cfg.loop == "classify") != (cfg.data.kind == "labelled"):
        raise ConfigError("loop 'classify' goes with data.kind 'labelled' (and only with it)")
    for name in ("crop", "batch", "scale"):
        positive(getattr(cfg.data, name), f"data.{name}")
    for name in ("workers", "max_images", "val_count"):
        positive(getattr(cfg.data, name), f"data.{name}", zero_ok=True)
    if cfg.data.crop % cfg.data.scale:
        raise ConfigError(f"data.crop ({cfg.data.crop}) must be a multiple of data.scale ({cfg.data.scale})")
    if not 0 <= cfg.finetune.mix <= 1:
        raise ConfigError(f"finetune.mix is the examples' share of each batch, in [0, 1]; "
                          f"got {cfg.finetune.mix}")
    if not 0 <= cfg.data.val_split < 1:
        raise ConfigError(f"data.val_split must be in [0, 1), got {cfg.data.val_split}")
    positive(cfg.optim.lr, "optim.lr")
    positive(cfg.adversarial.lr, "adversarial.lr")
    for where, betas in (("optim", cfg.optim.betas), ("adversarial", cfg.adversarial.betas)):
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ConfigError(f"{where}.betas must be two numbers in [0, 1), got {betas!r}")
    if not 0 <= cfg.optim.ema < 1:
        raise ConfigError(f"optim.ema is a decay in [0, 1), got {cfg.optim.ema}")
    positive(cfg.schedule.steps, "schedule.steps", zero_ok=cfg.schedule.epochs > 0)
    for name in ("epochs", "warmup", "minutes"):
        positive(getattr(cfg.schedule, name), f"schedule.{name}", zero_ok=True)
    positive(cfg.schedule.step_every, "schedule.step_every")
    if cfg.schedule.clock not in ("wall", "cpu"):
        raise ConfigError(f"schedule.clock is 'wall' or 'cpu', got {cfg.schedule.clock!r}")
    positive(cfg.val.every_minutes, "val.every_minutes", zero_ok=True)
    positive(cfg.watchdog.lr_factor, "watchdog.lr_factor")
    if not isinstance(cfg.loss, dict) or not cfg.loss:
        raise ConfigError("[loss] needs at least one term, e.g. l1 = 1.0")
    if not isinstance(cfg.data.recipe, list) or not all(isinstance(r, dict) for r in cfg.data.recipe):
        raise ConfigError("data.recipe must be a list of tables, e.g. [{type = 'gaussian_noise', sigma = 25}]")
    _check_research(cfg.research)
    if cfg.data.kind == "degrade" and cfg.data.scale > 1 and not any(
            r.get("type") == "downscale" for r in cfg.data.recipe):
        raise ConfigError("data.scale > 1 needs a 'downscale' step in data.recipe")


def _check_research(res: ResearchConfig) -> None:
    from .research import GENERATORS, MEASURES   # torch-free

    if res.generate and res.generate not in GENERATORS:
        raise ConfigError(f"'research.generate' must be one of {', '.join(GENERATORS)}, got '{res.generate}'")
    unknown = [m for m in res.report if m not in MEASURES]
    if unknown:
        raise ConfigError(f"research.report: unknown measure(s) {', '.join(map(str, unknown))} "
                          f"(known: {', '.join(MEASURES)})")
    if res.count < 0 or res.size < 0:
        raise ConfigError("research.count and research.size must be >= 0")


# -- loading, overrides, presets -------------------------------------------------
def parse_value(text: str) -> Any:
    """A --set value: TOML if it parses (numbers, booleans, lists, inline tables), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict, overrides: list[str] | None) -> dict:
    """A copy of ``raw`` with each ``a.b.c=value`` set (tables are created as needed)."""
    out = copy.deepcopy(raw)
    for item in overrides or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: '{part}' is not a table")
        node[parts[-1]] = parse_value(text.strip())
    return out


def resolve_paths(raw: dict, base: Path) -> dict:
    """Make data folders (recipe folder/path/paths entries, research folders) absolute against ``base``."""
    out = copy.deepcopy(raw)

    def fix(value):
        if isinstance(value, str) and value:
            return str((base / Path(value).expanduser()).resolve())
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    research = out.get("research")
    if isinstance(research, dict):   # "defects" is a built-in anomaly source, not a folder
        for key in RESEARCH_PATH_KEYS:
            if key in research and research[key] != "defects":
                research[key] = fix(research[key])
    data = out.get("data")
    if not isinstance(data, dict):
        return out

    for key in PATH_KEYS:
        if key in data:
            data[key] = fix(data[key])
    for step in data.get("recipe") or []:
        for key in ("folder", "path", "paths"):
            if isinstance(step, dict) and isinstance(step.get(key), (str, list)):
                step[key] = fix(step[key])
    return out


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None


def list_presets() -> dict[str, str]:
    """Built-in presets: name -> description (every *.toml in training/presets)."""
    out = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        try:
            out[path.stem] = str(read_toml(path).get("description", ""))
        except ConfigError as err:
            out[path.stem] = f"(broken: {err})"
    return out


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.toml"
    if not path.exists():
        raise ConfigError(f"no preset named '{name}' (known: {', '.join(list_presets()) or 'none'})")
    return path


def load_raw(source: str | Path | None = None, *, preset: str | None = None,
             overrides: list[str] | None = None, cwd: Path | None = None) -> dict:
    """The raw dict of a config file or preset, with paths resolved and overrides applied."""
    if (source is None) == (preset is None):
        raise ConfigError("give a config file or a preset (not both)")
    if preset is not None:
        raw = resolve_paths(read_toml(preset_path(preset)), paths.PACKAGE_ROOT)
        raw.setdefault("name", preset)
    else:
        path = Path(source).expanduser().resolve()
        raw = resolve_paths(read_toml(path), path.parent)
    raw = apply_overrides(raw, overrides)
    return resolve_paths(raw, cwd or Path.cwd())


def load_run(source: str | Path | None = None, *, preset: str | None = None,
             overrides: list[str] | None = None) -> RunConfig:
    """Load, override and check a run config."""
    return RunConfig.from_dict(load_raw(source, preset=preset, overrides=overrides))
