"""Files in and out of the queue: folders expanded, clipboard images kept, output names chosen."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

MAX_FOLDER_FILES = 5000


def is_image(path: Path) -> bool:
    from engine.imageio import is_image_path

    return is_image_path(path)


def expand(paths: list[str | Path]) -> tuple[list[str], list[str]]:
    """(image files, skipped files): folders are searched (recursively) for images."""
    images, skipped = [], []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted((f for f in p.rglob("*") if f.is_file() and is_image(f)
                            and not any(part.startswith(".") for part in f.relative_to(p).parts)),
                           key=lambda f: str(f).lower())
            images.extend(str(f) for f in found[:MAX_FOLDER_FILES])
        elif is_image(p):
            images.append(str(p))
        else:
            skipped.append(str(p))
    return images, skipped


def paste_target() -> Path:
    """Where a pasted clipboard image is kept (the cache dir, one file per paste)."""
    from engine.paths import cache_dir

    folder = cache_dir() / "pasted"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"pasted-{stamp}.png"


def output_name(source: str, tag: str = "restored") -> str:
    """``photo.jpg`` -> ``photo_restored.jpg`` (same format as the source; a camera RAW,
    which cannot be written, as .tif)."""
    from engine.imageio import output_suffix

    src = Path(source)
    return f"{src.stem}_{tag}{output_suffix(src) if src.suffix else '.png'}"


def same_file_key(path: str | Path) -> Path:
    """A path as compared with others (absolute, links resolved where they exist)."""
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(path).expanduser().absolute()


def unique_outputs(sources: list[str], folder: Path, tag: str = "restored",
                   avoid: set[Path] | None = None) -> list[Path]:
    """One output path per source in ``folder``; names never collide with each other, nor
    with a file in ``avoid`` (the originals: a result never replaces one unasked)."""
    avoid = avoid or set()
    taken: set[str] = set()
    out = []
    for src in sources:
        p = Path(output_name(src, tag))
        name, n = p.name, 1
        while name.lower() in taken or same_file_key(folder / name) in avoid:
            n += 1
            name = f"{p.stem}_{n}{p.suffix}"
        taken.add(name.lower())
        out.append(folder / name)
    return out
