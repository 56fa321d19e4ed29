"""The job protocol: events, stop, pause/resume, abort, errors as Failed events."""
from __future__ import annotations

import threading
import time

from engine.errors import ImageError
from engine.events import Failed, Finished, Log, Progress, Started
from engine.jobs import Control, Runner, drive, run_to_end


def counting_job(spec, control):
    saved = []
    try:
        for i in range(spec["n"]):
            if control.stop_requested:
                saved.append("stopped-cleanly")
                break
            time.sleep(spec.get("sleep", 0))
            yield Progress(i + 1, spec["n"], "count")
        return {"count": i + 1, "saved": saved}
    finally:
        spec.setdefault("closed", True)


def test_drive_frames_events_and_returns_result():
    events = list(drive(counting_job, {"n": 3}))
    assert isinstance(events[0], Started)
    assert [e.done for e in events if isinstance(e, Progress)] == [1, 2, 3]
    assert isinstance(events[-1], Finished) and events[-1].status == "done"
    assert events[-1].result["count"] == 3


def test_errors_become_failed_events_with_readable_message():
    def bad(spec, control):
        yield Log("info", "about to fail")
        raise ImageError("photo.png: file is truncated")

    def buggy(spec, control):
        yield Log("info", "x")
        return 1 / 0

    final = run_to_end(bad, None)
    assert isinstance(final, Failed) and final.message == "photo.png: file is truncated"
    final = run_to_end(buggy, None)
    assert isinstance(final, Failed) and "ZeroDivisionError" in final.message
    assert "Traceback" in final.detail


def test_stop_lets_the_job_finish_its_step_and_return():
    control = Control()
    seen = []

    def on_event(ev):
        seen.append(ev)
        if isinstance(ev, Progress) and ev.done == 2:
            control.stop()

    final = run_to_end(counting_job, {"n": 100}, control, on_event)
    assert isinstance(final, Finished) and final.status == "stopped"
    assert final.result["saved"] == ["stopped-cleanly"]
    assert max(e.done for e in seen if isinstance(e, Progress)) == 2


def test_abort_closes_the_generator_and_runs_its_cleanup():
    spec = {"n": 100}
    control = Control()

    def on_event(ev):
        if isinstance(ev, Progress) and ev.done == 3:
            control.abort()

    final = run_to_end(counting_job, spec, control, on_event)
    assert isinstance(final, Finished) and final.status == "aborted"
    assert spec["closed"] is True


def test_runner_pause_blocks_progress_and_resume_continues():
    runner = Runner()
    events = []
    handle = runner.submit(counting_job, {"n": 40, "sleep": 0.01}, events.append, title="count")
    deadline = time.time() + 5
    while not any(isinstance(e, Progress) for e in events) and time.time() < deadline:
        time.sleep(0.01)
    handle.control.pause()
    time.sleep(0.1)
    frozen = len(events)
    time.sleep(0.3)
    assert len(events) == frozen, "a paused job must not make progress"
    assert not handle.done.is_set()
    handle.control.resume()
    final = handle.wait(10)
    assert isinstance(final, Finished) and final.status == "done"
    assert runner.shutdown()


def test_runner_runs_jobs_of_one_device_in_order_and_survives_failures():
    runner = Runner()
    order = []

    def job(spec, control):
        order.append(spec)
        if spec == "bad":
            raise RuntimeError("boom")
        yield Log("info", spec)

    handles = [runner.submit(job, s) for s in ("a", "bad", "c")]
    finals = [h.wait(10) for h in handles]
    assert order == ["a", "bad", "c"]
    assert isinstance(finals[1], Failed) and "boom" in finals[1].message
    assert isinstance(finals[2], Finished)
    threads = list(runner._threads.values())
    assert runner.shutdown()
    assert threads and not [t for t in threads if t.is_alive()]   # its own: other tests' may linger


def test_abort_of_a_queued_job_never_starts_it():
    runner = Runner()
    started = threading.Event()
    release = threading.Event()

    def blocker(spec, control):
        started.set()
        release.wait(5)
        yield Log("info", "done")

    first = runner.submit(blocker, None)
    second = runner.submit(counting_job, {"n": 3})
    started.wait(5)
    second.control.abort()
    release.set()
    assert isinstance(first.wait(10), Finished)
    final = second.wait(10)
    assert isinstance(final, Finished) and final.status == "aborted"
    runner.shutdown()
