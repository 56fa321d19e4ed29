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
``checkpoints/timeline/step_NNNNNNN``: the run's timeline (``keep_timeline``). The registered
model's card names its parent and the examples it learned from. The run config's
``[finetune]`` table (examples folder, mix, parent) lets ``restorelab train --resume``
rebuild the same data (``resumed``), and the resumed run goes on adding to the timeline
(``training.resumable.resume_job``).
"""
from __future__ import annotations

import math
from contextlib import closing
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from engine import devices
from engine.atomic import write_json
from engine.checkpoints import CARD, build_model, find_model, load_weights, read_card, save_model
from engine.errors import ConfigError
from engine.events import Event, Log, Metric, Saved

from .config import RunConfig
from .datasets import to_tensor
from .finetune_config import INHERITED, FinetuneSpec, finetune_config, has_config, made_note  # noqa: F401
from .finetune_data import Example, build_finetune_data, scan_examples  # noqa: F401

TIMELINE = "timeline"     # checkpoints/timeline/step_NNNNNNN: the weights of every validation

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
    result = yield from keep_timeline(train_job(train, control))
    return {**result, "parent": parent.id, "parent_psnr": before, "examples": len(examples)}


def keep_timeline(events: Iterator[Event]) -> Iterator[Event]:
    """Pass a fine-tune's training events (``train_job``'s, a first run or a resume) on, and
    copy each checkpoint it saves into the run's timeline with the scores of the validation
    at that step. Returns the run's result with its ``timeline``."""
    val: dict = {}                     # the latest validation: {"_step": step, name: value}
    kept: list[tuple[int, Path]] = []
    with closing(events):              # closed with us: an abort reaches train_job
        while True:
            try:
                event = next(events)
            except StopIteration as end:
                result = end.value or {}
                break
            if isinstance(event, Metric) and event.name.startswith("val/"):
                if val.get("_step") != event.step:
                    val = {"_step": event.step}
                val[event.name.removeprefix("val/")] = event.value
            if isinstance(event, Saved) and event.kind == "checkpoint":
                step = int(read_card(Path(event.path)).get("step", 0))
                scores = {k: v for k, v in val.items() if k != "_step"}
                kept.append((step, _keep(event.path, step, scores if val.get("_step") == step else {})))
            yield event
    # the final validation comes after the last checkpoint: its scores go on that entry's card
    if kept and val.get("_step") == kept[-1][0]:
        folder = kept[-1][1]
        write_json(folder / CARD, {**read_card(folder), "metrics":
                                   {k: v for k, v in val.items() if k != "_step"}})
    return {**result, "timeline": timeline(result["path"]) if result.get("path") else []}


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
