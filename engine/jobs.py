"""The job protocol and the runner.

A job is a generator ``job(spec, control)`` that yields :mod:`engine.events`
and returns a result. :func:`drive` iterates one job and turns its end into a
``Finished`` or ``Failed`` event; :class:`Runner` does that on a worker
thread per device and hands every event to the job's subscriber.

Control is cooperative and checked by the driver between events:
``pause`` blocks the generator until ``resume``; ``abort`` closes it (its
``finally`` blocks run, what was saved stays); ``stop`` is a request the job
reads via ``control.stop_requested`` to finish its step, save and return.

:class:`ReadAhead` and :class:`Background` are the stages a batch job puts around its
compute (read the next item, write the previous one) on their own threads, with
bounded queues so memory stays bounded.
"""
from __future__ import annotations

import itertools
import queue
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator

from .errors import JobAborted, RestoreLabError
from .events import Event, Failed, Finished, Started

JobFn = Callable[[Any, "Control"], Generator[Event, None, Any]]
Subscriber = Callable[[Event], None]

_ids = itertools.count(1)


class Control:
    """Stop / pause / resume / abort flags shared by a job and whoever started it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._running = threading.Event()
        self._running.set()

    # requests, from any thread
    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def abort(self) -> None:
        self._abort.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    # state, read by the job and the driver
    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set() or self._abort.is_set()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Block while paused; raise :class:`JobAborted` if aborted."""
        self._running.wait()
        if self._abort.is_set():
            raise JobAborted()

    # a job run in a child process (engine.job_process) reads the same flags
    def share(self, ctx) -> tuple:
        """Move the flags into events of the multiprocessing context ``ctx``, state kept,
        so that a child process sees the requests made here; returns them for the child."""
        flags = []
        for name in ("_stop", "_abort", "_running"):
            shared = ctx.Event()
            if getattr(self, name).is_set():
                shared.set()
            setattr(self, name, shared)
            flags.append(shared)
        return tuple(flags)

    @classmethod
    def shared(cls, flags: tuple) -> "Control":
        """The child's side of :meth:`share`."""
        control = cls.__new__(cls)
        control._stop, control._abort, control._running = flags
        return control


def drive(job: JobFn, spec: Any, control: Control | None = None, *,
          job_id: int | None = None, title: str = "") -> Iterator[Event]:
    """Run ``job`` to its end, yielding its events framed by Started and Finished/Failed."""
    control = control or Control()
    job_id = next(_ids) if job_id is None else job_id
    yield Started(job_id, title or getattr(job, "__name__", "job"))
    gen = None
    try:
        control.checkpoint()
        gen = job(spec, control)
        while True:
            try:
                event = next(gen)
            except StopIteration as done:
                status = ("aborted" if control.aborted else
                          "stopped" if control.stop_requested else "done")
                yield Finished(job_id, status, done.value)
                return
            yield event
            control.checkpoint()
    except JobAborted:
        if gen is not None:
            gen.close()
        yield Finished(job_id, "aborted", None)
    except RestoreLabError as err:
        yield Failed(job_id, str(err), getattr(err, "detail", "") or traceback.format_exc())
    except MemoryError:
        yield Failed(job_id, "Out of memory. Try a smaller tile size or batch.",
                     traceback.format_exc())
    except Exception as err:  # a bug or an unexpected condition: still an event, never a dead thread
        yield Failed(job_id, f"Unexpected error: {type(err).__name__}: {err}",
                     traceback.format_exc())


def run_to_end(job: JobFn, spec: Any, control: Control | None = None,
               on_event: Subscriber | None = None) -> Event:
    """Drive a job on this thread; return its final Finished/Failed event."""
    last: Event | None = None
    for event in drive(job, spec, control):
        if on_event:
            on_event(event)
        last = event
    assert isinstance(last, (Finished, Failed))
    return last


@dataclass
class JobHandle:
    id: int
    title: str
    control: Control
    device: str
    done: threading.Event = field(default_factory=threading.Event)
    final: Event | None = None

    def wait(self, timeout: float | None = None) -> Event | None:
        self.done.wait(timeout)
        return self.final


class Runner:
    """Worker threads, one queue per device; jobs on a device run one after another."""

    def __init__(self) -> None:
        self._queues: dict[str, queue.Queue] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._pending: list[JobHandle] = []
        self._active: dict[str, JobHandle] = {}

    def submit(self, job: JobFn, spec: Any, subscriber: Subscriber | None = None, *,
               device: str = "cpu", title: str = "") -> JobHandle:
        handle = JobHandle(next(_ids), title or getattr(job, "__name__", "job"), Control(), device)
        with self._lock:
            q = self._queues.get(device)
            if q is None:
                q = self._queues[device] = queue.Queue()
                thread = threading.Thread(target=self._work, args=(device, q),
                                          name=f"restorelab-{device}", daemon=True)
                self._threads[device] = thread
                thread.start()
            self._pending.append(handle)
        q.put((handle, job, spec, subscriber))
        return handle

    def jobs(self) -> list[JobHandle]:
        """Running and queued jobs, oldest first."""
        with self._lock:
            return list(self._active.values()) + list(self._pending)

    def _work(self, device: str, q: queue.Queue) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            handle, job, spec, subscriber = item
            with self._lock:
                self._pending.remove(handle)
                self._active[device] = handle
            try:
                for event in drive(job, spec, handle.control, job_id=handle.id, title=handle.title):
                    if isinstance(event, (Finished, Failed)):
                        handle.final = event
                    if subscriber is not None:
                        try:
                            subscriber(event)
                        except Exception:  # a broken subscriber must not kill the worker
                            traceback.print_exc()
            finally:
                with self._lock:
                    self._active.pop(device, None)
                handle.done.set()

    def cancel_all(self) -> None:
        """Abort queued and running jobs."""
        for handle in self.jobs():
            handle.control.abort()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Abort everything, end the threads; True when all of them ended in time."""
        self.cancel_all()
        with self._lock:
            queues = list(self._queues.values())
            threads = list(self._threads.values())
            self._queues.clear()
            self._threads.clear()
        for q in queues:
            q.put(None)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)


_END = object()


class ReadAhead:
    """``fn(item)`` for each item, in order, on a worker thread, at most ``depth`` results
    ahead of the consumer. Iterating gives ``(item, result, error)``: a failing item is
    handed on with its exception, the rest go on. ``close()`` stops the thread early."""

    def __init__(self, fn: Callable[[Any], Any], items, depth: int = 1,
                 name: str = "restorelab-read") -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(fn, list(items)),
                                        name=name, daemon=True)
        self._thread.start()

    def _put(self, value) -> bool:
        while not self._cancel.is_set():
            try:
                self._queue.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, fn, items) -> None:
        for item in items:
            if self._cancel.is_set():
                return
            try:
                got = (item, fn(item), None)
            except Exception as err:  # handed on: the consumer reports it for this item
                got = (item, None, err)
            if not self._put(got):
                return
        self._put(_END)

    def __iter__(self) -> Iterator[tuple[Any, Any, Exception | None]]:
        while True:
            got = self._queue.get()
            if got is _END:
                return
            yield got

    def close(self) -> None:
        self._cancel.set()
        self._thread.join()
        while not self._queue.empty():   # drop what was read ahead
            self._queue.get_nowait()


class Background:
    """``fn(*args)`` for each submitted job, in order, on one worker thread. ``submit``
    blocks while ``depth`` jobs already wait (back-pressure); ``results()`` returns the
    ``(key, result, error)`` of the jobs finished since the last call."""

    def __init__(self, fn: Callable[..., Any], depth: int = 1,
                 name: str = "restorelab-write") -> None:
        self._fn = fn
        self._todo: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._done: queue.Queue = queue.Queue()
        self._drop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._todo.get()
            if job is _END:
                return
            key, args = job
            if self._drop.is_set():
                continue
            try:
                self._done.put((key, self._fn(*args), None))
            except Exception as err:
                self._done.put((key, None, err))

    def submit(self, key: Any, *args: Any) -> None:
        self._todo.put((key, args))

    def results(self) -> list[tuple[Any, Any, Exception | None]]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def close(self, drop: bool = False) -> list[tuple[Any, Any, Exception | None]]:
        """Finish the waiting jobs (or, with ``drop``, only the one running), end the
        thread and return the results not yet collected."""
        if drop:
            self._drop.set()
        self._todo.put(_END)
        self._thread.join()
        return self.results()
