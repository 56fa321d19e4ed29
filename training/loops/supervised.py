"""The supervised loop: net(input) against target with a CompositeLoss."""
from __future__ import annotations

import torch

from engine import registry
from engine.errors import ConfigError

from ..config import RunConfig
from ..losses import CompositeLoss
from ..optim import EMA, build_optimizer
from . import Loop, StepResult, all_mean, bad_loss, build_net, init_weights, wrap_ddp


def load_init(net: torch.nn.Module, ref: str) -> None:
    """Start from a library model's weights (fine-tuning)."""
    _, _, state = init_weights(ref)
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ConfigError(f"model.init: '{ref}' does not fit this architecture ({str(err)[:200]})") from None


class SupervisedLoop(Loop):
    def __init__(self, cfg: RunConfig, device: str, channels: tuple[int, int], world: int = 1) -> None:
        super().__init__(cfg, device, world)
        net, self.kwargs = build_net(cfg.model.arch, cfg.model.kwargs, *channels, cfg.data.scale,
                                     init=cfg.model.init)
        if cfg.model.init and registry.get(cfg.model.arch).kind != "imported":   # (built from it)
            load_init(net, cfg.model.init)
        self.net = self.layout(net.to(device)).train()
        self.model = wrap_ddp(self.net, device, world)
        self.loss = CompositeLoss(self.loss_spec()).to(device)
        opt = build_optimizer(self.net.parameters(), cfg.optim)
        self.optimizers["g"] = (opt, cfg.optim.lr)
        if cfg.optim.ema:
            self.ema = EMA(self.net, cfg.optim.ema)

    def loss_spec(self) -> dict:
        return dict(self.cfg.loss)

    def forward(self, inp: torch.Tensor, target: torch.Tensor, poison: bool):
        """(output, total loss, {term: value}); ``poison`` makes the loss NaN (watchdog tests)."""
        with self.autocast():
            out = self.model(self.layout(inp))
        total, terms = self.loss(out.float(), target)
        if poison:
            total = total * float("nan")
        return out, total, terms

    def check(self, total: torch.Tensor, terms: dict) -> tuple[dict, str]:
        value = float(all_mean(total.detach(), self.world))
        metrics = {"loss/total": value, **{f"loss/{k}": v for k, v in terms.items()}}
        return metrics, bad_loss(value, self.cfg.watchdog.max_loss if self.cfg.watchdog.enabled else 0)

    def train_step(self, batch, poison: bool = False) -> StepResult:
        inp, target = (t.to(self.device, non_blocking=True) for t in batch)
        _, total, terms = self.forward(inp, target, poison)
        metrics, reason = self.check(total, terms)
        norm, failed = self.update_generator(total, metrics, reason)
        if failed:
            return failed
        return StepResult(metrics, extra={"grad_norm": norm})
