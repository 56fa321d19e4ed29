"""Training loops: one optimisation step, validation, and what a checkpoint holds.

A loop owns the nets, optimizers, GradScaler and EMA of one run; the job in
:mod:`training.job` drives it (steps, events, checkpoints, watchdog). Each loop
offers ``train_step(batch, poison) -> StepResult``, ``set_lr``,
``validate(pairs)``, ``state_dict``/``load_state_dict`` (everything but the
main net's weights, which go to ``model.safetensors``) and ``final_weights``.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine import devices, registry
from engine.errors import ConfigError

from ..config import RunConfig
from ..datasets import to_tensor
from ..optim import EMA, lr_factor, set_lr


@dataclass
class StepResult:
    terms: dict[str, float]              # metric name -> value ("loss/total", "loss/l1", ...)
    ok: bool = True                      # False: bad loss, nothing was stepped
    reason: str = ""
    extra: dict[str, float] = field(default_factory=dict)   # "grad_norm", ...


def autocast_dtype(device: str, precision: str) -> torch.dtype | None:
    """The autocast dtype for a precision choice, None for plain fp32.

    ``auto``: bf16 on GPUs that support it (else fp16), bf16 on CPUs with AMX or
    AVX-512 bf16 (2-2.7x faster training steps than fp32 here, bench/train_speed.py),
    fp32 elsewhere.
    """
    kind = device.split(":")[0]
    if precision == "fp32" or kind == "mps":
        return None
    if precision == "auto":
        if kind == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if devices.cpu_bf16() else None
    if precision == "fp16" and kind == "cpu":
        raise ConfigError("precision fp16 needs a GPU; use bf16 or fp32 on the CPU")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def channels_last(module_or_tensor, device: str, amp_dtype):
    """bf16 convolutions on the CPU run fastest in channels-last layout."""
    if device.startswith("cpu") and amp_dtype is not None:
        return module_or_tensor.to(memory_format=torch.channels_last)
    return module_or_tensor


def bad_loss(value: float, max_loss: float) -> str:
    """Why a loss value is unusable ('' when it is fine)."""
    if not math.isfinite(value):
        return f"loss is {value}"
    if max_loss > 0 and value > max_loss:
        return f"loss {value:.4g} exploded (> {max_loss:g})"
    return ""


def all_mean(value: torch.Tensor, world: int) -> torch.Tensor:
    """The mean of a tensor over all DDP ranks (itself when not distributed)."""
    if world > 1:
        value = value.detach().clone()
        torch.distributed.all_reduce(value)
        value /= world
    return value


def tree_to(obj, device="cpu"):
    """A deep copy of nested dicts/lists of tensors, moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to(device, copy=True)
    if isinstance(obj, dict):
        return {k: tree_to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tree_to(v, device) for v in obj)
    return copy.deepcopy(obj)


def init_weights(ref: str) -> tuple[str, dict, dict]:
    """(arch, kwargs, state dict) of the library model a run starts from (``model.init``)."""
    from engine.checkpoints import find_model, load_weights

    entry = find_model(ref)
    if entry is None:
        raise ConfigError(f"model.init: no model named '{ref}' (see `restorelab models list`)")
    return load_weights(entry.path)


def build_net(arch: str, kwargs: dict, in_ch: int, out_ch: int, scale: int, init: str = ""):
    """A registry net with channels and scale filled in from the data when not given.

    An imported (spandrel) architecture has no constructor of ours: it is rebuilt from the
    weights of ``init``, the model it fine-tunes, and keeps that model's kwargs.
    """
    spec = registry.get(arch)
    if spec.kind == "imported":
        return imported_net(init, in_ch, out_ch, scale)
    kwargs = dict(kwargs)
    for key, value in (("in_channels", in_ch), ("out_channels", out_ch), ("scale", scale)):
        if key in spec.defaults and key not in kwargs:
            kwargs[key] = value
    kwargs = spec.kwargs(kwargs)
    if spec.scale_for(kwargs) != scale:
        raise ConfigError(f"{arch} upscales x{spec.scale_for(kwargs)} but data.scale is {scale}")
    try:
        net = spec.build(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"cannot build {arch} with {kwargs}: {err}") from None
    return net, kwargs


def imported_net(init: str, in_ch: int, out_ch: int, scale: int):
    """A spandrel net from ``init``'s weights, every weight trainable, in train mode."""
    from engine.errors import ModelError
    from engine.importer import build_imported

    if not init:
        raise ConfigError("an imported architecture is rebuilt from a model's weights: set "
                          "model.init to the imported model to fine-tune")
    arch, kwargs, state = init_weights(init)
    if registry.get(arch).kind != "imported":
        raise ConfigError(f"model.init: '{init}' is a {arch} model, not an imported one")
    try:
        net = build_imported(state, kwargs)
    except ModelError as err:
        raise ConfigError(f"model.init: {err}") from None
    name = net.descriptor.architecture.name
    if net.scale != scale:
        raise ConfigError(f"{name} upscales x{net.scale} but data.scale is {scale}")
    if (net.in_channels, net.out_channels) != (in_ch, out_ch):
        raise ConfigError(f"{name} maps {net.in_channels} channels to {net.out_channels}, "
                          f"but the data has {in_ch} and {out_ch}")
    for p in net.parameters():   # spandrel hands nets over for inference
        p.requires_grad_(True)
    net.keep_norm_stats = True
    check_trainable(net, name)
    return net.train(), dict(kwargs)


def check_trainable(net: torch.nn.Module, name: str) -> None:
    """One forward and backward pass on a small random input: a net that cannot run with
    gradients, or whose output does not depend on its weights, is refused in one line.
    Buffers (batch-norm statistics) are put back afterwards."""
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ConfigError(f"{name} has no trainable weights")
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    multiple = int(getattr(net, "size_multiple", 1) or 1)
    side = -(-max(16, int(getattr(net, "minimum", 0) or 0)) // multiple) * multiple
    x = torch.rand(1, int(getattr(net, "in_channels", 3)), side, side)
    net.train()
    try:
        with torch.enable_grad():
            y = net(x)
            if not y.requires_grad:
                raise ConfigError(f"{name} cannot be trained here: its forward pass runs without "
                                  f"gradients (inference only)")
            y.float().mean().backward()
    except ConfigError:
        raise
    except Exception as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"{name} cannot be trained here: {first[:160]}") from None
    finally:
        with torch.no_grad():
            for key, value in net.named_buffers():
                value.copy_(buffers[key])
    stepped = any(p.grad is not None for p in params)
    net.zero_grad(set_to_none=True)
    if not stepped:
        raise ConfigError(f"{name} cannot be trained here: its output does not depend on its "
                          f"weights (no gradients reach them)")


def wrap_ddp(net: torch.nn.Module, device: str, world: int):
    if world <= 1:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DistributedDataParallel(net, device_ids=ids)


def display(img: np.ndarray) -> np.ndarray:
    """uint8 HWC with 1 or 3 channels, for previews (other counts show the first channel;
    an image plus a level map shows the image)."""
    if img.shape[2] == 4 and img[:, :, 3].min() == img[:, :, 3].max():
        img = img[:, :, :3]
    elif img.shape[2] not in (1, 3):
        img = img[:, :, :1]
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


class Loop:
    """Shared parts of the loops: device, precision, lr, EMA, state and image validation."""

    def __init__(self, cfg: RunConfig, device: str, world: int = 1) -> None:
        self.cfg, self.device, self.world = cfg, device, world
        self.amp_dtype = autocast_dtype(device, cfg.precision)
        fp16 = self.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16) if fp16 else None
        self.optimizers: dict[str, tuple[torch.optim.Optimizer, float]] = {}
        self.ema: EMA | None = None
        self.net: torch.nn.Module | None = None
        self.lr = cfg.optim.lr

    def layout(self, t):
        return channels_last(t, self.device, self.amp_dtype)

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.split(":")[0], dtype=self.amp_dtype)

    def set_lr(self, step: int, total: int, scale: float) -> None:
        for opt, base in self.optimizers.values():
            set_lr(opt, base * scale * lr_factor(step, total, self.cfg.schedule, base))
        self.lr = self.optimizers["g"][0].param_groups[0]["lr"]

    def backward_step(self, loss: torch.Tensor, name: str, params) -> float:
        """Backward, unscale, clip, step one optimizer; returns the gradient norm.

        A non-finite gradient is not stepped on (fp16's GradScaler does the same itself);
        the caller reports it to the watchdog.
        """
        from ..optim import grad_norm

        opt = self.optimizers[name][0]
        opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(opt)
        else:
            loss.backward()
        norm = float(grad_norm(params, self.cfg.optim.grad_clip))
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        elif math.isfinite(norm):
            opt.step()
        return norm

    def bad_grad(self, norm: float) -> str:
        """Why a gradient norm is unusable ('' when fine; fp16 overflow is the scaler's job)."""
        return "" if self.scaler is not None or math.isfinite(norm) else f"gradient norm is {norm}"

    def update_generator(self, loss: torch.Tensor, metrics: dict, reason: str):
        """Step the main net unless the loss (``reason``) or its gradient is bad, then EMA.

        Returns (grad norm, None) or (None, a failed StepResult for the watchdog)."""
        if not reason:
            norm = self.backward_step(loss, "g", self.net.parameters())
            reason = self.bad_grad(norm)
        if reason:
            return None, StepResult(metrics, ok=False, reason=reason)
        if self.ema is not None:
            self.ema.update(self.net)
        return norm, None

    # -- checkpoint state (tensors and plain containers only) ----------------------
    def state_dict(self) -> dict:
        state = {f"opt_{k}": opt.state_dict() for k, (opt, _) in self.optimizers.items()}
        state["base_lr"] = {k: base for k, (_, base) in self.optimizers.items()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
            state["ema_updates"] = self.ema.updates
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        for key, (opt, _) in self.optimizers.items():
            opt.load_state_dict(state[f"opt_{key}"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
            self.ema.updates = int(state.get("ema_updates", 0))
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])

    def full_state(self) -> dict:
        """state_dict plus the net's weights: what the watchdog keeps in memory."""
        return {**self.state_dict(), "net": self.net.state_dict()}

    def load_full_state(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.load_state_dict(state)

    def final_weights(self) -> dict:
        """Weights to publish: the EMA ones when EMA is on."""
        return self.ema.state_dict() if self.ema is not None else self.net.state_dict()

    def eval_net(self) -> torch.nn.Module:
        if self.ema is None:
            return self.net
        net = copy.deepcopy(self.net)
        net.load_state_dict(self.ema.state_dict())
        return net

    # -- validation on fixed (input, target) pairs ---------------------------------
    @torch.no_grad()
    def predict(self, net, inp: torch.Tensor) -> torch.Tensor:
        multiple = int(getattr(net, "size_multiple", 1) or 1)
        h, w = inp.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        x = F.pad(inp, (0, pw, 0, ph), mode="reflect") if (ph or pw) else inp
        with self.autocast():
            out = net(self.layout(x)).float()
        s = out.shape[-1] // x.shape[-1] if out.shape[-1] >= x.shape[-1] else 1
        return out[..., :h * s, :w * s].clamp(0, 1)

    def validate(self, pairs: list) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Mean PSNR/SSIM over the pairs and preview strips (input | output | target)."""
        from ..metrics import psnr_torch, ssim_torch

        val = self.cfg.val
        border = val.border if val.border >= 0 else (self.cfg.data.scale if self.cfg.data.scale > 1 else 0)
        net = self.eval_net()
        was_training = net.training
        net.eval()
        scores = {"val/psnr": [], "val/ssim": []}
        shown: dict[str, list] = {"input": [], "output": [], "target": []}
        try:
            for i, (inp, target) in enumerate(pairs):
                x = to_tensor(inp)[None].to(self.device)
                t = to_tensor(target)[None].to(self.device)
                out = self.predict(net, x)
                if out.shape != t.shape:
                    raise ConfigError(f"the model makes {tuple(out.shape[1:])} from "
                                      f"{tuple(x.shape[1:])} but the target is {tuple(t.shape[1:])}")
                scores["val/psnr"].append(float(psnr_torch(out, t, border=border, y_channel=val.y_channel)))
                if min(t.shape[-2:]) - 2 * border >= 11:
                    scores["val/ssim"].append(float(ssim_torch(out, t, border=border,
                                                               y_channel=val.y_channel)))
                if i < val.previews:
                    th, tw = target.shape[:2]
                    up = cv2.resize(inp, (tw, th), interpolation=cv2.INTER_NEAREST).reshape(th, tw, -1)
                    for key, img in (("input", up), ("output", out[0].permute(1, 2, 0).cpu().numpy()),
                                     ("target", target)):
                        shown[key].append(display(img))
        finally:
            net.train(was_training)
        metrics = {k: float(np.mean([v for v in vs if math.isfinite(v)] or [math.inf]))
                   for k, vs in scores.items() if vs}
        previews = {k: _stack(v) for k, v in shown.items() if v}
        return metrics, previews


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """Images one above the other (padded to one width, one channel count)."""
    c = max(i.shape[2] for i in images)
    w = max(i.shape[1] for i in images)
    rows = [np.pad(np.repeat(i, c // i.shape[2], axis=2), ((0, 2), (0, w - i.shape[1]), (0, 0)))
            for i in images]
    return np.concatenate(rows, axis=0)[:-2]


def build_loop(cfg: RunConfig, device: str, channels: tuple[int, int], world: int = 1,
               classes: int = 0) -> Loop:
    """The loop a config names; ``channels`` = (input, target) channels of the data."""
    if cfg.loop == "adversarial":
        from .adversarial import AdversarialLoop

        return AdversarialLoop(cfg, device, channels, world)
    if cfg.loop == "classify":
        from .classify import ClassifyLoop

        return ClassifyLoop(cfg, device, channels[0], classes, world)
    from .supervised import SupervisedLoop

    return SupervisedLoop(cfg, device, channels, world)
