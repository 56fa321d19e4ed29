"""Generated data sets for the research presets, made deterministically from a seed.

- ``labelled``: one sub-folder per class of ten shape classes (circle, square,
  ..., star) in random colours, sizes and rotations over natural-image crops
  with a little noise: a small CIFAR stand-in for note 000's classifier test.
- ``composites``: note 003's dense-prediction data. Objects (drawn shapes, or
  cut-outs of the source photos with a blob outline) are pasted on a
  background crop; ``input/`` holds the composite, ``mask/`` the foreground
  mask and ``depth/`` a depth map (nearness: 1 = close). The background is a
  ground plane (nearer towards the bottom), an object stands where its base
  touches the plane, so lower objects are nearer, drawn larger and in front.
- ``realsr``: note 004's degradation material: ``noise/`` real noise patches
  cut from the source photos by two-stage NL-means extraction and ``kernels/``
  a pool of anisotropic Gaussian and short motion kernels (standing in for
  kernels estimated from real photos, which the note does not publish).

``generated(kind, ...)`` makes a set once into ``cache_dir()/research`` (a
folder named by a hash of its parameters, written to a temporary sibling and
renamed, so concurrent runs agree); ``restorelab datasets generate`` writes
one anywhere.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from engine import paths
from engine.errors import ConfigError
from engine.events import Log, Progress, Saved

from . import shapes as S

VERSION = 1   # bump when a generator's output changes, so caches are remade
DEFAULTS = {"labelled": (1000, 32), "composites": (1500, 64), "realsr": (16, 64)}   # count, size
MAX_SOURCES = 48
OBJECTS = ("circle", "square", "triangle", "ring", "cross", "diamond", "star")   # composites' shapes


@dataclass(frozen=True)
class GenerateSpec:
    kind: str
    output: str
    count: int = 0          # 0: the kind's default (labelled: images, realsr: source photos)
    size: int = 0           # 0: the kind's default (realsr: noise patch side)
    source: str = ""        # photos for backgrounds, cut-outs and noise patches
    seed: int = 0


def _sources(folder: str, limit: int = MAX_SOURCES) -> list[np.ndarray]:
    if not folder:
        return []
    from ..datasets import image_files, load_pixels

    return [np.rint(load_pixels(p) * 255).astype(np.uint8) for p in image_files(folder, limit)]


def _save(path: Path, img: np.ndarray) -> None:
    """8-bit PNG (RGB or grey), written directly: the whole folder is renamed into place."""
    u8 = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    if u8.ndim == 3 and u8.shape[2] == 3:
        u8 = u8[:, :, ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(u8.squeeze())):
        raise OSError(f"could not write {path}")


# -- labelled shapes ----------------------------------------------------------------
def labelled_image(label: int, size: int, rng: np.random.Generator, sources) -> np.ndarray:
    img = S.background(size, rng, sources)
    img = img * rng.uniform(0.5, 0.9) + rng.uniform(0, 0.2)   # keep some contrast for the shape
    mask = S.shape_mask(S.SHAPES[label], size, rng)[..., None]
    fill = S.colour(rng, img.mean(axis=(0, 1)))
    shade = 1 - 0.3 * np.linspace(0, 1, size, dtype=np.float32)[:, None, None] * rng.uniform(-1, 1)
    img = img * (1 - mask) + np.clip(fill * shade, 0, 1) * mask
    return np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1).astype(np.float32)


def make_labelled(spec: GenerateSpec, folder: Path) -> Iterator[Progress]:
    sources = _sources(spec.source)
    for name in S.SHAPES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in range(spec.count):
        label = i % len(S.SHAPES)
        rng = np.random.default_rng([spec.seed, 11, i])
        _save(folder / S.SHAPES[label] / f"{i:05d}.png", labelled_image(label, spec.size, rng, sources))
        if (i + 1) % 100 == 0 or i + 1 == spec.count:
            yield Progress(i + 1, spec.count, "generating labelled shapes")


# -- composites ---------------------------------------------------------------------
def composite(size: int, rng: np.random.Generator, sources) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image HWC, mask HW, depth HW) of one composite."""
    img = S.background(size, rng, sources)
    horizon = float(rng.uniform(0.15, 0.45))
    rows = np.linspace(0, 1, size, dtype=np.float32)
    plane = np.clip((rows - horizon) / (1 - horizon), 0, 1) * 0.8 + 0.1   # nearness of the ground
    depth = np.repeat(plane[:, None], size, axis=1)
    mask = np.zeros((size, size), np.float32)
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        base = float(rng.uniform(horizon + 0.1, 1.0))          # where it stands, 0..1 from the top
        near = float(np.clip((base - horizon) / (1 - horizon), 0, 1))
        objects.append((near, base))
    for near, base in sorted(objects):                          # far ones first: near ones occlude
        side = int(size * (0.25 + 0.45 * near))
        if rng.random() < 0.5 or not sources:
            m = S.shape_mask(OBJECTS[int(rng.integers(len(OBJECTS)))], side, rng, (0.7, 0.95))
            look = np.clip(S.colour(rng) * (0.7 + 0.3 * rng.random((side, side, 1))), 0, 1)
        else:
            m = S.blob_mask(side, rng, (0.7, 0.95))
            look = S.crop_of(sources[int(rng.integers(len(sources)))], side, rng)
        y = int(np.clip(base * size - side, 0, size - side))
        x = int(rng.integers(0, size - side + 1))
        win = (slice(y, y + side), slice(x, x + side))
        a = m[..., None]
        img[win] = img[win] * (1 - a) + look.astype(np.float32) * a
        obj_depth = np.clip(0.1 + 0.8 * near + 0.05 * np.linspace(-1, 1, side)[:, None], 0, 1)
        depth[win] = np.where(m > 0.5, obj_depth, depth[win])
        mask[win] = np.maximum(mask[win], (m > 0.5).astype(np.float32))
    return img, mask, depth.astype(np.float32)


def make_composites(spec: GenerateSpec, folder: Path) -> Iterator[Progress]:
    sources = _sources(spec.source)
    for sub in ("input", "mask", "depth"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for i in range(spec.count):
        img, mask, depth = composite(spec.size, np.random.default_rng([spec.seed, 13, i]), sources)
        for sub, arr in (("input", img), ("mask", mask), ("depth", depth)):
            _save(folder / sub / f"{i:05d}.png", arr)
        if (i + 1) % 100 == 0 or i + 1 == spec.count:
            yield Progress(i + 1, spec.count, "generating composites")


# -- RealSR material ----------------------------------------------------------------
def kernel_pool(n: int, rng: np.random.Generator, size: int = 13) -> list[np.ndarray]:
    """Anisotropic Gaussians (sigma 0.6..2.4, any angle) and a few short motion kernels."""
    from ..degradations.kernels import motion_kernel, normalize_kernel

    out = []
    half = size // 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    for i in range(n):
        if i % 4 == 3:
            k = motion_kernel(float(rng.uniform(3, 7)), float(rng.uniform(0, 180)))
        else:
            sx, sy, t = rng.uniform(0.6, 2.4), rng.uniform(0.6, 2.4), rng.uniform(0, np.pi)
            u = xx * np.cos(t) + yy * np.sin(t)
            v = -xx * np.sin(t) + yy * np.cos(t)
            k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
        out.append(normalize_kernel(k, "generated kernel"))
    return out


def make_realsr(spec: GenerateSpec, folder: Path) -> Iterator[Progress]:
    from ..degradations.realsr import extract_noise_patches, save_patches

    rng = np.random.default_rng([spec.seed, 17])
    (folder / "kernels").mkdir(parents=True, exist_ok=True)
    for i, k in enumerate(kernel_pool(24, rng)):
        np.save(folder / "kernels" / f"kernel_{i:03d}.npy", k.astype(np.float32), allow_pickle=False)
    sources = _sources(spec.source, spec.count)
    if not sources:
        raise ConfigError("research.generate 'realsr' needs research.source: photos to cut noise from")
    for i, img in enumerate(sources):
        patches = extract_noise_patches([img.astype(np.float32) / 255], spec.size, 8, rng)
        save_patches(patches, folder / "noise")
        yield Progress(i + 1, len(sources), "cutting noise patches")


MAKERS = {"labelled": make_labelled, "composites": make_composites, "realsr": make_realsr}


def complete(spec: GenerateSpec) -> GenerateSpec:
    if spec.kind not in MAKERS:
        raise ConfigError(f"unknown generated set '{spec.kind}' (known: {', '.join(MAKERS)})")
    count, size = DEFAULTS[spec.kind]
    return replace(spec, count=spec.count or count, size=spec.size or size)


def generate_job(spec: GenerateSpec, control=None) -> Iterator:
    """Write a generated set into ``spec.output`` (a new folder, or an empty one)."""
    spec = complete(spec)
    out = Path(spec.output).expanduser()
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; give a new folder")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield from MAKERS[spec.kind](spec, tmp)
        (tmp / "generated.json").write_text(json.dumps({**spec.__dict__, "output": str(out),
                                                        "version": VERSION}, indent=1))
        if out.exists():
            out.rmdir()
        try:
            os.rename(tmp, out)
        except OSError:
            if not (out / "generated.json").exists():   # not a concurrent twin that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    yield Saved(str(out), "folder")
    return {"output": str(out), "kind": spec.kind, "count": spec.count, "size": spec.size}


def generated(spec: GenerateSpec) -> Iterator:
    """The cached folder of ``spec`` (``output`` ignored), made on first use."""
    spec = complete(spec)
    key = json.dumps([VERSION, spec.kind, spec.count, spec.size, spec.source, spec.seed])
    name = f"{spec.kind}-{spec.size}px-{spec.count}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    folder = paths.cache_dir() / "research" / name
    if not (folder / "generated.json").exists():
        yield Log("info", f"generating {spec.kind} data into {folder} (once)")
        shutil.rmtree(folder, ignore_errors=True)
        yield from generate_job(replace(spec, output=str(folder)))
    return folder


def prepare_data(cfg):
    """The DataConfig to train on: generated folders fill the empty parts of ``cfg.data``."""
    res, data = cfg.research, cfg.data
    if not res.generate:
        return data
    spec = GenerateSpec(res.generate, "", res.count, res.size, res.source, cfg.seed)
    folder = yield from generated(spec)
    if res.generate == "labelled" and not data.train:
        return replace(data, train=str(folder))
    if res.generate == "composites" and not data.train:
        return replace(data, train=str(folder / "input"),
                       target=data.target or [str(folder / "mask"), str(folder / "depth")])
    if res.generate == "realsr":
        fill = {"noise_patches": folder / "noise", "kernel_blur": folder / "kernels"}
        recipe = [dict(step, folder=str(fill[step["type"]]))
                  if step.get("type") in fill and not (step.get("folder") or step.get("paths")
                                                       or step.get("kernels") or step.get("patches"))
                  else step for step in data.recipe]
        return replace(data, recipe=recipe)
    return data
