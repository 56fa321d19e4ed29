"""Degradations: numbers on tiny synthetic images."""
import numpy as np
import pytest

from engine.errors import ConfigError
from training.degradations import REGISTRY, Recipe, build, preview_grid
from training.degradations import kernels as K
from training.degradations import realsr


def rng(seed=0):
    return np.random.default_rng(seed)


def random_image(h=32, w=32, c=3, seed=0):
    return rng(seed).random((h, w, c), dtype=np.float32)


def pair(spec, img, seed=0):
    return Recipe.from_list([spec]).make_pair(img, rng(seed))


# -- blur -----------------------------------------------------------------
def test_box_blur_matches_hand_convolution():
    img = random_image(8, 8, 1)
    inp, _ = pair({"type": "box_blur", "size": 3}, img)
    y, x = 4, 5
    assert inp[y, x, 0] == pytest.approx(img[y - 1:y + 2, x - 1:x + 2, 0].mean(), abs=1e-6)


def test_convolve_is_a_true_convolution():
    img = np.zeros((9, 9, 1), np.float32)
    img[4, 4] = 1
    k = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)   # shift right by one
    out = K.convolve(img, k)
    assert out[4, 5, 0] == pytest.approx(1.0) and out[4, 3, 0] == 0


def test_gaussian_blur_keeps_a_constant_image():
    img = np.full((20, 24, 3), 0.37, np.float32)
    inp, target = pair({"type": "gaussian_blur", "sigma": 2.0}, img)
    assert inp.mean() == pytest.approx(0.37, abs=1e-5)
    assert np.allclose(inp, 0.37, atol=1e-5)
    assert np.array_equal(target, img)


@pytest.mark.parametrize("spec", [
    {"type": "motion_blur", "length": 7.5, "angle": 30},
    {"type": "defocus_blur", "radius": 2.5},
    {"type": "gaussian_blur", "sigma": [0.5, 3.0]},
])
def test_blurs_keep_mean_and_smooth(spec):
    img = random_image(40, 40, 3)
    inp, _ = pair(spec, img)
    assert inp.shape == img.shape
    assert inp[8:-8, 8:-8].mean() == pytest.approx(img[8:-8, 8:-8].mean(), abs=0.01)
    assert inp.std() < img.std()


def test_kernels_are_normalised():
    for k in (K.motion_kernel(9, 45), K.disk_kernel(3.2), K.gaussian_kernel(1.5), K.box_kernel(5)):
        assert k.sum() == pytest.approx(1.0, abs=1e-5)
        assert k.min() >= 0
    disk = K.disk_kernel(3)
    assert np.allclose(disk, disk.T, atol=1e-7) and np.allclose(disk, disk[::-1], atol=1e-7)


def test_kernel_blur_files_and_inline(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 3)) * 7)
    np.savetxt(tmp_path / "b.txt", np.eye(3))
    deg = build({"type": "kernel_blur", "paths": [str(tmp_path)], "kernels": [[[0, 1], [1, 0]]]})
    assert len(deg._pool) == 3
    assert len(build({"type": "kernel_blur", "folder": str(tmp_path)})._pool) == 2
    assert all(k.sum() == pytest.approx(1.0) for k in deg._pool)
    img = random_image(16, 16, 3)
    out = deg(img, rng())
    assert out.shape == img.shape
    with pytest.raises(ConfigError):
        build({"type": "kernel_blur", "paths": [str(tmp_path / "missing")]})
    with pytest.raises(ConfigError):
        build({"type": "kernel_blur"})


def test_four_factor_blur_impulse_is_symmetric_product_of_flips():
    h = np.array([[1, .2, 0, 0], [.2, 0, 0, 0]])
    img = np.zeros((32, 32, 1), np.float32)
    img[16, 16] = 1
    deg = build({"type": "four_factor_blur", "kernel": h.tolist(), "normalize": False})
    out = deg(img, rng())[:, :, 0]
    # symmetric about the impulse in both axes
    centred = out[16 - 8:16 + 9, 16 - 8:16 + 9]
    assert np.allclose(centred, centred[::-1, :], atol=1e-6)
    assert np.allclose(centred, centred[:, ::-1], atol=1e-6)
    # equals the linear convolution h * flipH(h) * flipW(h) * flipHW(h), whose centre
    # (2 (kh - 1), 2 (kw - 1)) lands on the impulse
    kh, kw = h.shape
    size = (4 * kh - 3, 4 * kw - 3)
    spectrum = np.ones(size, complex)
    for part in (h, h[::-1], h[:, ::-1], h[::-1, ::-1]):
        spectrum *= np.fft.fft2(part, s=size)
    expected = np.real(np.fft.ifft2(spectrum))
    cy, cx = 2 * (kh - 1), 2 * (kw - 1)
    assert np.allclose(out[16 - cy:16 - cy + size[0], 16 - cx:16 - cx + size[1]], expected, atol=1e-6)
    assert out.sum() == pytest.approx(1.4 ** 4, rel=1e-6)
    # normalised: unit gain, output in [0, 1]
    norm = build({"type": "four_factor_blur", "kernel": h.tolist()})(img, rng())
    assert norm.sum() == pytest.approx(1.0, rel=1e-5)


def test_four_factor_blur_zero_padding_prevents_wraparound():
    img = np.zeros((16, 16, 1), np.float32)
    img[:, 0] = 1     # bright left column
    spec = {"type": "four_factor_blur", "kernel": [[1, 1, 1, 1]]}
    padded = build(spec)(img, rng())
    circular = build({**spec, "pad_factor": 1})(img, rng())
    assert padded[:, -1].max() < 1e-6     # nothing leaks to the right edge
    assert circular[:, -1].min() > 0.05   # circular wraps around


# -- noise ----------------------------------------------------------------
def test_masking_noise_zeroes_69_percent_and_keeps_target():
    img = np.full((16, 16, 3), 0.5, np.float32)
    recipe = Recipe.from_list([{"type": "masking_noise"}])
    g = rng(3)
    fractions, masked = [], 0
    for _ in range(400):
        inp, target = recipe.make_pair(img, g)
        assert np.array_equal(target, img)
        zero = (inp == 0).mean()
        if zero > 0:
            masked += 1
            fractions.append(zero)
    assert 0.42 < masked / 400 < 0.58
    assert np.mean(fractions) == pytest.approx(0.6915, abs=0.03)


def test_gaussian_noise_sigma_25():
    img = np.full((128, 128, 3), 0.5, np.float32)
    inp, target = pair({"type": "gaussian_noise", "sigma": 25, "clip": False}, img)
    assert np.std(inp - target) == pytest.approx(25 / 255, rel=0.03)
    assert abs(np.mean(inp - target)) < 0.003
    clipped, _ = pair({"type": "gaussian_noise", "sigma": 25}, img)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_poisson_noise_mean_and_variance():
    img = np.full((128, 128, 1), 0.4, np.float32)
    inp, _ = pair({"type": "poisson_noise", "peak": 50}, img)
    assert inp.mean() == pytest.approx(0.4, abs=0.01)
    assert inp.var() == pytest.approx(0.4 / 50, rel=0.1)    # Poisson: var = mean / peak


def test_noise_patches_tiled_and_added(tmp_path):
    patch = np.tile(np.array([[0.1, -0.1]], np.float32), (2, 1))    # 2x2, zero mean
    realsr.save_patches([patch], tmp_path)
    img = np.full((7, 9, 3), 0.5, np.float32)
    inp, target = pair({"type": "noise_patches", "folder": str(tmp_path)}, img)
    diff = inp - target
    assert inp.shape == img.shape
    assert np.allclose(np.abs(diff), 0.1, atol=1e-6)      # grey patch broadcast to RGB
    assert np.allclose(diff[:, 1:], -diff[:, :-1], atol=1e-6)   # the tiling alternates
    inline = build({"type": "noise_patches", "patches": [patch], "strength": 0.5})
    assert np.allclose(np.abs(inline(img, rng()) - img), 0.05, atol=1e-6)


# -- resampling, jpeg, colour -----------------------------------------------
@pytest.mark.parametrize("method", ["bicubic", "area", "cv_bicubic"])
def test_downscale_sizes(method):
    img = random_image(33, 48, 3)
    inp, target = pair({"type": "downscale", "scale": 2, "method": method}, img)
    assert inp.shape == (17, 24, 3) and target.shape == img.shape
    assert inp.min() >= 0 and inp.max() <= 1
    flat, _ = pair({"type": "downscale", "scale": 4, "method": method}, np.full((16, 16, 1), .3))
    assert np.allclose(flat, 0.3, atol=1e-5)


def test_recipe_scale():
    assert Recipe.from_list([{"type": "downscale", "scale": 3}]).scale == 3
    assert Recipe.from_list([{"type": "gaussian_blur"}]).scale == 1
    assert Recipe.from_list([{"type": "downscale", "scale": [2, 4]}]).scale is None


def test_jpeg_changes_image_keeps_shape():
    for c in (3, 1):
        img = random_image(24, 40, c)
        inp, _ = pair({"type": "jpeg", "quality": 20}, img)
        assert inp.shape == img.shape and inp.dtype == np.float32
        assert np.abs(inp - img).mean() > 0.01


def test_color_jitter_applies_to_both():
    img = random_image(16, 16, 3)
    inp, target = pair({"type": "color_jitter", "brightness": [0.5, 0.9], "contrast": 1.0}, img)
    assert np.array_equal(inp, target)
    assert inp.mean() < img.mean()


# -- filter targets -------------------------------------------------------
def test_sobel_target_of_step_edge():
    img = np.zeros((20, 20, 3), np.float32)
    img[:, 10:] = 1
    inp, target = pair({"type": "sobel_target"}, img)
    assert np.array_equal(inp, img)
    assert target.shape == (20, 20, 1)
    assert target.max() == pytest.approx(1.0)
    row = target[10, :, 0]
    assert row.argmax() in (9, 10)                # the edge lies between columns 9 and 10
    assert row[0] < 1e-3 and row[-1] < 1e-3       # flat regions have no gradient
    assert np.allclose(target, target[::-1], atol=1e-6)   # vertical edge: rows alike


def test_fixed_kernel_target_is_fixed_per_seed():
    img = random_image(24, 24, 3)
    a = build({"type": "fixed_kernel_target", "seed": 7})
    b = build({"type": "fixed_kernel_target", "seed": 7})
    c = build({"type": "fixed_kernel_target", "seed": 8})
    assert np.array_equal(a.kernel, b.kernel) and not np.array_equal(a.kernel, c.kernel)
    recipe = Recipe([a])
    t1 = recipe.make_pair(img, rng(1))[1]
    t2 = recipe.make_pair(img, rng(2))[1]
    assert np.array_equal(t1, t2) and t1.shape == (24, 24, 1)
    assert 0 <= t1.min() and t1.max() <= 1


def test_kernel_target_user_kernel():
    img = random_image(12, 12, 3)
    shift = [[0, 0, 0], [0, 0, 1], [0, 0, 0]]
    inp, target = pair({"type": "kernel_target", "kernel": shift}, img)
    assert np.array_equal(inp, img)
    assert np.allclose(target[:, 1:], img[:, :-1], atol=1e-6)
    with pytest.raises(ConfigError):
        build({"type": "kernel_target"})


# -- recipes, parameters, errors -------------------------------------------
FULL = [
    {"type": "color_jitter"},
    {"type": "gaussian_blur", "sigma": [0.5, 3.0]},
    {"type": "motion_blur", "length": [3, 9]},
    {"type": "gaussian_noise", "sigma": [5, 50]},
    {"type": "downscale", "scale": 2},
    {"type": "jpeg", "quality": [30, 90]},
]


def test_same_seed_same_pair_different_seed_different():
    img = random_image(32, 32, 3)
    recipe = Recipe.from_list(FULL)
    a = recipe.make_pair(img, rng(5))
    b = recipe.make_pair(img, rng(5))
    c = recipe.make_pair(img, rng(6))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_range_params_draw_within_range():
    deg = build({"type": "gaussian_blur", "sigma": [0.5, 3.0]})
    draws = [deg.draw("sigma", rng(i)) for i in range(200)]
    assert min(draws) >= 0.5 and max(draws) <= 3.0 and np.std(draws) > 0.3
    box = build({"type": "box_blur", "size": [2, 5]})
    sizes = {box.draw("size", rng(i)) for i in range(200)}
    assert sizes == {2, 3, 4, 5}
    assert build({"type": "box_blur", "size": 3}).draw("size", rng()) == 3


def test_round_trip_to_list_from_list():
    items = FULL + [{"type": "four_factor_blur"}, {"type": "fixed_kernel_target", "seed": 3},
                    {"type": "kernel_blur", "kernels": [[[1, 2], [3, 4]]]}]
    recipe = Recipe.from_list(items)
    again = Recipe.from_list(recipe.to_list())
    assert again == recipe
    assert again.to_list() == recipe.to_list()


@pytest.mark.parametrize("spec, words", [
    ({"type": "blurry"}, "unknown degradation type 'blurry'"),
    ({"type": "gaussian_blur", "radius": 2}, "unknown option"),
    ({"type": "gaussian_blur", "sigma": [3, 1]}, "lo > hi"),
    ({"type": "gaussian_blur", "sigma": "big"}, "number"),
    ({"type": "box_blur", "size": 2.5}, "integer"),
    ({"type": "jpeg", "quality": 150}, "outside"),
    ({"type": "downscale", "method": "magic"}, "unknown method"),
    ({"sigma": 1}, "type"),
])
def test_config_errors(spec, words):
    with pytest.raises(ConfigError, match=words):
        build(spec)


def test_registry_has_every_type():
    expected = {"gaussian_blur", "box_blur", "motion_blur", "defocus_blur", "kernel_blur",
                "four_factor_blur", "gaussian_noise", "poisson_noise", "masking_noise",
                "noise_patches", "downscale", "jpeg", "color_jitter", "sobel_target",
                "fixed_kernel_target", "kernel_target"}
    assert expected <= set(REGISTRY)


def test_preview_grid_shape():
    recipe = Recipe.from_list([{"type": "downscale", "scale": 2}, {"type": "gaussian_noise"}])
    images = [random_image(16, 20, 3), random_image(16, 24, 3, seed=1)]
    grid = preview_grid(recipe, images, 3, rng())
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * 16 + 2 * 4, 24 + 4 + 24, 3)
    sobel = preview_grid(Recipe.from_list([{"type": "sobel_target"}]), images[:1], 1, rng())
    assert sobel.shape == (16, 20 + 4 + 20, 3)


# -- realsr ---------------------------------------------------------------
def test_extract_noise_patches_zero_mean():
    g = rng(0)
    clean = np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (96, 1))[:, :, None].repeat(3, 2)
    noisy = np.clip(clean + g.normal(0, 0.04, clean.shape), 0, 1).astype(np.float32)
    patches = realsr.extract_noise_patches([noisy, noisy[:20, :20]], patch=32, per_image=4, rng=g)
    assert len(patches) == 4     # the small image is skipped
    for p in patches:
        assert p.shape == (32, 32, 3) and p.dtype == np.float32
        assert np.abs(p.mean(axis=(0, 1))).max() < 1e-5
        assert 0.005 < p.std() < 0.06


def test_patches_and_kernel_pool_round_trip(tmp_path):
    patches = [np.full((4, 4, 3), i, np.float32) for i in range(3)]
    realsr.save_patches(patches, tmp_path / "p")
    loaded = realsr.load_patches(tmp_path / "p")
    assert [p[0, 0, 0] for p in loaded] == [0, 1, 2]
    np.save(tmp_path / "k1.npy", np.arange(9.0).reshape(3, 3))
    np.save(tmp_path / "k2.npy", np.ones((5, 5)))
    pool = realsr.load_kernel_pool(tmp_path)
    assert len(pool) == 2 and all(k.sum() == pytest.approx(1.0) for k in pool)
    with pytest.raises(ValueError):
        realsr.load_patches(tmp_path / "nothing")


def test_optional_steps_apply_with_their_probability():
    import numpy as np

    from training.degradations import Recipe

    recipe = Recipe.from_list([{"type": "gaussian_noise", "sigma": 25, "p": 0.3}])
    assert recipe.to_list()[0]["p"] == 0.3
    clean = np.full((8, 8, 3), 0.5, np.float32)
    rng = np.random.default_rng(0)
    applied = sum(not np.array_equal(recipe.make_pair(clean, rng)[0], clean) for _ in range(400))
    assert 90 < applied < 150
