"""`restorelab models ...`: the model library and the architecture registry."""
from __future__ import annotations

import argparse
import sys

from .common import print_json, table


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list, describe, import, export and manage models")
    msub = p.add_subparsers(dest="models_cmd", required=True)

    ls = msub.add_parser("list", help="installed models (shipped, trained, imported)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_models)

    archs = msub.add_parser("archs", help="registered architectures and classical methods")
    archs.add_argument("--json", action="store_true")
    archs.add_argument("--kind", choices=("net", "classical", "discriminator"))
    archs.set_defaults(func=list_archs)

    desc = msub.add_parser("describe", help="card of an installed model or an architecture: params, MACs, metrics")
    desc.add_argument("id")
    desc.add_argument("--json", action="store_true")
    desc.set_defaults(func=describe)

    rm = msub.add_parser("delete", help="delete a trained or imported model")
    rm.add_argument("id")
    rm.set_defaults(func=delete)

    mv = msub.add_parser("rename", help="rename a trained or imported model")
    mv.add_argument("id")
    mv.add_argument("new_name")
    mv.set_defaults(func=rename)

    try:
        from . import model_io
    except ImportError:  # import/export arrive with the model zoo
        return
    model_io.add_parsers(msub)


def list_models(args: argparse.Namespace) -> int:
    from engine.checkpoints import list_models as entries

    models = entries()
    if args.json:
        print_json([m.as_dict() for m in models])
        return 0
    if not models:
        print("no models installed (train one with `restorelab train`, or import one)")
        return 0
    rows = [[m.id, m.task, m.arch, f"x{m.card.get('scale', 1)}", "shipped" if m.shipped else "user",
             _metric_text(m.card.get("metrics", {}))] for m in models]
    print(table(rows, ["id", "task", "arch", "scale", "source", "metrics"]))
    return 0


def _metric_text(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" if isinstance(v, (int, float)) else f"{k} {v}"
                     for k, v in list(metrics.items())[:3])


def list_archs(args: argparse.Namespace) -> int:
    from engine import registry

    specs = registry.all_specs(kind=args.kind)
    records = []
    for spec in specs:
        record = spec.as_dict()
        if spec.kind in ("net", "discriminator"):
            from engine.archinfo import count_params

            record["params"] = count_params(spec.build())
        records.append(record)
    if args.json:
        print_json(records)
        return 0
    rows = [[r["id"], r["kind"], r["family"], ",".join(r["tasks"]), f"x{r['scale']}",
             f"{r['params']:,}" if "params" in r else "-", r["description"][:60]] for r in records]
    print(table(rows, ["id", "kind", "family", "tasks", "scale", "params", "description"]))
    return 0


def describe(args: argparse.Namespace) -> int:
    from engine import registry
    from engine.archinfo import describe as describe_arch
    from engine.checkpoints import find_model
    from engine.errors import ModelError

    try:
        spec = registry.get(args.id)
    except ModelError:
        entry = find_model(args.id)
        if entry is None:
            raise ModelError(f"'{args.id}' is neither an installed model nor an architecture "
                             f"(see `restorelab models list` and `restorelab models archs`)") from None
        info = _model_info(entry, describe_arch)
    else:
        if spec.kind not in ("net", "discriminator"):
            info = {**spec.as_dict(), "note": f"{spec.kind}: no fixed architecture to describe"}
        else:
            info = {**spec.as_dict(), **describe_arch(spec)}
    if args.json:
        print_json(info)
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in value.items()) or "-"
        print(f"{key:>24}: {value}")
    return 0


def _model_info(entry, describe_arch) -> dict:
    """What a user asks of an installed model: its card's essentials and its net's size."""
    from engine import registry

    card = entry.card
    info = {"id": entry.id, "title": entry.title, "task": entry.task, "arch": entry.arch,
            "scale": card.get("scale", 1), "source": card.get("source") or
            ("shipped" if entry.shipped else "user"), "path": str(entry.path)}
    try:
        if entry.arch == "imported":   # spandrel's net: the card says what it is
            sizes = {k: card[k] for k in ("architecture_name", "architecture_id", "params",
                                          "tiling", "licence", "file_metadata") if k in card}
        else:
            sizes = describe_arch(registry.get(entry.arch), card.get("kwargs") or {})
    except Exception as err:  # a card naming an arch this build lacks: say so, show the rest
        sizes = {"note": f"architecture not described ({err})"}
    info.update(sizes)
    for key in ("metrics", "benchmarks", "dataset", "steps", "created", "description"):
        if card.get(key) not in (None, {}, ""):
            info[key] = card[key]
    from engine.backend_cache import card_info

    info.update(card_info(card))   # measured backend choice per device, from the user cache
    return info


def delete(args: argparse.Namespace) -> int:
    from engine.checkpoints import delete_model

    delete_model(args.id)
    print(f"deleted {args.id}")
    return 0


def rename(args: argparse.Namespace) -> int:
    from engine.checkpoints import rename_model

    entry = rename_model(args.id, args.new_name)
    print(f"renamed {args.id} -> {entry.id}", file=sys.stderr)
    return 0
