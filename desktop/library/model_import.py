"""Importing model files as one job: each file reported on its own, a bad one never stops the rest.

The job runs on the engine's runner (never the UI thread) and calls
``engine.importer.import_model`` for each file, so a drop, the file picker and
"Import folder..." all get the importer's checks. Each file ends in an
``ItemDone`` (output: the new model id) or an ``ItemFailed`` (one line a person
can act on); the job's result lists every file with what became of it.
"""
from __future__ import annotations

from pathlib import Path

from engine.importer import SUFFIXES   # torch-free at import


def is_model_file(path: str | Path) -> bool:
    """A file the importer accepts (by its suffix)."""
    return Path(path).suffix.lower() in SUFFIXES


def model_files(folder: str | Path) -> list[Path]:
    """The model files directly inside ``folder`` (not hidden ones), sorted by name."""
    try:
        found = [p for p in Path(folder).iterdir()
                 if p.is_file() and is_model_file(p) and not p.name.startswith(".")]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name.lower())


def one_line(message: str, name: str) -> str:
    """The importer's message as one short line, without the file name it may start with."""
    text = (message or "").strip().splitlines()[0] if (message or "").strip() else "unknown error"
    for prefix in (f"{name}: ", f"{name} was refused: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return text if len(text) <= 220 else text[:219] + "…"


def import_files_job(paths: list[str], control):
    """Import each file in turn; result: one dict per file (source, name, then either
    id / architecture / scale or error). A stop request ends the batch between files."""
    from engine.events import ItemDone, ItemFailed, Progress
    from engine.importer import import_model

    results: list[dict] = []
    total = len(paths)
    for index, source in enumerate(paths):
        if control.stop_requested:
            break
        name = Path(source).name
        yield Progress(index, total, f"importing {name}")
        record = {"source": str(source), "name": name}
        try:
            entry = import_model(source)
        except MemoryError:
            record["error"] = "not enough memory to import it"
        except Exception as err:   # ModelError, or anything else: this file only
            message = str(err) if str(err) else type(err).__name__
            record["error"] = one_line(message, name)
        else:
            record.update(id=entry.id, architecture=entry.card.get("architecture_name", entry.arch),
                          scale=entry.card.get("scale", 1))
        results.append(record)
        if "error" in record:
            yield ItemFailed(index, str(source), record["error"])
        else:
            yield ItemDone(index, str(source), record["id"])
    yield Progress(len(results), total, "done")
    return results


def describe(record: dict) -> str:
    """One line for a file of a batch: imported as what, or refused and why."""
    if "error" in record:
        return f"{record['name']} — refused: {record['error']}"
    if "id" in record:
        kind = record.get("architecture")
        what = f" ({kind}, ×{record['scale']})" if kind else ""
        return f"{record['name']} — imported as '{record['id']}'{what}"
    return f"{record['name']} — {record.get('state', 'waiting')}…"
