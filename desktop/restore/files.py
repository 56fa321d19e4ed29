"""Files in and out of the queue: folders expanded, clipboard images kept, output names chosen."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

MAX_FOLDER_FILES = 5000
MODEL_SUFFIXES = {".pth", ".pt", ".ckpt", ".safetensors", ".bin"}


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
    """``photo.jpg`` -> ``photo_restored.jpg`` (same format as the source)."""
    src = Path(source)
    return f"{src.stem}_{tag}{src.suffix or '.png'}"


def unique_outputs(sources: list[str], folder: Path, tag: str = "restored") -> list[Path]:
    """One output path per source in ``folder``; names never collide with each other."""
    seen: dict[str, int] = {}
    out = []
    for src in sources:
        name = output_name(src, tag)
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            p = Path(name)
            name = f"{p.stem}_{seen[key]}{p.suffix}"
        out.append(folder / name)
    return out
