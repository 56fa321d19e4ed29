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
    print(f"imported {entry.card.get('architecture_name', entry.arch)} "
          f"(x{entry.card.get('scale', 1)}) as '{entry.id}'")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from engine.export import export_model

    path = export_model(args.id, args.format, args.output)
    print(f"exported {args.id} to {path}")
    return 0
