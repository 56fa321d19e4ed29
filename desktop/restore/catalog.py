"""What the model picker offers: installed models and classical methods, grouped by task.

Torch-free: cards and registry entries are read, nothing is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GROUPS = ("Denoise", "Deblur", "Super-resolution", "Filters", "Other", "Imported", "Classical")
_TASK_GROUP = {"denoise": "Denoise", "deblur": "Deblur", "super-resolution": "Super-resolution",
               "filter": "Filters"}
TASK_TITLES = {"denoise": "Denoise", "deblur": "Deblur", "super-resolution": "Super-resolution",
               "filter": "Filter"}
# classical fallbacks while no installed model serves a task
FALLBACK = {"denoise": "nlmeans", "deblur": "wiener", "super-resolution": "bicubic",
            "filter": "unsharp"}


@dataclass
class Choice:
    id: str
    title: str
    group: str
    tasks: tuple[str, ...]
    kind: str                       # "classical" | "shipped" | "trained" | "imported"
    scale: int = 1
    card: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)   # classical options
    deletable: bool = False

    @property
    def task(self) -> str:
        return self.tasks[0] if self.tasks else ""


def _is_imported(card: dict[str, Any]) -> bool:
    source = str(card.get("source", "")).lower()
    return bool(card.get("imported")) or source in ("import", "imported", "spandrel")


def model_choices() -> list[Choice]:
    """Installed models (shipped first), then the classical methods."""
    from engine import checkpoints, registry

    out: list[Choice] = []
    for entry in checkpoints.list_models():
        card = entry.card
        imported = _is_imported(card)
        kind = "shipped" if entry.shipped else "imported" if imported else "trained"
        task = entry.task
        group = "Imported" if imported else _TASK_GROUP.get(task, "Other")
        try:
            scale = int(card.get("scale") or 1)
        except (TypeError, ValueError):
            scale = 1
        out.append(Choice(entry.id, entry.title, group, (task,) if task else (), kind, scale,
                          dict(card), str(card.get("description", "")),
                          deletable=not entry.shipped))
    for spec in registry.all_specs(kind="classical"):
        out.append(Choice(spec.id, spec.title, "Classical", tuple(spec.tasks), "classical",
                          spec.scale, {}, spec.description, dict(spec.defaults)))
    return out


def grouped(choices: list[Choice]) -> list[tuple[str, list[Choice]]]:
    return [(g, [c for c in choices if c.group == g]) for g in GROUPS
            if any(c.group == g for c in choices)]


def default_model(task: str, settings=None, choices: list[Choice] | None = None) -> str:
    """The user's default for ``task``, else the first installed model for it, else a classical one."""
    choices = model_choices() if choices is None else choices
    ids = {c.id for c in choices}
    if settings is not None:
        chosen = settings.default_model(task)
        if chosen in ids:
            return chosen
    for c in choices:
        if c.kind != "classical" and task in c.tasks:
            return c.id
    return FALLBACK.get(task, "bicubic")


def card_html(choice: Choice) -> str:
    """The model card as rich text for the picker and the Models page."""
    card = choice.card
    rows: list[tuple[str, str]] = []
    if choice.kind == "classical":
        rows.append(("Kind", "Classical method (no learned weights)"))
        rows.append(("Tasks", ", ".join(TASK_TITLES.get(t, t) for t in choice.tasks)))
        if choice.scale != 1 or "scale" in choice.defaults:
            rows.append(("Scale", f"×{choice.defaults.get('scale', choice.scale)} by default "
                                  "(the Output scale option changes it)"))
        opts = ", ".join(f"{k} = {v}" for k, v in choice.defaults.items() if k != "scale")
        if opts:
            rows.append(("Options", opts))
    else:
        rows.append(("Source", choice.kind.capitalize()))
        rows.append(("Task", TASK_TITLES.get(choice.task, choice.task or "—")))
        rows.append(("Architecture", str(card.get("architecture_name") or card.get("arch", "—"))))
        rows.append(("Scale", f"×{choice.scale}"))
        data = card.get("dataset") or card.get("training_data") or card.get("data")
        if isinstance(data, dict):
            data = data.get("name") or data.get("path") or ", ".join(f"{k}: {v}" for k, v in data.items())
        if data:
            rows.append(("Training data", str(data)))
        if card.get("steps"):
            rows.append(("Steps", f"{card['steps']:,}" if isinstance(card["steps"], int) else str(card["steps"])))
        metrics = card.get("metrics")
        if isinstance(metrics, dict) and metrics:
            rows.append(("Validation", ", ".join(_metric(k, v) for k, v in metrics.items())))
        bench = card.get("benchmarks")
        if isinstance(bench, dict) and bench:   # bench/quality.py's figures, dB
            rows += [("Benchmark" if i == 0 else "", f"{k}: {v:.2f} dB") for i, (k, v) in
                     enumerate(bench.items()) if isinstance(v, (int, float))]
        if card.get("train_minutes"):
            rows.append(("Training time", f"{card['train_minutes']} min (CPU)"))
        parent = Path(str(card.get("parent") or "")).name   # an id, or the folder it was
        if parent and parent != choice.id:                     # (a run resumed from itself: none)
            rows.append(("Fine-tuned from", parent))
        if card.get("created"):
            rows.append(("Created", str(card["created"]).replace("T", " ")))
        rows.append(("Id", choice.id))
    body = "".join(f"<tr><td style='padding:2px 10px 2px 0; opacity:0.65'>{_esc(k)}</td>"
                   f"<td style='padding:2px 0'>{_esc(v)}</td></tr>" for k, v in rows)
    desc = f"<p style='margin-top:6px'>{_esc(choice.description)}</p>" if choice.description else ""
    return (f"<div><span style='font-size:11pt; font-weight:600'>{_esc(choice.title)}</span>"
            f"{desc}<table cellspacing='0'>{body}</table></div>")


def _metric(name: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(_metric(k, v) for k, v in value.items())
        return f"{name}: {inner}"
    if isinstance(value, float):
        return f"{name} {value:.4f}" if "ssim" in name.lower() else f"{name} {value:.2f}"
    return f"{name} {value}"


def _esc(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
