"""Classification loop: the deconv-vs-conv first-layer comparison (seed note 000, experiment 4).

``model.arch`` is ``classifier`` (a small convnet) or ``resnet18`` (torchvision,
CIFAR-style stem); ``model.kwargs.first_layer`` is ``conv`` (3x3) or ``deconv``
(the learned FFT inverse filter, ``engine.archs.deconv.Deconv2d``). These nets
are for the comparison only and are not entered in the model library.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ConfigError

from ..config import RunConfig
from ..datasets import to_tensor
from ..optim import EMA, build_optimizer
from . import Loop, StepResult, all_mean, bad_loss, wrap_ddp

ARCHS = ("classifier", "resnet18")


def make_first_layer(kind: str, in_channels: int, width: int, deconv_kernel=(3, 3)) -> nn.Module:
    if kind == "conv":
        return nn.Conv2d(in_channels, width, 3, padding=1)
    if kind == "deconv":
        from engine.archs.deconv import Deconv2d

        return Deconv2d(in_channels, width, deconv_kernel, bias=True)
    raise ConfigError(f"model.kwargs.first_layer must be 'conv' or 'deconv', not '{kind}'")


class SmallClassifier(nn.Module):
    """first layer -> BN/ReLU -> two (conv, BN, ReLU, max-pool) stages -> average -> linear."""

    def __init__(self, in_channels: int = 3, classes: int = 10, first_layer: str = "conv",
                 width: int = 32, deconv_kernel=(3, 3)) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            make_first_layer(first_layer, in_channels, w, deconv_kernel),
            nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * w, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet18(in_channels: int = 3, classes: int = 10, first_layer: str = "conv",
             deconv_kernel=(3, 3)) -> nn.Module:
    from torchvision.models import resnet18 as tv_resnet18

    net = tv_resnet18(weights=None, num_classes=classes)
    net.conv1 = make_first_layer(first_layer, in_channels, 64, deconv_kernel)
    net.maxpool = nn.Identity()
    return net


class ClassifyLoop(Loop):
    def __init__(self, cfg: RunConfig, device: str, in_channels: int, classes: int, world: int = 1) -> None:
        super().__init__(cfg, device, world)
        if cfg.model.arch not in ARCHS:
            raise ConfigError(f"loop 'classify' builds {' or '.join(ARCHS)}, not '{cfg.model.arch}'")
        self.kwargs = {"in_channels": in_channels, "classes": classes, **cfg.model.kwargs}
        build = SmallClassifier if cfg.model.arch == "classifier" else resnet18
        try:
            net = build(**self.kwargs)
        except TypeError as err:
            raise ConfigError(f"model.kwargs: {err}") from None
        self.net = net.to(device).train()
        self.model = wrap_ddp(self.net, device, world)
        self.optimizers["g"] = (build_optimizer(self.net.parameters(), cfg.optim), cfg.optim.lr)
        if cfg.optim.ema:
            self.ema = EMA(self.net, cfg.optim.ema)

    def train_step(self, batch, poison: bool = False) -> StepResult:
        images, labels = (t.to(self.device, non_blocking=True) for t in batch)
        with self.autocast():
            logits = self.model(images).float()
        loss = F.cross_entropy(logits, labels)
        if poison:
            loss = loss * float("nan")
        value = float(all_mean(loss.detach(), self.world))
        accuracy = float(all_mean((logits.argmax(1) == labels).float().mean(), self.world))
        metrics = {"loss/total": value, "loss/ce": value, "train/accuracy": accuracy}
        reason = bad_loss(value, self.cfg.watchdog.max_loss if self.cfg.watchdog.enabled else 0)
        norm, failed = self.update_generator(loss, metrics, reason)
        if failed:
            return failed
        return StepResult(metrics, extra={"grad_norm": norm})

    @torch.no_grad()
    def validate(self, pairs: list) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        net = self.eval_net()
        was_training = net.training
        net.eval()
        correct, losses = [], []
        try:
            for image, label in pairs:
                with self.autocast():
                    logits = net(to_tensor(image)[None].to(self.device)).float()
                target = torch.tensor([label], device=self.device)
                losses.append(float(F.cross_entropy(logits, target)))
                correct.append(float(logits.argmax(1).item() == label))
        finally:
            net.train(was_training)
        return {"val/accuracy": float(np.mean(correct)), "val/loss": float(np.mean(losses))}, {}
