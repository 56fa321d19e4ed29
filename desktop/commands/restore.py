"""`restorelab restore IN... -o OUT`: restore images headless."""
from __future__ import annotations

import argparse
from pathlib import Path

# as engine.backends.NAMES (not imported here: `--help` loads no numpy); a test keeps them equal
BACKEND_CHOICES = ("auto", "eager", "compile", "onnxruntime", "openvino")
RAW_CHOICES = ("srgb", "linear")   # as engine.imagebase.RAW_DEVELOP, likewise


def add_parser(sub) -> None:
    p = sub.add_parser("restore", help="restore images or folders with a model",
                       description="Restore images. OUT is a file for one input, a folder for many.")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    p.add_argument("--model", default="bicubic", help="model id, classical method or model folder")
    p.add_argument("--scale", type=int, help="output scale (default: the model's own)")
    p.add_argument("--tile", type=int, help="tile size in pixels (0: no tiling; default: from memory)")
    p.add_argument("--overlap", type=int, help="tile overlap in pixels")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="auto (default): bf16 where the model card's check measured it equal to fp32 "
                        "and the device runs it natively, else fp32")
    p.add_argument("--backend", choices=BACKEND_CHOICES,
                   help="what runs the net: auto measures each (once per model and device, "
                        "cached) and keeps the fastest whose output equals eager fp32; a name "
                        "forces one (non-eager ones run fp32); default: the cached measured "
                        "choice, else eager")
    p.add_argument("--strength", type=float, default=1.0, help="blend with the input (0..1)")
    p.add_argument("--post", default="", metavar="STEPS",
                   help="post-processing after the model, comma-separated: nlmeans (gentle "
                        "two-stage denoise), autocontrast, dither (to 8 bits); e.g. --post nlmeans,dither")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--format", dest="suffix", help="output format for folders, e.g. png")
    p.add_argument("--quality", type=quality, metavar="N",
                   help="JPEG/WebP quality, 1-100 (default 95; 100 is lossless WebP; without it "
                        "a lossless WebP input stays lossless)")
    p.add_argument("--raw", choices=RAW_CHOICES, default="srgb",
                   help="how camera RAW files (DNG, CR2, NEF, ARW) are developed: srgb "
                        "(default) with the sRGB tone curve, as other photos are; linear keeps "
                        "linear light for editing: the model still sees it in sRGB, and the "
                        "16-bit TIFF saved is linear, tagged with a gamma 1.0 sRGB profile")
    p.add_argument("--overwrite", action="store_true",
                   help="allow outputs to replace input images (refused otherwise)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. --set sigma=2.0 (classical methods)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def quality(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100, not '{text}'")
    return value


def expand(inputs: list[str], skipped: list[str] | None = None,
           notes: list[str] | None = None) -> list[Path]:
    """Files to restore: folders (whatever their name) expand to the images under
    them; a folder holding none is named in ``skipped``, and one named like an image
    (``x.png/``), which a user may take for a file, gets a line in ``notes``."""
    from engine.imageio import is_image_path

    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
            name = path.name or item
            if not found and skipped is not None:
                skipped.append(f"{name}: a folder with no images")
            elif found and notes is not None and is_image_path(path):
                notes.append(f"{name} is a folder: restoring the {len(found)} "
                             f"image{'s' if len(found) > 1 else ''} in it")
            files.extend(found)
        else:
            files.append(path)  # missing files fail per item, with their name
    return files


def parse_sets(items: list[str]) -> dict:
    import json

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: --set needs KEY=VALUE, got '{item}'")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def run(args: argparse.Namespace) -> int:
    import sys

    from engine import devices
    from engine.inference import InferenceOptions
    from engine.postprocess import parse_steps
    from engine.restore import RestoreSpec, check_overwrite, output_paths, restore_job

    from .common import run_job

    post = parse_steps(args.post)   # a typo fails before any work
    skipped: list[str] = []
    notes: list[str] = []
    files = expand(args.inputs, skipped, notes)
    for note in notes if not args.quiet else ():
        print(note, file=sys.stderr)
    if skipped:
        print(f"skipped {'; '.join(skipped)}", file=sys.stderr)
    if not files:
        print("error: no images found in the given inputs", file=sys.stderr)
        return 2
    output = Path(args.output)
    if len(files) > 1:
        if output.exists() and not output.is_dir():
            print(f"error: {output} is a file; several inputs need an output folder", file=sys.stderr)
            return 2
        output.mkdir(parents=True, exist_ok=True)
    suffix = f".{args.suffix.lstrip('.')}" if args.suffix else None
    if not args.overwrite:   # before any work; the job checks again (the window uses it too)
        check_overwrite(files, output_paths(files, output, suffix))
    if args.threads:   # torch is imported only when a net needs it (not for classical methods)
        devices.set_threads(args.threads)
    spec = RestoreSpec(
        inputs=tuple(str(f) for f in files), output=str(output), model=args.model,
        scale=args.scale, device=args.device, precision=args.precision,
        inference=InferenceOptions(tile=args.tile, overlap=args.overlap, strength=args.strength,
                                   postprocess=post, backend=args.backend),
        options=parse_sets(args.set), suffix=suffix, quality=args.quality,
        overwrite=args.overwrite, raw=args.raw)
    printer = run_job(restore_job, spec, device=args.device, title="restore", quiet=args.quiet)
    return 1 if printer.failures else 0
