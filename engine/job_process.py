"""Run a job in a child process, seen by the runner as any other job.

A training step holds the GIL for much of its Python work, and in the window's process that
is time the UI thread waits: a training job is better run in its own process. ``in_process(job)``
is a job that starts ``job(spec, control)`` in a spawned child and yields the child's events
as they come; ``control`` keeps working (its flags are shared with the child), a pause in the
parent pauses the child, and an abort lets the child's job save what it has and end (it is
killed if it does not within ``END_S``). The child's failure arrives as the same one-line
message, its traceback as the detail; a child that dies (killed, crashed) is one clear error.
The child ends by itself when its parent is gone.

``job`` and ``spec`` are pickled: the job must be a module-level function, the spec plain data.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
import os
import queue
import threading
import time
from typing import Any, Iterator

from .errors import JobAborted, RestoreLabError
from .events import Event, Failed, Finished, Started

END_S = 60.0          # an aborted child gets this long to save and end
QUEUE_EVENTS = 256    # events in flight from the child (it waits when the parent lags)


class ChildFailed(RestoreLabError):
    """The child's job failed: its message, with the child's traceback as ``detail``."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def in_process(job):
    """``job`` as a job that runs in a child process (same events, result and control)."""
    run = functools.partial(_run_in_child, job)
    run.__name__ = getattr(job, "__name__", "job")
    return run


def _run_in_child(job, spec: Any, control) -> Iterator[Event]:
    ctx = mp.get_context("spawn")     # no fork: the parent has Qt and runtime threads
    events = ctx.Queue(maxsize=QUEUE_EVENTS)
    child = ctx.Process(target=_child_main, args=(job, spec, control.share(ctx), events),
                        name=f"restorelab-{getattr(job, '__name__', 'job')}", daemon=True)
    child.start()
    ended = False
    try:
        while True:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                if child.is_alive():
                    continue
                ended = True
                raise RestoreLabError(
                    f"The {getattr(job, '__name__', 'job')} process ended unexpectedly "
                    f"(exit code {child.exitcode}); what it saved is kept.") from None
            if isinstance(event, Started):
                continue
            if isinstance(event, Finished):
                ended = True
                if event.status == "aborted":
                    raise JobAborted()
                return event.result
            if isinstance(event, Failed):
                ended = True
                raise ChildFailed(event.message, event.detail)
            yield event
    finally:
        if not ended:
            control.abort()       # the parent is closing this job: the child ends its own
        _reap(child, events)


def _reap(child, events) -> None:
    """Wait for the child to end (emptying the queue, which it may block on), else kill it."""
    deadline = time.monotonic() + END_S
    while child.is_alive() and time.monotonic() < deadline:
        try:
            events.get(timeout=0.1)
        except queue.Empty:
            pass
    if child.is_alive():
        child.kill()
    child.join(5)
    events.close()
    events.cancel_join_thread()


def _child_main(job, spec, flags, events) -> None:
    from .jobs import Control, drive

    control = Control.shared(flags)
    threading.Thread(target=_orphan_watch, args=(os.getppid(), control), daemon=True).start()
    for event in drive(job, spec, control):
        events.put(event)
    events.close()
    events.join_thread()


def _orphan_watch(parent: int, control) -> None:
    """Abort (saving what the job has) once the parent process is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    control.abort()
