"""`restorelab experiments ...`: the journal of training runs."""
from __future__ import annotations

import argparse

from .common import print_json, table


def add_parser(sub) -> None:
    p = sub.add_parser("experiments", help="the journal of training runs")
    esub = p.add_subparsers(dest="experiments_cmd", required=True)

    ls = esub.add_parser("list", help="every run: number, name, date, dataset, description, results")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_runs)

    show = esub.add_parser("show", help="one run in full")
    show.add_argument("run", help="experiment number or name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_run)

    cmp = esub.add_parser("compare", help="two runs side by side (results and config differences)")
    cmp.add_argument("a")
    cmp.add_argument("b")
    cmp.add_argument("--json", action="store_true")
    cmp.set_defaults(func=compare_runs)

    note = esub.add_parser("note", help="set a run's notes")
    note.add_argument("run")
    note.add_argument("text", nargs="+")
    note.set_defaults(func=set_note)


def _results(results: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                     for k, v in results.items())


def list_runs(args: argparse.Namespace) -> int:
    from training.experiments import list_experiments

    rows = [e.summary() for e in list_experiments()]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no experiments yet (start one with `restorelab train --preset smoke`)")
        return 0
    print(table([[r["number"], r["name"], r["created"].replace("T", " ")[:16], r["dataset"],
                  r["description"][:40], f"{r['status']} {r['step']}/{r['total']}",
                  _results(r["results"])] for r in rows],
                ["#", "name", "date", "dataset", "description", "status", "results"]))
    for r in rows:
        if r["status"] == "interrupted":
            print(r["hint"])
    return 0


def show_run(args: argparse.Namespace) -> int:
    from training.experiments import find

    exp = find(args.run)
    summary = exp.summary()
    metrics = exp.metrics()
    if args.json:
        print_json({**summary, "config": exp.config(), "last_metrics": metrics[-5:]})
        return 0
    for key in ("number", "name", "created", "dataset", "description", "status", "model", "path"):
        print(f"{key:12} {summary[key]}")
    print(f"{'steps':12} {summary['step']}/{summary['total']}")
    print(f"{'results':12} {_results(summary['results'])}")
    for key in ("error", "notes", "hint"):
        if summary[key]:
            print(f"{key:12} {summary[key]}")
    print("\n# config.toml")
    print((exp.path / "config.toml").read_text(encoding="utf-8").rstrip())
    return 0


def compare_runs(args: argparse.Namespace) -> int:
    from training.experiments import compare

    rows = compare(args.a, args.b)
    if args.json:
        print_json([{"field": f, "a": a, "b": b} for f, a, b in rows])
        return 0
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    print(table([[f, fmt(a)[:50], fmt(b)[:50]] for f, a, b in rows], ["field", "A", "B"]))
    return 0


def set_note(args: argparse.Namespace) -> int:
    from training.experiments import set_notes

    exp = set_notes(args.run, " ".join(args.text))
    print(f"notes of experiment {exp.number} saved")
    return 0
