"""The post-run report of a research preset: measures on the finished model.

``run_report`` runs each measure ``cfg.research.report`` names on the weights the
run registers (the final EMA net, or the best validation's weights when those are
kept instead) and the fixed validation pairs, and returns ``(results, details)``:
``results`` are numbers that join the run's results in the journal and the
model card's metrics (with the original's figures as ``orig_<name>``);
``details`` (learned kernel, per-image anomaly scores ...) go to the card's
``research`` entry and to ``report.json`` in the experiment folder.

Measures:

- ``losses``: ``val_mse`` and ``val_l1`` of the outputs (note 000 reports losses).
- ``kernel``: the learned kernel of the first Deconv2d (and ``out_scale``); with a
  ``four_factor_blur`` in the recipe, ``kernel_error`` = max |learned - true| of
  the monic kernels (note 000, experiment 1).
- ``nyquist``: checkerboard energy of the outputs and of the targets (003, 004).
- ``bicubic``: PSNR/SSIM of the input resized to the target (``bicubic_*`` for
  super-resolution, ``input_*`` otherwise): the baseline to beat.
- ``dense``: ``mask_iou`` (channel 0) and ``depth_l1`` (channel 1) (note 003).
- ``anomaly``: reconstruction error per image as an anomaly score: clean
  validation images against defective ones (``research.anomaly = "defects"``)
  or images of another folder; ``anomaly_auroc`` and the ranked list (note 001).
- ``train_accuracy``: mean training accuracy over the last epoch (note 000's
  classifier figures are training accuracies).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.atomic import write_text

from ..datasets import image_files, load_pixels, steps_per_epoch, to_tensor
from ..metrics import psnr, ssim
from . import measures as M


@dataclass
class Context:
    cfg: object
    loop: object
    data: object
    exp: object
    weights: dict | None = None   # measured instead of the loop's final net (the best checkpoint)
    _outputs: list = field(default_factory=list)
    _net: object = None

    def outputs(self) -> list[np.ndarray]:
        """The eval net's output for each validation input (HWC, clamped to [0, 1])."""
        if not self._outputs:
            self._outputs = [self.run(inp) for inp, _ in self.data.val]
        return self._outputs

    @torch.no_grad()
    def run(self, img: np.ndarray) -> np.ndarray:
        net = self.eval_net()
        x = to_tensor(img)[None].to(self.loop.device)
        return self.loop.predict(net, x)[0].permute(1, 2, 0).float().cpu().numpy()

    def eval_net(self):
        if self._net is None:
            if self.weights is None:
                self._net = self.loop.eval_net()
            else:
                self._net = copy.deepcopy(self.loop.net)
                self._net.load_state_dict(self.weights)
            self._net.eval()
        return self._net

    @property
    def border(self) -> int:
        val, scale = self.cfg.val, self.cfg.data.scale
        return val.border if val.border >= 0 else (scale if scale > 1 else 0)


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def losses(ctx: Context):
    pairs = list(zip(ctx.outputs(), (t for _, t in ctx.data.val)))
    return {"val_mse": _mean([np.mean((o - t) ** 2) for o, t in pairs]),
            "val_l1": _mean([np.mean(np.abs(o - t)) for o, t in pairs])}, {}


def _true_kernel(recipe: list) -> np.ndarray | None:
    for step in recipe:
        if step.get("type") == "four_factor_blur":
            k = np.asarray(step.get("kernel", ((1.0, 0.2, 0.0, 0.0), (0.2, 0.0, 0.0, 0.0))), float)
            if step.get("normalize", True):
                k = k / k.sum()
            return k / k.flat[0]
    return None


def kernel(ctx: Context):
    from engine.archs.deconv import Deconv2d

    layer = next((m for m in ctx.eval_net().modules() if isinstance(m, Deconv2d)), None)
    if layer is None:
        return {}, {}
    learned = layer.kernel()[0, 0].detach().float().cpu().numpy()
    results, details = {}, {"kernel": np.round(learned.astype(np.float64), 5).tolist()}
    if layer.out_scale is not None:
        results["out_scale"] = float(layer.out_scale.detach())
    truth = _true_kernel(ctx.cfg.data.recipe)
    if truth is not None and truth.shape == learned.shape:
        results["kernel_error"] = float(np.abs(learned - truth).max())
        details["kernel_true"] = np.round(truth, 5).tolist()
    return results, details


def nyquist(ctx: Context):
    return {"nyquist_energy": _mean([M.nyquist_energy(o) for o in ctx.outputs()]),
            "nyquist_energy_target": _mean([M.nyquist_energy(t) for _, t in ctx.data.val])}, {}


def bicubic(ctx: Context):
    y_channel, border = ctx.cfg.val.y_channel, ctx.border
    scores, ssims = [], []
    for inp, target in ctx.data.val:
        if inp.shape[2] != target.shape[2]:
            return {}, {}
        th, tw = target.shape[:2]
        base = inp if inp.shape[:2] == (th, tw) else cv2.resize(inp, (tw, th), interpolation=cv2.INTER_CUBIC)
        base = np.clip(base.reshape(th, tw, -1), 0, 1)
        scores.append(psnr(base, target, border=border, y_channel=y_channel))
        if min(th, tw) - 2 * border >= 11:
            ssims.append(ssim(base, target, border=border, y_channel=y_channel))
    name = "bicubic" if ctx.cfg.data.scale > 1 else "input"
    out = {f"{name}_psnr": _mean([s for s in scores if np.isfinite(s)])}
    if ssims:
        out[f"{name}_ssim"] = _mean(ssims)
    return out, {}


def dense(ctx: Context):
    pairs = list(zip(ctx.outputs(), (t for _, t in ctx.data.val)))
    out = {"mask_iou": _mean([M.mask_iou(o[:, :, 0], t[:, :, 0]) for o, t in pairs])}
    if pairs and pairs[0][1].shape[2] > 1:
        out["depth_l1"] = _mean([np.mean(np.abs(o[:, :, 1] - t[:, :, 1])) for o, t in pairs])
    return out, {}


def _anomalies(ctx: Context) -> list[tuple[str, np.ndarray]]:
    source = ctx.cfg.research.anomaly
    if source in ("", "defects"):
        names = ctx.data.summary.get("val_files") or [f"val{i}" for i in range(len(ctx.data.val))]
        return [(f"{Path(n).name} + defect", M.paste_defect(t, np.random.default_rng([ctx.cfg.seed, 23, i])))
                for i, ((_, t), n) in enumerate(zip(ctx.data.val, names))]
    side = ctx.data.val[0][1].shape[0]
    out = []
    for path in image_files(source, max(len(ctx.data.val), 4)):
        img = load_pixels(path, "grey" if ctx.cfg.data.grey else "rgb")
        s = min(img.shape[:2])
        y, x = (img.shape[0] - s) // 2, (img.shape[1] - s) // 2
        img = cv2.resize(img[y:y + s, x:x + s], (side, side), interpolation=cv2.INTER_AREA)
        out.append((path.name, img.reshape(side, side, -1)))
    return out


def anomaly(ctx: Context):
    """Reconstruction error of clean validation images (targets) vs anomalies."""
    names = ctx.data.summary.get("val_files") or [f"val{i}" for i in range(len(ctx.data.val))]

    def score(img):
        return float(np.mean((ctx.run(img) - img) ** 2))

    clean = [(Path(n).name, score(t)) for n, (_, t) in zip(names, ctx.data.val)]
    odd = [(n, score(img)) for n, img in _anomalies(ctx)]
    ranked = sorted([(s, n, "clean") for n, s in clean] + [(s, n, "anomaly") for n, s in odd], reverse=True)
    results = {"anomaly_auroc": M.auroc([s for _, s in clean], [s for _, s in odd]),
               "anomaly_clean": _mean([s for _, s in clean]), "anomaly_score": _mean([s for _, s in odd])}
    details = {"anomaly_ranking": [{"image": n, "score": round(s, 6), "kind": k} for s, n, k in ranked]}
    return results, details


def train_accuracy(ctx: Context):
    values = [r["train/accuracy"] for r in ctx.exp.metrics() if "train/accuracy" in r] if ctx.exp else []
    last = steps_per_epoch(len(ctx.data.train), ctx.cfg.data.batch)
    return ({"train_accuracy": _mean(values[-last:])} if values else {}), {}


MEASURES = {"losses": losses, "kernel": kernel, "nyquist": nyquist, "bicubic": bicubic,
            "dense": dense, "anomaly": anomaly, "train_accuracy": train_accuracy}


def _notes(results: dict, details: dict) -> str:
    lines = ["Research report (training.research):"]
    lines += [f"- {k}: {v:.5g}" if isinstance(v, float) else f"- {k}: {v}" for k, v in results.items()]
    if "kernel" in details:
        lines.append(f"- learned kernel: {details['kernel']}")
    if "kernel_true" in details:
        lines.append(f"- true kernel:    {details['kernel_true']}")
    if details.get("anomaly_ranking"):
        lines.append("- anomaly scores (reconstruction MSE, highest first):")
        lines += [f"    {r['score']:.5f}  {r['kind']:7}  {r['image']}" for r in details["anomaly_ranking"][:12]]
    return "\n".join(lines)


def run_report(cfg, loop, data, exp, weights=None) -> tuple[dict, dict]:
    ctx = Context(cfg, loop, data, exp, weights)   # one set of predictions for every measure
    results, details = {}, {}
    for name in cfg.research.report:
        r, d = MEASURES[name](ctx)
        results.update({k: float(f"{float(v):.5g}") for k, v in r.items()})
        details.update(d)
    results.update({f"orig_{k}": v for k, v in cfg.research.reported.items()})
    if exp is not None and (results or details):
        write_text(exp.path / "report.json", json.dumps({"results": results, **details}, indent=1))
        if not exp.notes.strip():
            exp.set_notes(_notes(results, details))
    return results, details
