"""Pixels for the screen: numpy float images -> QImage, mip levels, difference heatmaps."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter


def to_display_u8(pixels: np.ndarray) -> np.ndarray:
    """Float HWC [0, 1] (C 1..4) -> uint8 HWC with C 1, 3 or 4 (grey + alpha becomes RGBA)."""
    import cv2

    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype != np.uint8:
        c = arr.shape[2]
        f = np.ascontiguousarray(arr, dtype=np.float32)
        # OpenCV is ~40x faster than numpy here: negatives (and NaN) to 0, then
        # round and saturate at 255
        f = cv2.threshold(f, 0.0, 0.0, cv2.THRESH_TOZERO)[1]
        arr = cv2.convertScaleAbs(f, alpha=255.0).reshape(arr.shape[0], arr.shape[1], c)
    if arr.shape[2] == 2:
        arr = np.concatenate([np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1:]], axis=2)
    return np.ascontiguousarray(arr)


def qimage_from_array(pixels: np.ndarray) -> QImage:
    """A QImage that owns its pixels, in a format that draws fast (RGB32 / premultiplied ARGB)."""
    arr = to_display_u8(pixels)
    h, w, c = arr.shape
    fmt = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
           4: QImage.Format.Format_RGBA8888}[c]
    image = QImage(arr.data, w, h, w * c, fmt)
    fast = (QImage.Format.Format_ARGB32_Premultiplied if c == 4 else QImage.Format.Format_RGB32)
    return image.convertToFormat(fast)  # a deep copy: independent of ``arr``


def display_buffer(pixels: np.ndarray) -> np.ndarray:
    """uint8 HxWx4 laid out as QImage's 32-bit formats want it (B, G, R, A bytes; colour
    premultiplied by alpha). All OpenCV, which lets go of the GIL: a worker building this
    leaves the UI thread free, where QImage.convertToFormat / scaled would hold it."""
    import cv2

    arr = to_display_u8(pixels)
    c = arr.shape[2]
    if c == 1:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGRA)
    if c == 3:
        return cv2.cvtColor(arr, cv2.COLOR_RGB2BGRA)
    return cv2.cvtColor(cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA), cv2.COLOR_RGBA2mRGBA)


def _wrap(buf: np.ndarray, alpha: bool) -> QImage:
    """A QImage over ``buf``'s memory (no copy): whoever holds the QImage must hold ``buf``."""
    h, w = buf.shape[:2]
    fmt = QImage.Format.Format_ARGB32_Premultiplied if alpha else QImage.Format.Format_RGB32
    return QImage(buf.data, w, h, w * 4, fmt)


class ImageLayer:
    """One image on the canvas, with half-size levels for smooth, fast zoomed-out drawing.

    ``pixels`` stays available for readouts; ``scale`` is how many scene
    pixels one image pixel covers (the input of a x2 model has scale 2).
    """

    def __init__(self, pixels: np.ndarray, scale: float = 1.0, label: str = "") -> None:
        self.pixels = pixels
        self.scale = float(scale)
        self.label = label
        colour = np.asarray(pixels)
        self.has_alpha = colour.ndim == 3 and colour.shape[2] in (2, 4)
        self._buffers = [display_buffer(pixels)]   # the memory each level's QImage draws from
        self.image = _wrap(self._buffers[0], self.has_alpha)
        self._levels: list[QImage] = [self.image]

    def relabelled(self, scale: float, label: str) -> "ImageLayer":
        """The same pixels and levels (shared, not copied) under another scale and label."""
        twin = object.__new__(ImageLayer)
        twin.__dict__.update(self.__dict__)
        twin.scale, twin.label = float(scale), label
        return twin

    def build_levels(self) -> int:
        """Every half-size level down to 64 px (done on a worker, so painting never scales)."""
        n = 0
        while self.level(n + 1) is not self._levels[n]:
            n += 1
        return len(self._levels)

    @staticmethod
    def level_for(k: float) -> int:
        """The mip level drawn at ``k`` screen pixels per image pixel: the smallest level that
        is still at least as big as the screen footprint (level n is 1/2**n the size)."""
        return int(math.floor(math.log2(1.0 / k))) if k < 0.5 else 0

    @property
    def width(self) -> int:
        return self.image.width()

    @property
    def height(self) -> int:
        return self.image.height()

    def level(self, n: int) -> QImage:
        while len(self._levels) <= n:
            prev = self._levels[-1]
            if prev.width() <= 64 or prev.height() <= 64:
                return prev
            import cv2

            half = cv2.resize(self._buffers[-1], (max(1, prev.width() // 2),
                                                  max(1, prev.height() // 2)),
                              interpolation=cv2.INTER_AREA)   # box filter: right for premultiplied
            self._buffers.append(half)
            self._levels.append(_wrap(half, self.has_alpha))
        return self._levels[n]

    def value_at(self, scene_x: float, scene_y: float) -> np.ndarray | None:
        x, y = int(scene_x // self.scale), int(scene_y // self.scale)
        h, w = self.pixels.shape[:2]
        if 0 <= x < w and 0 <= y < h:
            v = self.pixels[y, x]
            return np.atleast_1d(v)
        return None

    def draw(self, painter: QPainter, to_screen, zoom: float, visible: QRectF) -> None:
        """Draw the part of the layer inside ``visible`` (scene coords).

        ``to_screen`` maps a scene QRectF to the screen; ``zoom`` is screen
        pixels per scene pixel. Pixels are sharp squares from 100 % up and
        smoothly filtered (from a mip level) below.
        """
        k = zoom * self.scale  # screen pixels per image pixel
        s = self.scale
        left = max(0, math.floor(visible.left() / s))
        top = max(0, math.floor(visible.top() / s))
        right = min(self.width, math.ceil(visible.right() / s))
        bottom = min(self.height, math.ceil(visible.bottom() / s))
        if right <= left or bottom <= top:
            return
        target = to_screen(QRectF(left * s, top * s, (right - left) * s, (bottom - top) * s))
        smooth = k < 0.999
        image = self.level(self.level_for(k))
        f = image.width() / self.width
        source = QRectF(left * f, top * f, (right - left) * f, (bottom - top) * f)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, image, source)


def upscale_to(pixels: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bicubic resize of a float image (nearest for exact integer factors of tiny images)."""
    import cv2

    if pixels.shape[:2] == (h, w):
        return pixels
    out = cv2.resize(np.ascontiguousarray(pixels, dtype=np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    if out.ndim == 2:
        out = out[:, :, None]
    return np.clip(out, 0.0, 1.0)


def _colour(pixels: np.ndarray) -> np.ndarray:
    """Colour channels only (alpha dropped), as float32 HWC."""
    arr = np.asarray(pixels, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] in (2, 4):
        arr = arr[:, :, :-1]
    return arr


def _grey(arr: np.ndarray) -> np.ndarray:
    import cv2

    if arr.shape[2] == 1:
        return arr
    w = np.array([[0.299, 0.587, 0.114]], np.float32)
    return cv2.transform(np.ascontiguousarray(arr, dtype=np.float32), w).reshape(*arr.shape[:2], 1)


def difference(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean absolute difference per pixel (HxW) of after vs the input resized to it; and its scale.

    The scale is the 99.5th percentile (at least 1/255), which the colour map's top maps to.
    """
    import cv2

    a = _colour(after)
    b = upscale_to(_colour(before), a.shape[0], a.shape[1])
    if a.shape[2] != b.shape[2]:
        a, b = _grey(a), _grey(b)
    d = cv2.absdiff(np.ascontiguousarray(a), np.ascontiguousarray(b))
    if d.ndim == 2 or d.shape[2] == 1:
        diff = d.reshape(a.shape[:2])
    else:  # the channel mean, as a 1x3 matrix product per pixel
        diff = cv2.transform(d, np.full((1, 3), 1.0 / 3.0, np.float32))
        diff = diff.reshape(a.shape[:2])
    step = max(1, diff.size // 250_000)
    peak = float(np.percentile(diff.ravel()[::step], 99.5)) if diff.size else 0.0
    return diff, max(peak, 1.0 / 255.0)


def heatmap(diff: np.ndarray, peak: float) -> np.ndarray:
    """uint8 RGB heatmap (inferno) of a difference map scaled so ``peak`` is the top colour."""
    import cv2

    u8 = cv2.convertScaleAbs(np.ascontiguousarray(diff, dtype=np.float32), alpha=255.0 / peak)
    bgr = cv2.applyColorMap(u8, cv2.COLORMAP_INFERNO)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def colormap_strip(width: int = 256) -> QImage:
    """A horizontal strip of the heatmap's colours, for the legend."""
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :].repeat(8, axis=0)
    return qimage_from_array(heatmap(ramp, 1.0))
