"""The adversarial loop: a generator and a conditional discriminator (notes 002, 004).

The discriminator sees (condition, candidate) concatenated on channels; the
condition is the input resized to the target's size (bicubic), so super-
resolution discriminators get the upscaled LR. G and D have their own Adam
optimizers and learning rates (same schedule shape). The "stepper" skips the
D step while D's last loss is below ``adversarial.stepper``; the skipped D loss
is still measured (without gradients) so the decision can change.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine import registry
from engine.errors import ConfigError

from ..config import RunConfig
from ..losses import gan_loss
from ..optim import build_optimizer
from . import StepResult, all_mean, wrap_ddp
from .supervised import SupervisedLoop


class AdversarialLoop(SupervisedLoop):
    def __init__(self, cfg: RunConfig, device: str, channels: tuple[int, int], world: int = 1) -> None:
        super().__init__(cfg, device, channels, world)
        adv = cfg.adversarial
        spec = registry.get(adv.disc)
        if spec.kind != "discriminator":
            raise ConfigError(f"adversarial.disc: '{adv.disc}' is not a discriminator")
        kwargs = dict(adv.disc_kwargs)
        kwargs.setdefault("in_channels", channels[0] + channels[1])
        self.dnet = spec.build(**spec.kwargs(kwargs)).to(device).train()
        self.disc = wrap_ddp(self.dnet, device, world)
        opt = build_optimizer(self.dnet.parameters(), cfg.optim, lr=adv.lr, betas=adv.betas)
        self.optimizers["d"] = (opt, adv.lr)
        self.last_d = float("inf")

    def loss_spec(self) -> dict:
        spec = dict(self.cfg.loss)
        spec.setdefault("gan", {"weight": self.cfg.adversarial.weight, "kind": self.cfg.adversarial.gan})
        return spec

    def condition(self, inp: torch.Tensor, size) -> torch.Tensor:
        if inp.shape[-2:] == size:
            return inp
        return F.interpolate(inp, size=size, mode="bicubic", align_corners=False).clamp(0, 1)

    def train_step(self, batch, poison: bool = False) -> StepResult:
        inp, target = (t.to(self.device, non_blocking=True) for t in batch)
        kind = self.cfg.adversarial.gan
        # generator: content losses + fool D (the plain module, so D's DDP does not sync here)
        with self.autocast():
            out = self.model(inp)
            cond = self.condition(inp, out.shape[-2:])
            fake_logits = self.dnet(torch.cat([cond, out], 1)).float()
        total, terms = self.loss(out.float(), target, fake_logits=fake_logits)
        if poison:
            total = total * float("nan")
        metrics, reason = self.check(total, terms)
        norm, failed = self.update_generator(total, metrics, reason)
        if failed:
            return failed

        # discriminator, unless the stepper says it is winning already
        stepped = self.last_d >= self.cfg.adversarial.stepper
        fake = out.detach()
        with torch.set_grad_enabled(stepped), self.autocast():
            d = self.disc if stepped else self.dnet
            # real and fake in one forward: DDP allows one forward per backward
            pairs = torch.cat([torch.cat([cond, target], 1), torch.cat([cond, fake], 1)], 0)
            real_logits, fake_logits = d(pairs).float().chunk(2)
            d_loss = 0.5 * (gan_loss(kind, real_logits, True) + gan_loss(kind, fake_logits, False))
        if stepped:
            self.backward_step(d_loss, "d", self.dnet.parameters())
        self.last_d = float(all_mean(d_loss.detach(), self.world))
        metrics["loss/d"] = self.last_d
        return StepResult(metrics, extra={"grad_norm": norm, "d_stepped": float(stepped)})

    def state_dict(self) -> dict:
        return {**super().state_dict(), "disc": self.dnet.state_dict(), "last_d": self.last_d}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.dnet.load_state_dict(state["disc"])
        self.last_d = float(state.get("last_d", float("inf")))
