"""Small widgets and helpers shared by the training and library pages."""
from __future__ import annotations

import json
import math
import tomllib
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (QAbstractScrollArea, QApplication, QComboBox, QDoubleSpinBox,
                               QFrame, QLabel, QLineEdit, QScrollArea, QSizePolicy, QSpinBox,
                               QWidget)


class WheelNeedsFocus:
    """Mixin for value fields in a scrolling form: the mouse wheel changes the value only once
    the field has focus (a click or Tab); over an unfocused field it scrolls the form, so
    scrolling past a field never changes it behind the user's back."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)   # the wheel alone gives no focus

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
            return
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            event.ignore()
            return
        QApplication.sendEvent(area.viewport(), event)   # the form scrolls
        event.accept()


class SpinBox(WheelNeedsFocus, QSpinBox):
    pass


class DoubleSpinBox(WheelNeedsFocus, QDoubleSpinBox):
    pass


class ComboBox(WheelNeedsFocus, QComboBox):
    pass


def section(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="sectionTitle")


def debouncer(parent, ms: int, slot) -> QTimer:
    """A single-shot timer: ``start()`` it on every change, ``slot`` runs once things settle."""
    timer = QTimer(parent, singleShot=True, interval=ms)
    timer.timeout.connect(slot)
    return timer


# -- inline TOML values: what the text fields hold -------------------------------------
def inline(value: Any) -> str:
    """A value as inline TOML (``{ depth = 4, width = 16 }``, ``[0, 50]``, ``'text'``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                         ("inf" if value > 0 else "-inf"))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {inline(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if value is None:
        return ""
    return json.dumps(str(value)) if "'" in str(value) else f"'{value}'"


def parse_inline(text: str) -> Any:
    """Inline TOML back to a value; a bare word is a string. Raises ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("empty")
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text.replace("_", "").replace("-", "").replace(".", "").replace("/", "").isalnum():
            return text
        raise ValueError(f"not a value: {text}") from None


class NumberEdit(QLineEdit):
    """A float in a line edit that accepts 1e-3 as well as 0.001."""

    def __init__(self, value: float = 0.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setValue(value)

    def value(self) -> float:
        try:
            v = float(self.text())
        except ValueError:
            raise ValueError(f"not a number: {self.text()!r}") from None
        return v

    def setValue(self, value: float) -> None:
        self.setText(f"{float(value):g}")


# -- an image that fits its box --------------------------------------------------------
def qimage(arr: np.ndarray) -> QImage:
    from ..restore.images import qimage_from_array

    return qimage_from_array(arr)


class ImageBox(QFrame):
    """Draws one image scaled to fit (pixel-sharp when enlarged), or a hint when empty."""

    def __init__(self, hint: str = "", min_height: int = 80, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.hint = hint
        self.setMinimumSize(60, min_height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_array(self, arr: np.ndarray | None) -> None:
        self.set_image(None if arr is None else qimage(arr))

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def set_hint(self, text: str) -> None:
        self.hint = text
        self.update()

    def sizeHint(self) -> QSize:
        if self.image is None:
            return QSize(200, self.minimumHeight())
        return self.image.size().expandedTo(QSize(120, self.minimumHeight()))

    def target_rect(self) -> QRectF:
        if self.image is None or self.image.isNull():
            return QRectF()
        w, h = self.width(), self.height()
        s = min(w / self.image.width(), h / self.image.height())
        if s >= 2:
            s = math.floor(s)  # whole multiples keep pixels square and sharp
        dw, dh = self.image.width() * s, self.image.height() * s
        return QRectF((w - dw) / 2, (h - dh) / 2, dw, dh)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        p = QPainter(self)
        if self.image is None or self.image.isNull():
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect().adjusted(8, 8, -8, -8),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.hint)
            return
        rect = self.target_rect()
        smooth = not float(rect.width() / self.image.width()).is_integer()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        p.drawImage(rect, self.image)


def fit_width_scroll(content: QWidget) -> QScrollArea:
    """A vertical scroll area whose content always gets the visible width."""
    from ..restore.page import _FitWidthScroll

    scroll = _FitWidthScroll()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    return scroll
