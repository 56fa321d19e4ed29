"""Helpers shared by subcommands: running a job with a terminal progress bar."""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:   # imported when a job runs: `--help` and listings need no numpy
    from desktop.terminal import TerminalProgress


def run_job(job, spec: Any, *, device: str = "cpu", title: str = "", quiet: bool = False) -> TerminalProgress:
    """Run a job on the engine's runner thread, showing progress; Ctrl-C aborts it."""
    from desktop.terminal import TerminalProgress
    from engine.events import Finished
    from engine.jobs import Runner

    printer = TerminalProgress(quiet=quiet)
    runner = Runner()
    handle = runner.submit(job, spec, printer, device=device, title=title)
    try:
        while not handle.done.wait(0.2):
            pass
    except KeyboardInterrupt:
        print("\ninterrupted: stopping (Ctrl-C again to abort)", file=sys.stderr)
        handle.control.stop()
        try:
            handle.done.wait()
        except KeyboardInterrupt:
            handle.control.abort()
            handle.done.wait(30)
    finally:
        runner.shutdown()
    if not isinstance(handle.final, Finished) and printer.final is None:
        printer.failures += 1
    return printer


def run_training(job, spec: Any, args, *, device: str, title: str,
                 summary: Callable[[str, dict], str]) -> int:
    """Run a training-like job (train, finetune) to its end on ``device`` ("auto" resolved
    here) and report it: the result as JSON with ``--json``, else ``summary(status, result)``
    when it says something. Exit code 0 when the run finished or was stopped (it saved), else 1."""
    from engine.devices import resolve
    from engine.events import Finished

    printer = run_job(job, spec, device=resolve(device).split(":")[0], title=title,
                      quiet=args.quiet)
    final = printer.final
    if not isinstance(final, Finished):
        return 1
    result = final.result or {}
    if args.json:
        print_json(result)
    else:
        text = summary(final.status, result)
        if text:
            print(text)
    return 0 if final.status in ("done", "stopped") else 1


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(c) for c in r]) for r in rows]
    return "\n".join(lines)
