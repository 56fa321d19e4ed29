"""Subcommands of `restorelab`; each module has ``add_parser(subparsers)``."""
