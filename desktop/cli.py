"""The one `restorelab` command: no arguments opens the window, subcommands run headless.

Qt is imported only when the window opens, so headless subcommands run where
no display (or no Qt) exists.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("restore", "models", "train", "finetune", "experiments", "datasets", "selftest")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restorelab",
        description="Restore images with neural networks and train your own. "
                    "Run without arguments to open the window.")
    parser.add_argument("--version", action="version", version="restorelab 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the window (same as no arguments)")
    gui.set_defaults(func=lambda args: _gui())
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"desktop.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"desktop.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def _gui() -> int:
    from desktop.app import main as gui_main

    return gui_main()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return _gui()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    from engine.errors import RestoreLabError

    try:
        return int(args.func(args) or 0)
    except RestoreLabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
