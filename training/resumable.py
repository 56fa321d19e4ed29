"""Going on with a run: a model folder's resumable state, and specs that continue a run.

A published model folder keeps ``train_state.pt`` (the last checkpoint's train state with the
raw weights inside); ``restorelab train --resume`` takes an experiment or such a folder.
``resume_job`` runs a spec from ``resume_spec`` wherever a run is resumed (CLI, window, torchrun).
"""
from __future__ import annotations

from engine.checkpoints import find_model, load_train_state, load_weights, save_model
from engine.errors import ConfigError

from . import experiments
from .config import RunConfig

RESUME_NET = "net"   # key of a model folder's train_state that holds the raw (non-EMA) weights


def resumable_state(exp) -> dict:
    """The last checkpoint's train state with its raw weights inside: what a published
    model folder keeps (as ``train_state.pt``) so its training can go on anywhere."""
    state = load_train_state(exp.checkpoint)
    _, _, weights = load_weights(exp.checkpoint)
    return {**state, RESUME_NET: weights}


def experiment_from_model(entry, name: str | None = None):
    """A new experiment whose last checkpoint is a model folder's resumable state (shipped
    models keep one), so ``restorelab train --resume MODEL`` adds steps to it."""
    how = (f"model '{entry.id}' keeps no training state to go on from; fine-tune it instead "
           f"(--set model.init={entry.id})")
    try:
        state = load_train_state(entry.path)
    except Exception:
        raise ConfigError(how) from None
    config = entry.card.get("training")
    if RESUME_NET not in state or not isinstance(config, dict):
        raise ConfigError(how)
    net = state.pop(RESUME_NET)
    exp = experiments.create(config, name or config.get("name", entry.id),
                             f"continues {entry.id}", entry.card.get("dataset", ""))
    save_model("last", net, entry.card["arch"], entry.card.get("kwargs", {}),
               {"step": int(state["step"]), "experiment": exp.number, "task": entry.card.get("task")},
               root=exp.path / "checkpoints", train_state=state)
    for row in entry.card.get("val_curve", []):   # the published curve goes on
        exp.log(int(row.get("step", 0)), {"val/psnr": row.get("psnr"), "train_s": row.get("train_s")})
    exp.update(step=int(state["step"]), status="stopped", parent=entry.id)
    return exp


def resume_spec(ref: str, overrides: list[str] | None = None) -> TrainSpec:
    """A spec that continues experiment ``ref`` (or a model folder/id with a resumable
    state, such as a shipped model) with its saved config plus overrides."""
    from .config import apply_overrides
    from .job import TrainSpec

    try:
        exp = experiments.find(ref)
    except ConfigError:
        entry = find_model(ref)
        if entry is None:
            raise
        exp = experiment_from_model(entry)
    cfg = RunConfig.from_dict(apply_overrides(exp.config(), overrides))
    exp.require_resumable()
    done = int(exp.meta.get("step", 0))
    # a run killed after its last checkpoint but before registering its model resumes to
    # register it; one that registered its model needs more steps to go on
    if not cfg.schedule.epochs and done >= cfg.schedule.steps and not registration_pending(exp):
        raise ConfigError(f"experiment {exp.number} already ran {done} steps; raise schedule.steps "
                          f"(--set schedule.steps=N) to train longer")
    spec = TrainSpec(cfg, resume=str(exp.path), experiment_name=exp.name)
    if cfg.finetune.examples:   # a fine-tune trains on its examples mixed in, as it did
        from .finetune import resumed

        spec = resumed(spec, exp)
    return spec


def registration_pending(exp) -> bool:
    """A run that ended (killed, failed, aborted) after its last checkpoint but before its
    model reached the library. (A model folder's experiment is 'stopped': it needs steps.)"""
    return not exp.meta.get("model") and exp.meta.get("status") != "stopped"


def resume_job(spec, control):
    """The job that continues a run (``spec`` from ``resume_spec``): ``train_job``, and for a
    fine-tune on its examples, the timeline of checkpoints goes on growing as in the first run."""
    from .job import train_job

    events = train_job(spec, control)
    if spec.config.finetune.examples:
        from .finetune import keep_timeline

        events = keep_timeline(events)
    return (yield from events)
