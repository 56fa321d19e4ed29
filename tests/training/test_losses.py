"""Losses: zero for identical inputs, positive otherwise, gradients, composite sums."""
import math

import pytest
import torch

from engine.errors import ConfigError
from training import losses as L

PLAIN = ["l1", "mse", "charbonnier", "ssim", "ms_ssim", "edge", "frequency"]


def images(shape=(2, 3, 48, 48), seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g)
    b = (a + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)
    return a, b


@pytest.mark.parametrize("name", PLAIN)
def test_zero_for_identical_positive_for_different(name):
    fn = L.LOSSES[name]
    a, b = images()
    assert float(fn(a, a.clone())) == pytest.approx(0.0, abs=1e-5)
    assert float(fn(b, a)) > 1e-3


@pytest.mark.parametrize("name", PLAIN)
def test_gradients_flow(name):
    a, b = images()
    pred = b.clone().requires_grad_(True)
    L.LOSSES[name](pred, a).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


@pytest.mark.parametrize("name", PLAIN)
def test_gradients_finite_at_identity(name):
    a, _ = images()
    pred = a.clone().requires_grad_(True)
    L.LOSSES[name](pred, a).backward()
    assert torch.isfinite(pred.grad).all()


def test_known_values():
    a = torch.zeros(1, 1, 4, 4)
    b = torch.full((1, 1, 4, 4), 0.5)
    assert float(L.l1_loss(a, b)) == pytest.approx(0.5)
    assert float(L.mse_loss(a, b)) == pytest.approx(0.25)
    expected = math.sqrt(0.25 + 1e-6) - 1e-3
    assert float(L.charbonnier_loss(a, b)) == pytest.approx(expected, rel=1e-5)


def test_ssim_orders_noise_levels():
    a, _ = images(seed=1)
    g = torch.Generator().manual_seed(2)
    noise = torch.randn(a.shape, generator=g)
    weak, strong = (a + 0.02 * noise).clamp(0, 1), (a + 0.2 * noise).clamp(0, 1)
    for fn in (L.ssim_loss, L.ms_ssim_loss):
        assert 0 < float(fn(weak, a)) < float(fn(strong, a)) < 1.5


def test_ms_ssim_small_and_large_images():
    for size in (8, 24, 64, 200):
        a, b = images((1, 1, size, size))
        value = float(L.ms_ssim_loss(b, a))
        assert math.isfinite(value) and value > 0


def test_edge_loss_sees_edges_not_offsets():
    a = torch.zeros(1, 3, 16, 16)
    a[..., 8:] = 1
    assert float(L.edge_loss(a + 0.1, a)) == pytest.approx(0.0, abs=1e-5)
    assert float(L.edge_loss(torch.zeros_like(a), a)) > 0.1


def test_gan_loss_values():
    x = torch.tensor([0.0, 2.0])
    assert float(L.gan_loss("lsgan", x, True)) == pytest.approx((1 + 1) / 2)
    assert float(L.gan_loss("lsgan", x, False)) == pytest.approx((0 + 4) / 2)
    assert float(L.gan_loss("vanilla", torch.zeros(3), True)) == pytest.approx(math.log(2))
    assert float(L.gan_loss("vanilla", torch.zeros(3), False)) == pytest.approx(math.log(2))
    h = torch.tensor([-1.0, 0.5, 2.0])
    assert float(L.gan_loss("hinge", h, True)) == pytest.approx((2 + 0.5 + 0) / 3)
    assert float(L.gan_loss("hinge", h, False)) == pytest.approx((0 + 1.5 + 3) / 3)
    assert float(L.gan_loss("hinge", h, True, for_discriminator=False)) == pytest.approx(-0.5)
    with pytest.raises(ConfigError, match="lsgan"):
        L.gan_loss("wgan", h, True)


def test_composite_is_weighted_sum():
    a, b = images()
    loss = L.CompositeLoss({"l1": 0.16, "ms_ssim": 0.84, "charbonnier": {"weight": 2, "eps": 1e-2}})
    total, terms = loss(b, a)
    assert set(terms) == {"l1", "ms_ssim", "charbonnier"}
    assert terms["l1"] == pytest.approx(float(L.l1_loss(b, a)), rel=1e-6)
    assert terms["charbonnier"] == pytest.approx(float(L.charbonnier_loss(b, a, eps=1e-2)), rel=1e-6)
    expected = 0.16 * terms["l1"] + 0.84 * terms["ms_ssim"] + 2 * terms["charbonnier"]
    assert float(total) == pytest.approx(expected, rel=1e-5)


def test_composite_gan_term_only_with_logits():
    a, b = images()
    loss = L.CompositeLoss({"l1": 1.0, "gan": {"weight": 0.05, "kind": "lsgan"}})
    total, terms = loss(b, a)
    assert "gan" not in terms
    total_gan, terms_gan = loss(b, a, fake_logits=torch.zeros(2, 1, 4, 4))
    assert terms_gan["gan"] == pytest.approx(1.0)
    assert float(total_gan) == pytest.approx(float(total) + 0.05, rel=1e-6)


@pytest.mark.parametrize("spec, words", [
    ({"l3": 1.0}, "unknown loss 'l3'.*l1, mse"),
    ({"charbonnier": {"weight": 1, "epsilon": 1}}, "unknown option"),
    ({"l1": "heavy"}, "weight must be a number"),
    ({}, "at least one"),
    ({"gan": {"kind": "wgan"}}, "lsgan"),
])
def test_composite_config_errors(spec, words):
    with pytest.raises(ConfigError, match=words):
        L.CompositeLoss(spec)


def test_perceptual_needs_weights(tmp_path):
    with pytest.raises(ConfigError, match="perceptual loss needs VGG16 weights"):
        L.PerceptualLoss()
    with pytest.raises(ConfigError, match="does not exist"):
        L.PerceptualLoss(tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="loss.perceptual.weights"):
        L.CompositeLoss({"perceptual": 1.0})


def test_perceptual_with_a_weights_file(tmp_path):
    vgg = pytest.importorskip("torchvision.models.vgg")
    torch.manual_seed(0)
    features = vgg.make_layers(vgg.cfgs["D"])[:16]   # VGG16 up to relu3_3
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    loss = L.CompositeLoss({"perceptual": {"weight": 1.0, "weights": str(path), "layer": "relu3_3"}})
    a, b = images((1, 3, 32, 32))
    assert loss(a, a)[1]["perceptual"] == pytest.approx(0.0, abs=1e-6)
    pred = b.clone().requires_grad_(True)
    total, terms = loss(pred, a)
    total.backward()
    assert terms["perceptual"] > 0 and pred.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="not a VGG16 state dict"):
        L.PerceptualLoss(path, layer="relu4_3")    # the file stops before conv4
