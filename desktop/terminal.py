"""Terminal subscriber for jobs: a one-line progress bar on stderr, errors as one line."""
from __future__ import annotations

import sys
import time

from engine.events import Event, Failed, Finished, ItemFailed, Log, Metric, Progress, Rollback, Saved


class TerminalProgress:
    """Prints job events; remembers whether anything failed (for the exit code)."""

    def __init__(self, stream=None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.failures = 0
        self.final: Event | None = None
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._metrics: dict[str, float] = {}
        self._bar_open = False
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def _bar(self, ev: Progress) -> None:
        now = time.monotonic()
        if now - self._last_draw < 0.2 and ev.done < ev.total:
            return
        self._last_draw = now
        frac = 0.0 if ev.total <= 0 else min(1.0, ev.done / ev.total)
        elapsed = now - self._start
        eta = ev.eta_s if ev.eta_s is not None else (elapsed / frac * (1 - frac) if frac > 0 else None)
        bar = "#" * int(frac * 24)
        extras = " ".join(f"{k}={v:.4g}" for k, v in list(self._metrics.items())[:4])
        text = (f"[{bar:<24}] {frac * 100:5.1f}% {ev.stage[:64]} "
                f"{'ETA ' + _fmt(eta) if eta is not None else ''} {extras}").rstrip()
        if self._tty:
            self.stream.write("\r" + text[:150].ljust(100))
            self._bar_open = True
        elif frac >= 1.0 or now - self._start > 0:
            self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, Progress):
            if not self.quiet:
                self._bar(ev)
        elif isinstance(ev, Metric):
            self._metrics[ev.name] = ev.value
        elif isinstance(ev, ItemFailed):
            self.failures += 1
            self._line(f"error: {ev.source}: {ev.message}")
        elif isinstance(ev, Failed):
            self.failures += 1
            self.final = ev
            self._line(f"error: {ev.message}")
        elif isinstance(ev, Log):
            if ev.level != "info" or not self.quiet:
                self._line(f"{ev.level}: {ev.text}" if ev.level != "info" else ev.text)
        elif isinstance(ev, Rollback):
            self._line(f"warning: step {ev.step}: {ev.reason}; rolled back, lr now {ev.new_lr:.3g}")
        elif isinstance(ev, Saved):
            if not self.quiet:
                self._line(f"saved {ev.path}")
        elif isinstance(ev, Finished):
            self.final = ev
            if self._bar_open:
                self._line("")


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
