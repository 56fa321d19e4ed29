"""What the Models page says about an import batch: the results panel's rows and the summary line.

A batch is the page's record of one import job: ``{"origin": folder or None, "records": [...]}``
with one record a file (``source``, ``name``, then ``id`` once imported or ``error`` once
refused), and ``finished`` once the job ended. Pure text: no Qt here.
"""
from __future__ import annotations

from pathlib import Path


def from_folder(origin: str | None) -> str:
    """" from <folder>" when the files came from a folder, else ''."""
    return f" from {Path(origin).name}" if origin else ""


def progress(batch: dict) -> tuple[str, list[tuple[str, str, str]]]:
    """The results panel's title and rows (state, description, model id) for a batch."""
    from .model_import import describe

    records = batch["records"]
    done = [r for r in records if "id" in r]
    refused = [r for r in records if "error" in r]
    where = from_folder(batch["origin"])
    if batch.get("finished", False):
        title = f"Imported {len(done)} of {len(records)}{where}" + \
            (f" · {len(refused)} refused" if refused else "")
    else:
        title = f"Importing {len(records)} files{where} · {len(done) + len(refused)} done"
    rows = [("ok" if "id" in r else "failed" if "error" in r else "waiting", describe(r),
             r.get("id", "")) for r in records]
    return title, rows


def summary(batch: dict, event) -> str:
    """One line for the notice and the status bar: what was imported, what was not."""
    records = batch["records"]
    done = [r for r in records if "id" in r]
    refused = [r for r in records if "error" in r]
    if type(event).__name__ == "Failed":
        what = records[0]["name"] if len(records) == 1 else "the models"
        return f"Could not import {what}: {event.message}"
    if len(records) == 1 and refused:
        return f"Could not import {refused[0]['name']}: {refused[0]['error']}"
    kinds = list(dict.fromkeys(f"{r['architecture']} ×{r['scale']}" for r in done
                               if "architecture" in r))   # not known if the job was aborted
    if len(records) == 1 and done:
        r = done[0]
        return f"Imported {r['name']} as '{r['id']}'" + \
            (f" ({r['architecture']}, ×{r['scale']})." if kinds else ".")
    text = f"Imported {len(done)} of {len(records)} model files{from_folder(batch['origin'])}"
    if kinds:
        text += f" ({', '.join(kinds[:3])}{', …' if len(kinds) > 3 else ''})"
    if refused:
        names = ", ".join(r["name"] for r in refused[:2]) + (" …" if len(refused) > 2 else "")
        text += f"; {len(refused)} refused ({names})"
    if getattr(event, "status", "done") != "done":
        text += f"; stopped before {len(records) - len(done) - len(refused)} more"
    return text + "."
