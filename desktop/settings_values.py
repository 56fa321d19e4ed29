"""What the settings file may hold: every known key's default and the check its value must
pass (type and range). Plain Python: the store (desktop.settings.Settings) and the CLI read it
without Qt."""
from __future__ import annotations

import math
import re
from typing import Any

DEVICES = ("auto", "cpu", "cuda")
THEMES = ("dark", "light")
VIEWER_MODES = ("split", "side", "difference", "blink", "compare")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("auto", "eager", "onnxruntime", "openvino")   # engine.backends.NAMES, "auto" first
MAX_FILE_BYTES = 8 << 20   # a settings file larger than this is not ours
MAX_DEPTH = 32             # nesting a settings value may have
MAX_TEXT = 4096            # characters of a path or a name
MAX_ITEMS = 10_000         # entries of a list (the workspace) or a table

DEFAULTS: dict[str, Any] = {
    "theme": "dark",
    "device": "auto",
    "threads": 0,            # 0: the library default
    "budget_mb": 512,        # memory budget that sizes tiles
    "tile": 0,               # 0: tile size from the budget
    "precision": "auto",
    "backend": "auto",       # auto: the measured fastest (engine.backend_choice)
    "strength": 100,         # percent of the model output blended over the input
    "post": [],              # post-processing steps after the model (engine.postprocess)
    "scale": 0,              # 0: the model's own scale
    "model": "",             # last model chosen in the picker
    "method_options": {},    # model id -> {option: value} for classical methods
    "default_models": {},    # task -> model id
    "workspace": [],         # the queue's files, reopened on the next launch
    "first_run_done": False,
    "page": "Restore",
    "viewer_mode": "split",
    "last_dir": "",
    "save_dir": "",
    "save_quality": 0,       # JPEG / WebP quality of saved results; 0: the engine's default
    "window": {},            # geometry / state / splitter sizes (hex strings, lists)
    "train_form": {},        # the Train page's last run form (a raw config dict)
}


# -- checks: each returns the value to keep or raises ValueError ------------------------
def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a JSON value; raises ValueError past ``limit``."""
    stack, deepest = [(value, 1)], 0
    while stack:
        node, d = stack.pop()
        if d > limit:
            raise ValueError(f"nested deeper than {limit} levels")
        deepest = max(deepest, d)
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


def _whole(lo: int, hi: int, *also: int):
    def check(value: Any) -> int:
        number = _number(value)
        if isinstance(number, float) and not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        number = int(number)
        if not (lo <= number <= hi or number in also):
            raise ValueError(f"{number} is outside {lo}..{hi}")
        return number
    return check


def _one_of(*allowed: str):
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value
    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\0" in value:
        raise ValueError(f"{str(value)[:40]!r} is not a short text")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError("not a list of texts")
    return [_text(v) for v in value]


def _table(check_value):
    def check(value: Any) -> dict:
        if not isinstance(value, dict) or len(value) > MAX_ITEMS:
            raise ValueError("not a table")
        return {_text(k): check_value(v) for k, v in value.items()}
    return check


def _method_values(value: Any) -> dict:
    """{option: number} of a classical method (the spin boxes take finite, modest numbers)."""
    out = _table(_number)(value)
    if any(abs(v) > 1e6 for v in out.values()):
        raise ValueError("an option is out of range")
    return out


def _device(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,2})?", value):
        raise ValueError(f"{str(value)[:40]!r} is not a device")
    return value


def _page(value: Any) -> str:
    from .pages import PAGES

    return _one_of(*PAGES)(value)


def _window(value: Any) -> dict:
    """Geometry (hex) and splitter sizes; a bad part is dropped, the rest kept."""
    if not isinstance(value, dict):
        raise ValueError("not a table")
    out, bad = {}, []
    geometry = value.get("geometry")
    if geometry is not None:
        if isinstance(geometry, str) and len(geometry) <= MAX_TEXT \
                and re.fullmatch(r"[0-9a-fA-F]*", geometry):
            out["geometry"] = geometry
        else:
            bad.append("geometry")
    sizes = value.get("splitter")
    if sizes is not None:
        try:
            if not isinstance(sizes, list) or len(sizes) != 3:
                raise ValueError
            out["splitter"] = [_whole(0, 100_000)(s) for s in sizes]
        except ValueError:
            bad.append("splitter")
    if bad:
        raise _Partly(out, f"bad {' and '.join(bad)}")
    return out


def _train_form(value: Any) -> dict:
    """A raw run config; the Train page checks its fields when it shows them."""
    if not isinstance(value, dict):
        raise ValueError("not a table")
    return value


class _Partly(ValueError):
    """Part of a value was bad: keep ``kept``, report the rest."""

    def __init__(self, kept: Any, why: str) -> None:
        super().__init__(why)
        self.kept = kept


CHECKS: dict[str, Any] = {
    "theme": _one_of(*THEMES),
    "device": _device,
    "threads": _whole(0, 1024),
    "budget_mb": _whole(64, 1 << 20),
    "tile": _whole(32, 8192, 0),
    "precision": _one_of(*PRECISIONS),
    "backend": _one_of(*BACKENDS),
    "strength": _whole(0, 100),
    "post": _texts,
    "scale": _whole(0, 4),
    "model": _text,
    "method_options": _table(_method_values),
    "default_models": _table(_text),
    "workspace": _texts,
    "first_run_done": _flag,
    "page": _page,
    "viewer_mode": _one_of(*VIEWER_MODES),
    "last_dir": _text,
    "save_dir": _text,
    "save_quality": _whole(0, 100),
    "window": _window,
    "train_form": _train_form,
}


def check_value(key: str, value: Any) -> Any:
    """``value`` as the setting ``key`` keeps it; raises ValueError when it does not fit."""
    _depth(value)
    check = CHECKS.get(key)
    return value if check is None else check(value)
