"""Classical restoration methods: the baselines every learned model is scored against.

Each method is a plain function ``fn(img, **options) -> img`` on float32 HWC
images in [0, 1] (results clipped to [0, 1]). They sit in the registry as
the family ``classical`` through ``CLASSICAL_SPECS``.

Convolutions use symmetric boundaries (edge pixel repeated, MATLAB's
'symmetric', OpenCV's BORDER_REFLECT) so flat borders stay flat.
"""
from __future__ import annotations

import math
import numbers

import cv2
import numpy as np

from .errors import ConfigError
from .registry import ArchSpec
from .resize import imresize

SCALES = (2, 3, 4)
_BORDER = cv2.BORDER_REFLECT   # fedcba|abcdef: symmetric padding


# ---------------------------------------------------------------- helpers

def _as_hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ConfigError(f"expected an HxW or HxWxC image, got shape {img.shape}")
    return img


def _check_scale(scale) -> int:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or scale not in SCALES:
        raise ConfigError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return int(scale)


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _gauss1d(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 1-D Gaussian of odd length (default ``2 * ceil(3 sigma) + 1``)."""
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    if size < 1 or size % 2 == 0:
        raise ConfigError(f"Gaussian kernel size must be odd and positive, got {size}")
    r = size // 2
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_psf(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 2-D Gaussian point-spread function, odd size ``2 * ceil(3 sigma) + 1``."""
    sigma = _check_positive("sigma", sigma)
    k = _gauss1d(sigma, size)
    return np.outer(k, k)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with symmetric boundaries; keeps the HWC shape."""
    k = _gauss1d(sigma).astype(np.float32)
    out = cv2.sepFilter2D(img, cv2.CV_32F, k, k, borderType=_BORDER)
    return out.reshape(img.shape)


def _per_channel(img: np.ndarray, fn) -> np.ndarray:
    """Apply a 2-D function to each channel (OpenCV limits channel counts)."""
    return np.stack([fn(img[..., c]) for c in range(img.shape[2])], axis=-1)


def _done(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)


# ---------------------------------------------------------------- resize

def bicubic(img: np.ndarray, scale: int = 2) -> np.ndarray:
    """Upscale by ``scale`` with MATLAB-compatible bicubic interpolation."""
    scale = _check_scale(scale)
    return _done(imresize(_as_hwc(img), scale=scale))


def lanczos(img: np.ndarray, scale: int = 2) -> np.ndarray:
    """Upscale by ``scale`` with OpenCV's 8x8 Lanczos (INTER_LANCZOS4)."""
    scale = _check_scale(scale)
    img = _as_hwc(img)
    h, w = img.shape[:2]

    def one(plane):
        return cv2.resize(plane, (w * scale, h * scale), interpolation=cv2.INTER_LANCZOS4)
    return _done(_per_channel(img, one))


# ---------------------------------------------------------------- denoise

def nlmeans(img: np.ndarray, h: float = 0.06, template: int = 7, search: int = 21) -> np.ndarray:
    """Non-local means (OpenCV). ``h`` is the filter strength on the [0, 1] scale.

    OpenCV's colour variant (denoising in CIELab) only takes 8-bit images, so
    the input (even 16-bit) is quantised to 8 bits first; the 1/255 step is
    far below the noise this is meant for. One- or many-channel images go channel by channel.
    """
    h = _check_positive("h", h)
    for name, value in (("template", template), ("search", search)):
        if not isinstance(value, numbers.Integral) or value < 1 or value % 2 == 0:
            raise ConfigError(f"{name} must be an odd positive integer, got {value!r}")
    img = _as_hwc(img)
    u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    strength = h * 255.0
    if img.shape[2] == 3:
        bgr = np.ascontiguousarray(u8[..., ::-1])      # OpenCV's Lab conversion wants BGR
        out = cv2.fastNlMeansDenoisingColored(bgr, None, strength, strength, template, search)
        out = out[..., ::-1]
    else:
        out = _per_channel(u8, lambda p: cv2.fastNlMeansDenoising(
            np.ascontiguousarray(p), None, strength, template, search))
    return _done(out.reshape(img.shape).astype(np.float32) / 255.0)


# ---------------------------------------------------------------- deblur

def _even_extension(plane: np.ndarray) -> np.ndarray:
    """Mirror a plane into a 2H x 2W periodic one (no jumps at the wrap)."""
    return np.pad(plane, ((0, plane.shape[0]), (0, plane.shape[1])), mode="symmetric")


def _otf(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Real FFT of the PSF zero-padded to ``shape`` with its centre at the origin."""
    full = np.zeros(shape, dtype=np.float64)
    kh, kw = psf.shape
    rows = (np.arange(kh) - kh // 2) % shape[0]      # wraps even if the PSF is larger
    cols = (np.arange(kw) - kw // 2) % shape[1]
    np.add.at(full, np.ix_(rows, cols), psf)
    # a centred, symmetric PSF has a real spectrum
    return np.fft.rfft2(full).real


def wiener(img: np.ndarray, sigma: float = 1.6, nsr: float = 0.01) -> np.ndarray:
    """Wiener deconvolution of a Gaussian blur in the Fourier domain.

    ``nsr`` is the noise-to-signal power ratio (a constant regulariser). Each
    channel is mirrored to twice its size first: a blur with symmetric
    boundaries is then exactly a circular convolution, so no ringing starts
    at the image border. Works on the whole image (not tiled).
    """
    sigma = _check_positive("sigma", sigma)
    nsr = _check_positive("nsr", nsr)
    img = _as_hwc(img)
    h, w = img.shape[:2]
    H = _otf(gaussian_psf(sigma), (2 * h, 2 * w))
    # conj(H) / (|H|^2 + nsr) with H real, times (1 + nsr) so that frequencies
    # the blur leaves alone (H = 1, e.g. the mean) pass unchanged instead of
    # being dimmed by 1 / (1 + nsr)
    gain = ((1.0 + nsr) * H / (H * H + nsr)).astype(np.float32)

    def one(plane):
        spectrum = np.fft.rfft2(_even_extension(plane))
        return np.fft.irfft2(spectrum * gain, s=(2 * h, 2 * w))[:h, :w]
    return _done(_per_channel(img, one))


def richardson_lucy(img: np.ndarray, sigma: float = 1.6, iterations: int = 30) -> np.ndarray:
    """Richardson-Lucy deconvolution of a Gaussian blur (symmetric boundaries).

    Multiplicative updates ``u <- u * K(f / K(u))``; the Gaussian is its own
    mirror image, so both convolutions are the same blur. More iterations
    sharpen more and amplify more noise.
    """
    sigma = _check_positive("sigma", sigma)
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) \
            or iterations < 1:
        raise ConfigError(f"iterations must be a positive integer, got {iterations!r}")
    observed = np.clip(_as_hwc(img), 0.0, 1.0)
    eps = 1e-6                                   # keeps the ratio finite on black areas
    estimate = observed.copy()
    for _ in range(iterations):
        ratio = observed / np.maximum(_blur(estimate, sigma), eps)
        estimate = estimate * _blur(ratio, sigma)
    return _done(estimate)


# ---------------------------------------------------------------- filters

def sobel_magnitude(img: np.ndarray, sigma: float = 1.3) -> np.ndarray:
    """Gradient magnitude of the blurred BT.601 grey image, HxW, not normalised."""
    img = _as_hwc(img)
    if img.shape[2] >= 3:
        grey = 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    else:
        grey = img[..., 0]
    grey = _blur(np.ascontiguousarray(grey, dtype=np.float32), sigma)
    dx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, borderType=_BORDER)
    dy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, borderType=_BORDER)
    return np.sqrt(dx * dx + dy * dy)


def sobel(img: np.ndarray, sigma: float = 1.3) -> np.ndarray:
    """Edge map (note 002): Sobel magnitude divided by its per-image maximum; HxWx1."""
    sigma = _check_positive("sigma", sigma)
    mag = sobel_magnitude(img, sigma)
    peak = float(mag.max())
    if peak > 0:
        mag = mag / peak
    return _done(mag[..., None])


def unsharp(img: np.ndarray, sigma: float = 1.0, amount: float = 0.8,
            threshold: float = 0.0) -> np.ndarray:
    """Unsharp mask: ``img + amount * (img - blur(img))``.

    ``sigma`` is the Gaussian radius (standard deviation, pixels); detail
    smaller than ``threshold`` (on the [0, 1] scale) is left alone.
    """
    sigma = _check_positive("sigma", sigma)
    if threshold < 0:
        raise ConfigError(f"threshold must be >= 0, got {threshold!r}")
    img = _as_hwc(img)
    detail = img - _blur(img, sigma)
    if threshold > 0:
        detail = detail * (np.abs(detail) >= threshold)
    return _done(img + float(amount) * detail)


# ---------------------------------------------------------------- registry

def _spec(id, title, tasks, fn, defaults, description, scale=1, out_channels=3, tiles=True):
    return ArchSpec(id=id, family="classical", title=title, tasks=tasks,
                    builder=f"engine.classical:{fn.__name__}", defaults=defaults,
                    scale=scale, in_channels=3, out_channels=out_channels, tiles=tiles,
                    precisions=("fp32",), description=description, kind="classical")


CLASSICAL_SPECS = [
    _spec("bicubic", "Bicubic", ("super-resolution",), bicubic, {"scale": 2},
          "MATLAB-compatible bicubic upscaling (Keys a=-0.5).", scale=2),
    _spec("lanczos", "Lanczos", ("super-resolution",), lanczos, {"scale": 2},
          "Lanczos upscaling over an 8x8 neighbourhood (OpenCV).", scale=2),
    _spec("nlmeans", "Non-local means", ("denoise",), nlmeans,
          {"h": 0.06, "template": 7, "search": 21},
          "Non-local means denoising (OpenCV, colour in CIELab, 8-bit)."),
    _spec("wiener", "Wiener deconvolution", ("deblur",), wiener, {"sigma": 1.6, "nsr": 0.01},
          "Fourier-domain Wiener deconvolution of a Gaussian blur.", tiles=False),
    _spec("richardson-lucy", "Richardson-Lucy", ("deblur",), richardson_lucy,
          {"sigma": 1.6, "iterations": 30},
          "Iterative Richardson-Lucy deconvolution of a Gaussian blur.", tiles=False),
    _spec("sobel", "Sobel edges", ("filter",), sobel, {"sigma": 1.3},
          "Blurred-grey Sobel gradient magnitude, scaled to 0..1 per image.", out_channels=1,
          tiles=False),  # the per-image maximum would differ from tile to tile
    _spec("unsharp", "Unsharp mask", ("deblur", "filter"), unsharp,
          {"sigma": 1.0, "amount": 0.8, "threshold": 0.0},
          "Sharpening by adding back the difference from a Gaussian blur."),
]
