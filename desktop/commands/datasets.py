"""`restorelab datasets ...`: preview degradation recipes, cut noise patches, named datasets."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import print_json, run_job, table

GENERATED = ("labelled", "composites", "realsr")   # training.research.GENERATORS (no import at startup)


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="preview recipes, prepare noise patches, named datasets")
    dsub = p.add_subparsers(dest="datasets_cmd", required=True)

    pv = dsub.add_parser("preview", help="render (input | target) pairs a recipe makes")
    pv.add_argument("recipe", help="a TOML file with a recipe list (or [data] recipe), or a preset name")
    pv.add_argument("-n", type=int, default=8, help="number of pairs (default 8)")
    pv.add_argument("-o", "--output", required=True, help="the PNG to write")
    pv.add_argument("--images", help="folder of clean images (default: the preset's data.train)")
    pv.add_argument("--crop", type=int, default=0, help="crop size (default: data.crop, or 96)")
    pv.add_argument("--seed", type=int, default=0)
    pv.set_defaults(func=preview)

    pn = dsub.add_parser("prepare-noise", help="cut real noise patches from photos (RealSR recipe)")
    pn.add_argument("folder")
    pn.add_argument("-o", "--output", required=True, help="folder for the .npy patches")
    pn.add_argument("--patch", type=int, default=64)
    pn.add_argument("--per-image", type=int, default=8)
    pn.add_argument("--strength", type=float, default=10.0, help="NL-means h, 8-bit units")
    pn.add_argument("--seed", type=int, default=0)
    pn.set_defaults(func=prepare_noise)

    gen = dsub.add_parser("generate", help="write a generated set of the research presets",
                          description="labelled: 10 shape classes, one folder each (a CIFAR stand-in); "
                                      "composites: input/, mask/, depth/ for dense prediction; realsr: "
                                      "noise/ patches and kernels/ for the RealSR recipe. Deterministic "
                                      "by --seed; see docs/experiments.md.")
    gen.add_argument("kind", choices=GENERATED)
    gen.add_argument("-o", "--output", required=True, help="a new (or empty) folder")
    gen.add_argument("--count", type=int, default=0,
                     help="images (realsr: photos to cut noise from); default 1000 / 1500 / 16")
    gen.add_argument("--size", type=int, default=0, help="image side (realsr: patch side); default 32 / 64 / 64")
    gen.add_argument("--source", default="", help="photos for backgrounds, cut-outs and noise patches")
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(func=generate)

    ls = dsub.add_parser("list", help="named datasets")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_named)

    add = dsub.add_parser("add", help="name a folder as a dataset (use it as data.dataset = NAME)")
    add.add_argument("name")
    add.add_argument("folder")
    add.add_argument("--kind", choices=("degrade", "paired", "labelled"), default="degrade")
    add.add_argument("--target", action="append", default=[], help="paired: target folder (repeatable)")
    add.add_argument("--copy", action="store_true", help="copy the images into the data dir")
    add.add_argument("--description", default="")
    add.set_defaults(func=add_named)

    rm = dsub.add_parser("remove", help="forget a named dataset (copied images are deleted)")
    rm.add_argument("name")
    rm.set_defaults(func=remove_named)


def _recipe_source(ref: str) -> tuple[list, dict]:
    """(recipe list, data table) from a TOML file or a preset name."""
    from engine.errors import ConfigError
    from training.config import load_raw, read_toml

    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        raw = read_toml(path)
        if "recipe" in raw:
            return raw["recipe"], raw.get("data", {})
        data = load_raw(path).get("data", {})
    else:
        data = load_raw(preset=ref).get("data", {})
    if not isinstance(data.get("recipe"), list):
        raise ConfigError(f"{ref}: no recipe list found (expected `recipe = [...]` or [data] recipe)")
    return data["recipe"], data


def _generated_data(ref: str) -> dict | None:
    """A preset or run config whose data is generated (the research presets' RealSR noise
    patches and kernels, ...): its data table with the generated folders filled in, made
    now (with progress) if this is their first use. None for every other source."""
    import dataclasses

    from engine.errors import ConfigError
    from training import research
    from training.config import load_run

    path = Path(ref)
    try:
        cfg = load_run(path) if path.suffix == ".toml" or path.exists() else load_run(preset=ref)
    except Exception:   # not a whole run config: a bare recipe file, read as before
        return None
    if not cfg.research.generate:
        return None

    def prepare_job(cfg, control):
        return (yield from research.prepare(cfg))

    printer = run_job(prepare_job, cfg, title=f"preparing {ref}'s data")
    data = getattr(printer.final, "result", None)
    if data is None:
        raise ConfigError(f"could not prepare the data {ref} needs (see above)")
    return dataclasses.asdict(data)


def preview(args: argparse.Namespace) -> int:
    import numpy as np

    from engine.errors import ConfigError
    from engine.imageio import write_image
    from training.datasets import image_files, load_pixels, random_crop
    from training.degradations import Recipe, preview_grid

    data = _generated_data(args.recipe)
    recipe_list, data = (data["recipe"], data) if data else _recipe_source(args.recipe)
    recipe = Recipe.from_list(recipe_list)
    folder = args.images or data.get("train")
    if not folder:
        raise ConfigError("give --images FOLDER (the recipe names no training images)")
    rng = np.random.default_rng(args.seed)
    crop = args.crop or int(data.get("crop", 96))
    mode = "grey" if data.get("grey") else "rgb"
    images = [random_crop([load_pixels(p, mode)], crop, 1, rng)[0]
              for p in image_files(folder, max(1, args.n))]
    if not images:
        raise ConfigError(f"no images in {folder}")
    grid = preview_grid(recipe, images, args.n, rng)
    write_image(args.output, grid.astype(np.float32) / 255)
    print(f"wrote {args.output} ({args.n} pairs: input | target)")
    return 0


def prepare_noise(args: argparse.Namespace) -> int:
    from training.datasets import NoiseSpec, noise_patches_job

    spec = NoiseSpec(args.folder, args.output, args.patch, args.per_image, args.strength, args.seed)
    printer = run_job(noise_patches_job, spec, title="noise patches")
    result = getattr(printer.final, "result", None)
    if not result:
        return 1
    print(f"{result['patches']} noise patches in {result['output']}")
    return 0


def generate(args: argparse.Namespace) -> int:
    from training.research.generate import GenerateSpec, generate_job

    spec = GenerateSpec(args.kind, args.output, args.count, args.size, args.source, args.seed)
    printer = run_job(generate_job, spec, title=f"generate {args.kind}")
    result = getattr(printer.final, "result", None)
    if not result:
        return 1
    print(f"{result['kind']}: {result['count']} x {result['size']} px in {result['output']}")
    return 0


def list_named(args: argparse.Namespace) -> int:
    from training.datasets import list_named as entries

    found = entries()
    if args.json:
        print_json(found)
    elif not found:
        print("no named datasets (add one with `restorelab datasets add NAME FOLDER`)")
    else:
        print(table([[d.get("name"), d.get("kind", ""), d.get("images", ""), d.get("train", ""),
                      "copied" if d.get("copied") else "linked", d.get("description", "")]
                     for d in found], ["name", "kind", "images", "folder", "storage", "description"]))
    return 0


def add_named(args: argparse.Namespace) -> int:
    from training.datasets import add_named as add

    entry = add(args.name, args.folder, args.kind, args.target, args.copy, args.description)
    print(f"dataset '{entry['name']}': {entry['images']} images ({entry['kind']})")
    return 0


def remove_named(args: argparse.Namespace) -> int:
    from training.datasets import remove_named as remove

    remove(args.name)
    print(f"dataset '{args.name}' removed")
    return 0
