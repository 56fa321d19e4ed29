"""Test helper: which threads a function ran on."""
from __future__ import annotations

import threading


def record_threads(monkeypatch, owner, name: str) -> list[threading.Thread]:
    """Wrap ``owner.name`` so each call appends the thread it ran on; returns that list."""
    threads: list[threading.Thread] = []
    real = getattr(owner, name)

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return threads
