"""The training job: ``train_job(TrainSpec, control)``, a generator of engine events.

The same job runs in the CLI (``restorelab train``), in the GUI (through the
engine's runner) and under torchrun (``training.run``). It creates or reopens
an experiment folder, builds data and loop, then steps: per-step Metric and
Progress events, validation with Preview events, atomic checkpoints, watchdog
rollbacks. Stop (``control.stop()``) saves a checkpoint and returns; resume
continues bit-for-bit (step, optimizer, EMA, scaler, lr multiplier, torch RNG,
and the data stream position). At the end the model (EMA weights when EMA is
on) is saved in the user model library with a card holding its metrics.
"""
from __future__ import annotations

import math
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from engine import devices, paths
from engine.checkpoints import find_model, load_train_state, load_weights, read_card, save_model, slug
from engine.errors import ConfigError
from engine.events import Event, Log, Metric, Preview, Progress, Rollback, Saved
from engine.jobs import Control

from . import experiments, research
from .resumable import registration_pending
from .config import RunConfig
from .datasets import build_data, steps_per_epoch
from .loops import Loop, build_loop
from .watchdog import Snapshot, Watchdog


@dataclass
class TrainSpec:
    config: RunConfig
    resume: str | None = None            # experiment number, name or folder to continue
    experiment_name: str | None = None   # default: config.name
    data: Callable | None = None         # builds the Data instead of build_data (fine-tunes mix examples in)
    card: dict = field(default_factory=dict)   # extra keys of the registered model's card


def dist_info() -> tuple[int, int]:
    """(rank, world size) under torch.distributed, else (0, 1)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _setup_torch(cfg: RunConfig) -> bool:
    """Seed, threads, determinism; returns the previous determinism setting to restore."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        devices.set_threads(cfg.threads)
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = not cfg.deterministic
    torch.backends.cudnn.deterministic = cfg.deterministic
    return before


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _Run:
    """The mutable state of one run, and the writes only rank 0 does."""

    def __init__(self, cfg: RunConfig, loop: Loop, exp, rank: int) -> None:
        self.cfg, self.loop, self.exp, self.rank = cfg, loop, exp, rank
        self.step = self.cursor = 0
        self.watchdog = Watchdog(cfg.watchdog, self.disk_snapshot)
        self.last_val: dict[str, float] = {}
        self.last_loss = math.nan
        self.extra: dict[str, float] = {}   # research measures of the finished model
        self.rng: dict | None = None   # RNG state of a resumed checkpoint
        self.best: dict = {}            # {"step", "psnr"} of the best validation so far
        self.train_s = 0.0              # seconds spent stepping, over all sessions of the run
        self.session_s0 = 0.0           # train_s when this session started (time budgets count from it)
        self.last_val_s = 0.0           # train_s at the last validation (val.every_minutes)
        self.registered = False         # a resumed run had registered its model already

    def train_state(self) -> dict:
        return {"step": self.step, "cursor": self.cursor, "loop": self.loop.state_dict(),
                "rng": _rng_state(), "watchdog": self.watchdog.state_dict(), "best": self.best,
                "train_s": self.train_s}

    def save_checkpoint(self) -> Iterator[Event]:
        self.watchdog.keep(self.step, self.loop.full_state, force=True)
        if self.exp is None:
            return
        entry = save_model("last", self.loop.net.state_dict(), self.cfg.model.arch, self.loop.kwargs,
                           {"step": self.step, "experiment": self.exp.number, "task": self.cfg.task},
                           root=self.exp.path / "checkpoints", train_state=self.train_state())
        self.exp.update(step=self.step, results=self.results())
        yield Saved(str(entry.path), "checkpoint")

    def disk_snapshot(self) -> Snapshot | None:
        if self.exp is None or not self.exp.checkpoint.exists():
            return None
        state = load_train_state(self.exp.checkpoint)
        _, _, weights = load_weights(self.exp.checkpoint)
        return Snapshot(int(state["step"]), {**state["loop"], "net": weights})

    def restore(self, ref: str) -> None:
        """Load a checkpoint to resume from (RNG state is set by the caller, later)."""
        exp = experiments.find(ref)
        exp.require_resumable()
        self.exp = exp if self.rank == 0 else None
        self.registered = not registration_pending(exp)
        folder = exp.checkpoint
        state = load_train_state(folder)
        _, _, weights = load_weights(folder)
        self.loop.net.load_state_dict(weights)
        self.loop.load_state_dict(state["loop"])
        self.step, self.cursor = int(state["step"]), int(state["cursor"])
        self.watchdog.load_state_dict(state["watchdog"])
        self.rng = state["rng"]
        self.best = dict(state.get("best") or {})
        self.train_s = float(state.get("train_s", 0.0))
        if self.exp is not None:
            self.exp.truncate_metrics(self.step)

    def results(self) -> dict:
        out = {k.removeprefix("val/"): round(v, 4) for k, v in self.last_val.items()}
        if math.isfinite(self.last_loss):
            out["loss"] = round(self.last_loss, 6)
        return {**out, **self.extra}

    def best_folder(self):
        return self.exp.path / "checkpoints" / "best" if self.exp is not None else None

    def keep_best(self, metrics: dict) -> Iterator[Event]:
        """Keep the published weights of the best validation PSNR so far (checkpoints/best)."""
        value = metrics.get("val/psnr", -math.inf)
        if self.exp is None or not math.isfinite(value) or value <= self.best.get("psnr", -math.inf):
            return
        self.best = {"step": self.step, "psnr": float(value)}
        entry = save_model("best", self.loop.final_weights(), self.cfg.model.arch, self.loop.kwargs,
                           {"step": self.step, "experiment": self.exp.number, "task": self.cfg.task,
                            "metrics": {k.removeprefix("val/"): v for k, v in metrics.items()}},
                           root=self.exp.path / "checkpoints")
        yield Saved(str(entry.path), "best")

    def validate(self, pairs) -> Iterator[Event]:
        metrics, previews = self.loop.validate(pairs)
        yield from self.keep_best(metrics)
        self.last_val = metrics
        for name, value in metrics.items():
            yield Metric(self.step, name, value)
        if self.exp is not None:
            self.exp.log(self.step, {**metrics, "train_s": round(self.train_s, 1)})
            if previews:
                self.exp.save_preview(self.step, previews)
        if previews:
            yield Preview(self.step, previews)


def train_job(spec: TrainSpec, control: Control) -> Iterator[Event]:
    cfg = spec.config
    rank, world = dist_info()
    deterministic_before = _setup_torch(cfg)
    run = None
    alive = ExitStack()   # the experiment's heartbeat, while this job runs
    try:
        device = devices.resolve(cfg.device)
        yield Log("info", f"training '{cfg.name}' on {devices.describe(device)}")
        yield Progress(0, 1, "reading images")
        val_crop = cfg.val.crop or 2 * cfg.data.crop
        data_cfg = yield from research.prepare(cfg)   # generated data fills empty folders
        data = (spec.data or build_data)(data_cfg, cfg.seed, val_crop)
        first = data.val[0]
        channels = (first[0].shape[2], first[1].shape[2] if cfg.loop != "classify" else 0)
        loop = build_loop(cfg, device, channels, world, classes=len(data.classes))
        if spec.resume:
            run = _Run(cfg, loop, None, rank)
            run.restore(spec.resume)
        else:
            exp = None
            if rank == 0:
                exp = experiments.create(cfg.to_dict(), spec.experiment_name or cfg.name,
                                         cfg.description, data.summary["dataset"])
                yield Log("info", f"experiment {exp.number}: {exp.path}")
            run = _Run(cfg, loop, exp, rank)
        if run.exp is not None:
            alive.enter_context(run.exp.heartbeat())
        yield from _train(run, data, control, device, world)
        return (yield from _finish(run, data, control, spec))
    except GeneratorExit:
        if run is not None and run.exp is not None:
            run.exp.update(status="aborted", step=run.step)
        raise
    except Exception as err:
        if run is not None and run.exp is not None:
            run.exp.update(status="failed", step=run.step, error=str(err)[:500])
        raise
    finally:
        alive.close()
        torch.use_deterministic_algorithms(deterministic_before)


def _train(run: _Run, data, control: Control, device: str, world: int) -> Iterator[Event]:
    cfg, loop = run.cfg, run.loop
    rank = run.rank
    if cfg.data.cache and cfg.data.workers > 0:   # decode once, before the workers fork
        for done, total in data.train.store.preload():
            if done == total or done % 32 == 0:
                yield Progress(done, total, "loading images")
    if cfg.schedule.epochs:
        total = cfg.schedule.epochs * steps_per_epoch(len(data.train), cfg.data.batch * world)
    else:
        total = cfg.schedule.steps
    if run.step >= total:
        if run.registered:
            raise ConfigError(f"this run already finished {run.step} steps; raise schedule.steps "
                              f"(--set schedule.steps=N) to train longer")
        # stopped after its last checkpoint, before its model was registered: do that now
        if run.exp is not None:
            run.exp.update(status="running", total=total, device=device, world=world)
        yield Log("info", f"training had reached step {run.step}; registering its model")
        return
    if run.exp is not None:
        run.exp.update(status="running", total=total, device=device, world=world,
                       images=data.summary["images"])
    batches = iter(data.loader(run.cursor, rank, world, pin=device.startswith("cuda")))
    if run.rng is not None:
        _set_rng_state(run.rng)   # after the loader drew its base seed, as the first run did
    run.watchdog.keep(run.step, loop.full_state, force=True)
    run.session_s0 = run.train_s
    step_time, samples = None, cfg.data.batch * world
    clock = time.process_time if cfg.schedule.clock == "cpu" else time.perf_counter
    try:
        while run.step < total and not control.stop_requested and not out_of_time(run):
            t0 = clock()
            batch = next(batches)
            run.cursor += 1
            loop.set_lr(schedule_step(run, total), total, run.watchdog.lr_scale)
            result = loop.train_step(batch, poison=run.watchdog.poison(run.step + 1))
            if not result.ok:
                snap = run.watchdog.rollback(run.step + 1, result.reason)
                loop.load_full_state(_copy(snap.state))
                if run.exp is not None:
                    run.exp.log(run.step + 1, {"event": "rollback", "reason": result.reason,
                                               "to_step": snap.step})
                run.step = snap.step
                loop.set_lr(schedule_step(run, total), total, run.watchdog.lr_scale)
                yield Rollback(run.step, result.reason, loop.lr)
                continue
            run.step += 1
            dt = clock() - t0
            # a step 20x longer than usual was a suspended or paused process: count a usual one
            run.train_s += dt if step_time is None or dt < 20 * step_time else step_time
            step_time = dt if step_time is None else 0.9 * step_time + 0.1 * min(dt, 20 * step_time)
            values = {**result.terms, "lr": loop.lr, **result.extra, "throughput": samples / dt}
            run.last_loss = values["loss/total"]
            for name, value in values.items():
                yield Metric(run.step, name, float(value))
            if run.exp is not None:
                run.exp.log(run.step, values)
            yield Progress(run.step, total, f"step {run.step}/{total} {1 / step_time:.2f} it/s",
                           eta_s=step_time * (total - run.step))
            run.watchdog.keep(run.step, loop.full_state)
            stepped = cfg.val.every and run.step % cfg.val.every == 0
            timed = rank == 0 and val_time_due(run)
            if rank == 0 and (stepped or timed) and run.step < total:
                run.last_val_s = run.train_s
                yield from run.validate(data.val)
            if run.step < total and (timed or cfg.checkpoint.every
                                     and run.step % cfg.checkpoint.every == 0):
                yield from run.save_checkpoint()
    finally:
        del batches   # ends loader workers
    yield from run.save_checkpoint()


def val_time_due(run: _Run) -> bool:
    """``val.every_minutes`` of stepping time since the last validation (a time budget on a
    machine of unknown speed still gets its validations and checkpoints, e.g. a fine-tune's
    timeline)."""
    every = run.cfg.val.every_minutes
    return bool(every) and run.train_s - max(run.last_val_s, run.session_s0) >= every * 60


def out_of_time(run: _Run) -> bool:
    minutes = run.cfg.schedule.minutes
    return bool(minutes) and run.train_s - run.session_s0 >= minutes * 60


def schedule_step(run: _Run, total: int) -> int:
    """The step the lr schedule is at: with a time budget (this session's), the further of
    step and the share of the budget spent."""
    minutes = run.cfg.schedule.minutes
    if not minutes:
        return run.step
    spent = (run.train_s - run.session_s0) / (minutes * 60)
    return max(run.step, min(total, int(total * spent)))


def weights_digest(state: dict) -> str:
    """sha256 over named tensors (parameters: DDP ranks agree on them; BN buffers may differ)."""
    import hashlib

    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _copy(state: dict) -> dict:
    from .loops import tree_to

    return tree_to(state, "cpu")   # the snapshot must survive later in-place updates


def output_hints(cfg: RunConfig) -> dict:
    """Card keys that tell the restorer how to finish this model's output."""
    raw = any(step.get("type") == "sobel_target" and step.get("normalise") is False
              for step in cfg.data.recipe if isinstance(step, dict))
    return {"output_normalise": "max"} if raw else {}


def _own_model(exp) -> bool:
    """Whether the user library holds a model this experiment registered (before a resume)."""
    own = exp.meta.get("model")
    entry = find_model(own) if own else None
    return entry is not None and not entry.shipped and entry.card.get("experiment") == exp.number \
        and entry.path.parent == paths.models_dir()


def _finish(run: _Run, data, control: Control, spec: TrainSpec) -> Iterator[Event]:
    """Final validation and model registration (rank 0); the job's result."""
    cfg, exp = run.cfg, run.exp
    result = {"experiment": exp.number if exp else None, "path": str(exp.path) if exp else None,
              "step": run.step, "model": None, "metrics": {}, "rank": run.rank,
              "params_sha256": weights_digest(dict(run.loop.net.named_parameters()))}
    status = "stopped" if control.stop_requested else "done"
    if run.rank != 0:
        return {**result, "status": status}
    # a stopped run still becomes a model (its weights so far); it can also be resumed
    yield from run.validate(data.val)
    weights, kept = run.loop.final_weights(), "last"
    best = run.best_folder()
    if run.best and run.best["step"] != run.step and best is not None and best.exists() \
            and run.best["psnr"] > run.last_val.get("val/psnr", -math.inf):
        _, _, weights = load_weights(best)      # an earlier validation beat the last one
        kept = "best"
        run.last_val = {f"val/{k}": v for k, v in read_card(best).get("metrics", {}).items()}
        yield Log("info", f"registering the best checkpoint (step {run.best['step']}, "
                          f"val PSNR {run.best['psnr']:.2f} dB)")
    details = {}
    if cfg.research.report or cfg.research.reported:   # measured on the weights registered
        yield Progress(0, 1, "research report")
        run.extra, details = research.run_report(cfg, run.loop, data, exp,
                                                 weights if kept == "best" else None)
    metrics = {**{k.removeprefix("val/"): v for k, v in run.last_val.items()}, **run.extra}
    card = {"task": cfg.task, "scale": cfg.data.scale, "training": cfg.to_dict(),
            "dataset": data.summary["dataset"], "metrics": metrics, "experiment": exp.number,
            "parent": cfg.model.init or None, "steps": run.step, "description": cfg.description,
            "status": status, **({"research": details} if details else {}),
            **({"best": run.best} if run.best else {}), **output_hints(cfg), **spec.card}
    if run.best:   # which weights these are: the best validation's, or the last step's
        card["weights"] = {"checkpoint": kept, "step": run.best["step"] if kept == "best" else run.step}
    name = f"{spec.experiment_name or cfg.name}-{exp.number:04d}"
    if cfg.loop == "classify":   # comparison nets stay in the experiment folder
        entry = save_model("final", weights, cfg.model.arch, run.loop.kwargs, card, root=exp.path)
    elif _own_model(exp):        # a resumed run replaces the model it registered before
        entry = save_model(exp.meta["model"], weights, cfg.model.arch, run.loop.kwargs, card,
                           overwrite=True)
    else:                        # never another one: a taken name becomes name-2, name-3, ...
        entry = save_model(name, weights, cfg.model.arch, run.loop.kwargs, card)
        if entry.id != slug(name):
            yield Log("warning", f"a model named '{slug(name)}' already exists; this run's model "
                                 f"is registered as '{entry.id}'")
    exp.update(status=status, step=run.step, results=run.results(), model=entry.id)
    yield Saved(str(entry.path), "model")
    return {**result, "status": status, "model": entry.id, "model_path": str(entry.path),
            "metrics": metrics}
