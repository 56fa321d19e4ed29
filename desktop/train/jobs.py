"""Jobs of the Train, Datasets and Experiments pages (run on the engine's Runner).

Everything heavy (torch, cv2, the training package) is imported inside the
jobs, on the worker thread. Jobs run on lanes (the Runner's per-device
queues) so a quick render never waits behind a training run that takes hours.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np

from engine.events import Event, Progress

TRAIN_LANE = "train"      # training runs, one after another
QUICK_LANE = "preview"    # catalog, recipe previews, parameter counts
LIBRARY_LANE = "library"  # dataset and experiment reads and writes
LOSS_TERMS = ("l1", "mse", "charbonnier", "ssim", "ms_ssim", "edge", "frequency", "perceptual",
              "gan")  # what training.losses accepts (that module imports torch)


def as_job(fn):
    """Turn ``fn(spec) -> result`` into a job (a generator with no events)."""
    def job(spec, control):
        return fn(spec)
        yield  # noqa: unreachable; makes ``job`` a generator
    job.__name__ = fn.__name__
    job.__doc__ = fn.__doc__
    return job


# -- what the form offers ----------------------------------------------------------
@as_job
def catalog_job(_spec) -> dict:
    """Presets (raw dicts), trainable architectures and degradation types with their options."""
    import dataclasses

    from engine import registry
    from engine.errors import ConfigError
    from training.config import DECAYS, RunConfig, list_presets, load_raw
    from training.degradations import REGISTRY

    presets = {}
    for name, description in list_presets().items():
        try:
            presets[name] = (description, load_raw(preset=name))
        except ConfigError as err:
            presets[name] = (f"(broken: {err})", {})
    archs = {s.id: {"title": s.title, "tasks": list(s.tasks), "defaults": dict(s.defaults)}
             for s in registry.all_specs(kind="net")}
    degradations = {}
    for name, cls in sorted(REGISTRY.items()):
        options = {}
        for f in dataclasses.fields(cls):
            if f.init:
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                options[f.name] = default
        degradations[name] = {"options": options, "applies_to": cls.applies_to,
                              "doc": (cls.__doc__ or "").strip().splitlines()[0:1]}
    return {"presets": presets, "archs": archs, "degradations": degradations,
            "decays": list(DECAYS), "losses": list(LOSS_TERMS), "defaults": RunConfig().to_dict()}


# -- recipe previews ------------------------------------------------------------------
@dataclass(frozen=True)
class PairsSpec:
    recipe: tuple          # degradation dicts
    folder: str            # clean images
    n: int = 4
    crop: int = 64
    seed: int = 0
    grey: bool = False
    columns: int = 1


_crops_lock = threading.Lock()
_crops: dict[tuple, list] = {}


def _clean_crops(spec: PairsSpec) -> list[np.ndarray]:
    """Random crops of the first images of a folder (cached: editing a recipe re-renders fast)."""
    from engine.errors import ConfigError
    from training.datasets import image_files, load_pixels, random_crop

    key = (spec.folder, spec.n, spec.crop, spec.seed, spec.grey)
    with _crops_lock:
        if key in _crops:
            return _crops[key]
    rng = np.random.default_rng(spec.seed)
    files = image_files(spec.folder, max(1, spec.n))
    if not files:
        raise ConfigError(f"no images in {spec.folder}")
    mode = "grey" if spec.grey else "rgb"
    crops = [random_crop([load_pixels(p, mode)], spec.crop, 1, rng)[0] for p in files]
    with _crops_lock:
        if len(_crops) > 16:
            _crops.clear()
        _crops[key] = crops
    return crops


def pairs_job(spec: PairsSpec, control):
    """A contact sheet (uint8 RGB) of n (input | target) pairs the recipe makes."""
    from engine.errors import ConfigError
    from training.degradations import Recipe, preview_grid

    recipe = Recipe.from_list([dict(step) for step in spec.recipe])  # a bad step fails fast
    if not spec.folder:
        raise ConfigError("choose a folder of clean images (or a named dataset) to preview pairs")
    yield Progress(0, 1, "reading images")
    crops = _clean_crops(spec)
    grid = preview_grid(recipe, crops, spec.n, np.random.default_rng(spec.seed + 1))
    return in_columns(grid, spec.n, spec.columns)


def in_columns(grid: np.ndarray, n: int, columns: int, gap: int = 4) -> np.ndarray:
    """preview_grid's n rows (``gap`` px apart) laid out side by side in ``columns`` bands."""
    columns = max(1, min(columns, n))
    if columns == 1:
        return grid
    h = (grid.shape[0] + gap) // n
    rows = [grid[i * h:i * h + h - gap] for i in range(n)]
    rows += [np.zeros_like(rows[0])] * (-n % columns)
    per = len(rows) // columns
    padded = [np.pad(r, ((0, gap), (0, 0), (0, 0))) for r in rows]
    bands = [np.concatenate(padded[c * per:(c + 1) * per])[:-gap] for c in range(columns)]
    spacer = np.zeros((bands[0].shape[0], 3 * gap, 3), np.uint8)
    out = [bands[0]]
    for band in bands[1:]:
        out += [spacer, band]
    return np.concatenate(out, axis=1)


@as_job
def params_job(spec: tuple[str, dict]) -> int:
    """Parameter count of an architecture with kwargs (builds it on the CPU)."""
    from engine import registry
    from engine.archinfo import count_params

    arch, kwargs = spec
    return count_params(registry.get(arch).build(**kwargs))


# -- training -----------------------------------------------------------------------
@dataclass(frozen=True)
class History(Event):
    """What a resumed run did before: curves (name -> (steps, values)) and previews."""
    curves: dict = field(default_factory=dict)
    rollbacks: tuple = ()
    previews: tuple = ()      # (step, {"input", "output", "target"}) pairs


@dataclass(frozen=True)
class RunRequest:
    raw: dict | None = None      # a config dict to start a new run from
    resume: str = ""             # or an experiment (number, name or folder) to continue
    overrides: tuple = ()        # for resume: key=value, e.g. "schedule.steps=2000"
    name: str | None = None


def train_run_job(req: RunRequest, control):
    """Start or resume a run (the engine registers stopped runs' weights as models too)."""
    from training.config import RunConfig
    from training.job import TrainSpec, train_job
    from training.resumable import resume_job, resume_spec

    if req.resume:   # a resumed fine-tune goes on adding to its timeline (resume_job)
        spec = resume_spec(req.resume, list(req.overrides))
        yield history(spec.resume, _checkpoint_step(spec.resume))
        return (yield from resume_job(spec, control))
    spec = TrainSpec(RunConfig.from_dict(req.raw), experiment_name=req.name)
    return (yield from train_job(spec, control))  # a stopped run registers its model too


def _checkpoint_step(folder: str) -> int | None:
    from engine.checkpoints import read_card
    from training.experiments import Experiment

    step = read_card(Experiment(Path(folder)).checkpoint).get("step")
    return int(step) if step is not None else None


# -- experiment history -------------------------------------------------------------
def read_curves(folder: str, max_step: int | None = None) -> tuple[dict, list]:
    """(name -> (steps, values) arrays, rollback steps) from an experiment's metrics.jsonl."""
    from training.experiments import Experiment

    cols: dict[str, tuple[list, list]] = {}
    rollbacks = []
    for row in Experiment(Path(folder)).metrics():
        step = row.get("step")
        if not isinstance(step, (int, float)) or (max_step is not None and step > max_step):
            continue
        if row.get("event") == "rollback":   # the steps after the snapshot were undone
            back = row.get("to_step", step)
            rollbacks.append(back)
            for xs, ys in cols.values():
                while xs and xs[-1] > back:
                    xs.pop()
                    ys.pop()
            continue
        for name, value in row.items():
            if name != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                xs, ys = cols.setdefault(name, ([], []))
                xs.append(step)
                ys.append(value)
    curves = {k: (np.asarray(xs, np.float64), np.asarray(ys, np.float64))
              for k, (xs, ys) in cols.items()}
    return curves, rollbacks


def saved_previews(folder: str, max_step: int | None = None, limit: int = 200) -> list:
    """The (step, images) previews an experiment saved (PNG strips input | output | target)."""
    from engine.imageio import read_image

    out = []
    for path in sorted((Path(folder) / "previews").glob("step_*.png"))[-limit:]:
        try:
            step = int(path.stem.split("_")[1])
            if max_step is not None and step > max_step:
                continue
            strip = np.clip(np.rint(read_image(path).pixels * 255), 0, 255).astype(np.uint8)
        except (ValueError, OSError, IndexError):
            continue
        w = (strip.shape[1] - 8) // 3   # three equal panels, 4 px apart
        if w > 0:
            out.append((step, {k: np.ascontiguousarray(strip[:, i * (w + 4):i * (w + 4) + w])
                               for i, k in enumerate(("input", "output", "target"))}))
    return out


def history(folder: str, max_step: int | None = None) -> History:
    curves, rollbacks = read_curves(folder, max_step)
    return History(curves, tuple(rollbacks), tuple(saved_previews(folder, max_step)))


@as_job
def curves_job(folders: tuple[str, ...]) -> dict[str, tuple[dict, list]]:
    return {f: read_curves(f) for f in folders}


# -- named datasets ---------------------------------------------------------------
@as_job
def list_datasets_job(_spec) -> list[dict]:
    """Named datasets with their image count and size on disk (missing folders say so)."""
    from engine.errors import ConfigError
    from training.datasets import image_files, list_named

    out = []
    for entry in list_named():
        entry = dict(entry)
        try:
            files = image_files(entry.get("train", ""))
            for target in entry.get("target") or []:
                files += image_files(target)
            entry["bytes"] = sum(p.stat().st_size for p in files)
            entry["files"] = len(files)
        except (ConfigError, OSError) as err:
            entry["error"] = entry.get("error") or str(err)
        out.append(entry)
    return out


def add_dataset_job(spec: dict, control):
    from training.datasets import add_named

    yield Progress(0, 1, "copying images" if spec.get("copy") else "counting images")
    return add_named(**spec)


@as_job
def remove_dataset_job(name: str) -> str:
    from training.datasets import remove_named

    remove_named(name)
    return name


def short_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def short_count(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)
