"""Jobs run in a child process: the same events, result and control as on a thread, and one
clear line when the child fails or dies."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine.events import Failed, Finished, Log, Progress
from engine.job_process import in_process
from engine.jobs import Runner


# -- jobs for the child (module level: the child imports them by name) ---------------------
def counting_job(spec, control):
    """Reports its pid, then counts (a file shows how far) until stopped or ``spec['n']``."""
    yield Log("info", f"pid {os.getpid()}")
    marker = Path(spec["marker"])
    try:
        for i in range(spec["n"]):
            if control.stop_requested:
                return {"stopped_at": i}
            marker.write_text(str(i))
            yield Progress(i + 1, spec["n"], "counting")
            time.sleep(spec.get("sleep", 0.0))
        return {"counted": spec["n"]}
    finally:
        Path(spec["marker"] + ".saved").write_text("saved")   # what an abort lets it keep


def failing_job(spec, control):
    yield Log("info", "about to fail")
    raise ValueError("the child's own error")


def dying_job(spec, control):
    yield Log("info", "about to die")
    os.kill(os.getpid(), signal.SIGKILL)
    yield Log("info", "never")


def run(job, spec, act=None):
    """Submit ``in_process(job)``; ``act(handle, events)`` runs after each event."""
    runner, events = Runner(), []
    handle = runner.submit(in_process(job), spec, events.append, title=job.__name__)
    deadline = time.monotonic() + 120
    while not handle.done.is_set() and time.monotonic() < deadline:
        if act is not None:
            act(handle, events)
        time.sleep(0.05)
    runner.shutdown()
    assert handle.done.is_set(), "the job did not end"
    return events


def test_a_child_runs_the_job_and_returns_its_result(tmp_path):
    events = run(counting_job, {"n": 3, "marker": str(tmp_path / "m")})
    logs = [e.text for e in events if isinstance(e, Log)]
    assert logs and logs[0] != f"pid {os.getpid()}"              # it ran elsewhere
    assert [e.done for e in events if isinstance(e, Progress)] == [1, 2, 3]
    assert events[-1] == Finished(events[0].job_id, "done", {"counted": 3})


def test_stop_reaches_the_child_which_returns(tmp_path):
    marker = tmp_path / "m"

    def stop_after_two(handle, events):
        if sum(isinstance(e, Progress) for e in events) >= 2:
            handle.control.stop()

    events = run(counting_job, {"n": 10_000, "marker": str(marker), "sleep": 0.02}, stop_after_two)
    final = events[-1]
    assert isinstance(final, Finished) and final.status == "stopped"
    assert final.result["stopped_at"] < 10_000


def test_abort_lets_the_child_save_then_end(tmp_path):
    marker = tmp_path / "m"

    def abort_after_one(handle, events):
        if any(isinstance(e, Progress) for e in events):
            handle.control.abort()

    events = run(counting_job, {"n": 10_000, "marker": str(marker), "sleep": 0.02}, abort_after_one)
    assert isinstance(events[-1], Finished) and events[-1].status == "aborted"
    assert (tmp_path / "m.saved").read_text() == "saved"


def test_pause_holds_the_child(tmp_path):
    marker = tmp_path / "m"
    seen = {}

    def pause_then_resume(handle, events):
        if "paused" not in seen and any(isinstance(e, Progress) for e in events):
            handle.control.pause()
            time.sleep(1.0)
            seen["paused"] = marker.read_text()
            time.sleep(1.0)
            seen["later"] = marker.read_text()     # the child counted no further while paused
            handle.control.resume()

    events = run(counting_job, {"n": 40, "marker": str(marker), "sleep": 0.01}, pause_then_resume)
    assert seen["later"] == seen["paused"]
    assert events[-1].status == "done" and events[-1].result == {"counted": 40}


def test_a_failing_child_is_one_line_with_its_traceback():
    events = run(failing_job, {})
    final = events[-1]
    assert isinstance(final, Failed)
    assert final.message == "Unexpected error: ValueError: the child's own error"
    assert "failing_job" in final.detail


def test_a_child_that_dies_is_one_clear_error():
    final = run(dying_job, {})[-1]
    assert isinstance(final, Failed)
    assert "process ended unexpectedly (exit code -9)" in final.message
