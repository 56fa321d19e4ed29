"""`restorelab models import|export`: community models in, library models out."""
from __future__ import annotations

import argparse


def add_parsers(msub) -> None:
    imp = msub.add_parser("import", help="import a .pth/.ckpt/.safetensors model (via spandrel)")
    imp.add_argument("file")
    imp.add_argument("--name", help="name in the library (default: the file name); a name "
                                    "already taken gets a free one (NAME-2, ...)")
    imp.add_argument("--replace", action="store_true",
                     help="replace the library model of that name instead (never a shipped one)")
    imp.set_defaults(func=run_import)

    exp = msub.add_parser("export", help="export a library model")
    exp.add_argument("id")
    exp.add_argument("--format", choices=("safetensors", "onnx"), default="safetensors")
    exp.add_argument("-o", "--output", required=True)
    exp.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from engine.checkpoints import slug
    from engine.importer import import_model

    entry = import_model(args.file, args.name, replace=args.replace)
    wanted = slug(args.name or Path(args.file).stem)
    if entry.id != wanted:
        print(f"note: a model named '{wanted}' already exists; this one is '{entry.id}' "
              f"(--replace replaces it instead)", file=sys.stderr)
    card = entry.card
    print(f"imported {card.get('architecture_name', entry.arch)} as '{entry.id}'")
    print(import_report(card))
    return 0


def import_report(card: dict) -> str:
    """The lines `models import` prints under its first: what the file turned out to be."""
    from engine.importer import human_size

    rows = [("architecture", f"{card.get('architecture_name')} ({card.get('architecture_id')}), "
                             f"{card.get('purpose', card.get('task'))}"),
            ("scale", f"x{card.get('scale', 1)}"),
            ("size", f"{card.get('params', 0) / 1e6:.2f} M parameters, "
                     f"{human_size(card.get('file_bytes', 0))} file"),
            ("tiling", card.get("tiling", "?")),
            ("licence", card.get("licence", "unknown"))]
    meta = card.get("file_metadata") or {}
    rows.append(("metadata", ", ".join(f"{k}={v}" for k, v in meta.items()) or "none in the file"))
    return "\n".join(f"  {k:<12} {v}" for k, v in rows)


def run_export(args: argparse.Namespace) -> int:
    from engine.export import export_model

    path = export_model(args.id, args.format, args.output)
    print(f"exported {args.id} to {path}")
    return 0
