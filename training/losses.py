"""Training losses on NCHW tensors in [0, 1].

Pixel losses (l1, mse, charbonnier), structure (ssim, ms_ssim), edge (note 004),
frequency, perceptual (VGG16, only with a user-supplied weights file) and GAN
losses. ``CompositeLoss`` sums any of them with weights, as a config says::

    loss = CompositeLoss({"l1": 0.16, "ms_ssim": 0.84})
    total, terms = loss(pred, target)
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ConfigError

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)   # Wang et al. 2003
_LUMA = (0.299, 0.587, 0.114)


# -- pixel losses ---------------------------------------------------------
def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """mean(sqrt(d^2 + eps^2)) - eps: a smooth L1 that is 0 for identical inputs."""
    return (torch.sqrt((pred - target) ** 2 + eps * eps) - eps).mean()


# -- SSIM / MS-SSIM -------------------------------------------------------
def _gaussian_1d(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    x = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _blur_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, 'valid' region only (no padding)."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim_parts(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5,
               data_range: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (SSIM, contrast-structure) means, each shape (N,), averaged over channels.

    Wang et al. 2004: Gaussian window, K1 = 0.01, K2 = 0.03, valid region. Images
    smaller than the window use the largest odd window that fits.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim expects two NCHW tensors of one shape, got {x.shape} and {y.shape}")
    window = min(window, x.shape[-2], x.shape[-1])
    window -= 1 - window % 2                      # keep it odd
    g = _gaussian_1d(window, sigma, x)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _blur_valid(x, g), _blur_valid(y, g)
    var_x = _blur_valid(x * x, g) - mu_x ** 2
    var_y = _blur_valid(y * y, g) - mu_y ** 2
    cov = _blur_valid(x * y, g) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1) * cs
    return ssim_map.mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ssim_loss(pred: torch.Tensor, target: torch.Tensor, window: int = 11,
              sigma: float = 1.5) -> torch.Tensor:
    """1 - SSIM."""
    return 1 - ssim_parts(pred, target, window, sigma)[0].mean()


def ms_ssim_loss(pred: torch.Tensor, target: torch.Tensor, window: int = 11,
                 sigma: float = 1.5) -> torch.Tensor:
    """1 - MS-SSIM over up to 5 scales (2x average pooling between them).

    Scales whose image would be smaller than the window are dropped and the
    remaining standard weights renormalised, so small crops still work.
    """
    side = min(pred.shape[-2:])
    levels = len(MS_SSIM_WEIGHTS)
    while levels > 1 and side // 2 ** (levels - 1) < window:
        levels -= 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=pred.dtype, device=pred.device)
    weights = weights / weights.sum()
    x, y = pred, target
    score = torch.ones(pred.shape[0], dtype=pred.dtype, device=pred.device)
    for level in range(levels):
        ssim, cs = ssim_parts(x, y, window, sigma)
        value = ssim if level == levels - 1 else cs
        # clamp: negative structure terms have no real power, and 0**w has no gradient
        score = score * value.clamp(min=1e-6) ** weights[level]
        if level < levels - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return 1 - score.mean()


# -- edge and frequency ---------------------------------------------------
def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] >= 3:
        w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x[:, :3] * w).sum(dim=1, keepdim=True)
    return x.mean(dim=1, keepdim=True)


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """Sobel magnitude of the grey image after a 3x3 Gaussian ([1, 2, 1] / 4) blur."""
    g = _grey(x)
    b = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device) / 4
    blur = torch.outer(b, b).view(1, 1, 3, 3)
    sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    kernels = torch.stack([sobel_x, sobel_x.T]).unsqueeze(1)
    g = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), blur)
    d = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), kernels)
    return torch.sqrt((d ** 2).sum(dim=1, keepdim=True) + 1e-6)   # eps keeps the gradient finite


def edge_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between edge maps (note 004)."""
    return F.l1_loss(edge_map(pred), edge_map(target))


def frequency_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the magnitudes of the (orthonormal) 2D real FFTs."""
    fp = torch.fft.rfft2(pred.float(), norm="ortho").abs()
    ft = torch.fft.rfft2(target.float(), norm="ortho").abs()
    return F.l1_loss(fp, ft)


# -- perceptual -----------------------------------------------------------
PERCEPTUAL_HELP = ("perceptual loss needs VGG16 weights: "
                   "set loss.perceptual.weights = <path to vgg16 .pth>")
VGG16_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29}


class PerceptualLoss(nn.Module):
    """Distance between VGG16 features (to ``layer``, default relu4_3, note 004).

    Weights are never downloaded: ``weights_path`` must point to a torchvision
    VGG16 state dict (keys ``features.N.*``; classifier keys are ignored).
    Inputs in [0, 1] are ImageNet-normalised; one channel is repeated to three.
    """

    def __init__(self, weights_path: str | Path | None = None, layer: str = "relu4_3",
                 criterion: str = "l1"):
        super().__init__()
        if not weights_path:
            raise ConfigError(PERCEPTUAL_HELP)
        try:   # the layer list of torchvision's vgg16, without building its big classifier
            from torchvision.models.vgg import cfgs, make_layers
        except ImportError:
            raise ConfigError(f"{PERCEPTUAL_HELP} (and torchvision must be installed)") from None
        if layer not in VGG16_LAYERS:
            raise ConfigError(f"perceptual: unknown layer '{layer}' (known: {', '.join(VGG16_LAYERS)})")
        if criterion not in ("l1", "mse"):
            raise ConfigError(f"perceptual: criterion must be 'l1' or 'mse', got '{criterion}'")
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"{PERCEPTUAL_HELP} ({path} does not exist)")
        last = VGG16_LAYERS[layer]
        self.features = make_layers(cfgs["D"])[: last + 1]   # "D" is VGG16
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:    # a corrupt or foreign file: say which and why
            raise ConfigError(f"perceptual: could not read VGG16 weights {path}: {err}") from None
        if not isinstance(state, dict):
            raise ConfigError(f"perceptual: {path} is not a VGG16 state dict")
        state = {k.removeprefix("features."): v for k, v in state.items()
                 if not k.startswith("classifier.")}
        state = {k: v for k, v in state.items()
                 if k.split(".")[0].isdigit() and int(k.split(".")[0]) <= last}
        try:
            self.features.load_state_dict(state)
        except RuntimeError as err:
            raise ConfigError(f"perceptual: {path} is not a VGG16 state dict: {err}") from None
        self.features.eval().requires_grad_(False)
        self.criterion = F.l1_loss if criterion == "l1" else F.mse_loss
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.features((x[:, :3] - self.mean) / self.std)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_features = self._features(target)
        return self.criterion(self._features(pred), target_features)


# -- GAN ------------------------------------------------------------------
GAN_KINDS = ("lsgan", "vanilla", "hinge")


def gan_loss(kind: str, pred: torch.Tensor, target_is_real: bool,
             for_discriminator: bool = True) -> torch.Tensor:
    """Adversarial loss of discriminator outputs ``pred`` (raw logits).

    lsgan: MSE to 1 (real) or 0 (fake); vanilla: BCE with logits; hinge: for the
    discriminator relu(1 - x) on real, relu(1 + x) on fake, for the generator
    -mean(x) (``target_is_real`` is then ignored). The generator step of lsgan
    and vanilla is simply ``target_is_real=True``.
    """
    if kind == "lsgan":
        return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(
            pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
    if kind == "hinge":
        if not for_discriminator:
            return -pred.mean()
        return F.relu(1 - pred).mean() if target_is_real else F.relu(1 + pred).mean()
    raise ConfigError(f"unknown GAN loss '{kind}' (known: {', '.join(GAN_KINDS)})")


# -- composite ------------------------------------------------------------
LOSSES = {
    "l1": l1_loss, "mse": mse_loss, "charbonnier": charbonnier_loss,
    "ssim": ssim_loss, "ms_ssim": ms_ssim_loss, "edge": edge_loss,
    "frequency": frequency_loss, "perceptual": PerceptualLoss,
}


def _options(name: str, func, options: dict) -> dict:
    """Check ``options`` against the keyword parameters of ``func``."""
    skip = {"self", "pred", "target"}
    known = [p for p in inspect.signature(func).parameters if p not in skip]
    if name == "perceptual" and "weights" in options:          # config spelling
        options = dict(options)
        options["weights_path"] = options.pop("weights")
    unknown = sorted(set(options) - set(known))
    if unknown:
        shown = ["weights" if k == "weights_path" else k for k in known]
        raise ConfigError(f"loss '{name}': unknown option(s) {', '.join(unknown)} "
                          f"(known: weight, {', '.join(shown) or 'none'})")
    return options


class CompositeLoss(nn.Module):
    """A weighted sum of losses from a spec ``{name: weight}`` or
    ``{name: {"weight": w, **options}}``, e.g.
    ``{"l1": 0.01, "perceptual": {"weight": 1, "weights": "vgg16.pth"}, "edge": 2}``.

    ``forward(pred, target, fake_logits=None)`` returns ``(total, terms)`` where
    ``terms`` maps each name to its unweighted value as a float. A ``gan`` entry
    (options: ``kind``, default lsgan) is the generator's adversarial term; it
    is added only when the loop passes the discriminator's ``fake_logits``.
    """

    def __init__(self, spec: dict):
        super().__init__()
        if not isinstance(spec, dict) or not spec:
            raise ConfigError("losses: give at least one loss with a weight, e.g. {l1 = 1.0}")
        self.weights: dict[str, float] = {}
        self.funcs = {}
        self.gan_kind = None
        self.modules_ = nn.ModuleDict()
        for name, value in spec.items():
            options = dict(value) if isinstance(value, dict) else {"weight": value}
            weight = options.pop("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ConfigError(f"loss '{name}': weight must be a number, got {weight!r}")
            self.weights[name] = float(weight)
            if name == "gan":
                kind = options.pop("kind", "lsgan")
                if options or kind not in GAN_KINDS:
                    raise ConfigError(f"loss 'gan': options are weight and kind "
                                      f"({', '.join(GAN_KINDS)})")
                self.gan_kind = kind
            elif name not in LOSSES:
                raise ConfigError(f"unknown loss '{name}' (known: {', '.join([*LOSSES, 'gan'])})")
            elif name == "perceptual":
                self.modules_[name] = PerceptualLoss(**_options(name, PerceptualLoss.__init__, options))
                self.funcs[name] = self.modules_[name]
            else:
                self.funcs[name] = functools.partial(LOSSES[name], **_options(name, LOSSES[name], options))

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                fake_logits: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        total = pred.new_zeros(())
        terms: dict[str, float] = {}
        for name, func in self.funcs.items():
            value = func(pred, target)
            total = total + self.weights[name] * value
            terms[name] = float(value.detach())
        if self.gan_kind is not None and fake_logits is not None:
            value = gan_loss(self.gan_kind, fake_logits, True, for_discriminator=False)
            total = total + self.weights["gan"] * value
            terms["gan"] = float(value.detach())
        return total, terms
