"""The model card's backend section: which inference backend a measurement chose, and how fast.

It reads the cached measurements through ``engine.backend_cache.measurements`` (the cache
file only: no torch, no runtime is loaded). A model with none for the device in use, and the
classical methods, show no section.
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

TITLES = {"eager": "PyTorch", "compile": "torch.compile", "onnxruntime": "ONNX Runtime",
          "openvino": "OpenVINO"}


def _on_device(measured: str, setting: str) -> bool:
    """Whether a measurement on ``measured`` is for the device the settings ask for."""
    setting = (setting or "auto").lower()
    return setting == "auto" or measured == setting or measured.split(":")[0] == setting


def backend_html(card: dict, device: str = "auto") -> str:
    """Rich text for the cached measurements of the model with this card ('' when none)."""
    from engine.backend_cache import measurements

    found = [m for m in measurements(str(card.get("sha256") or "")) if _on_device(m.device, device)]
    rows = []
    for m in found:
        ms = m.ms_per_mp.get(m.chosen)
        speed = f"{ms:.0f} ms per megapixel" if ms else "speed not recorded"
        if m.chosen != "eager" and m.ms_per_mp.get("eager"):
            speed += f", {m.speedup:.2f}× as fast as PyTorch"
        others = ", ".join(f"{TITLES.get(n, n)} {v:.0f}" for n, v in m.ms_per_mp.items()
                           if n != m.chosen)
        detail = "; ".join(t for t in (f"others: {others} ms/MP" if others else "",
                                       f"measured {m.measured[:16].replace('T', ' ')}"
                                       if m.measured else "") if t)
        rows.append(f"<b>{escape(TITLES.get(m.chosen, m.chosen))}</b> on "
                    f"{escape(m.device.upper())}: {escape(speed)}"
                    + (f"<br><span style='opacity:0.65'>{escape(detail)}</span>" if detail else ""))
    if not rows:
        return ""
    return "<p style='margin:0'><span style='opacity:0.65'>Inference backend</span><br>" \
           + "<br>".join(rows) + "</p>"


class BackendNote(QLabel):
    """The section under the card; hidden when there is nothing measured to show."""

    def __init__(self) -> None:
        super().__init__(objectName="cardText")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_for(self, choice, device: str = "auto") -> None:
        """Show the measurements of ``choice`` (a catalog Choice, or None) on ``device``."""
        text = ""
        if choice is not None and choice.kind != "classical":
            try:
                text = backend_html(choice.card, device)
            except Exception as err:   # an unreadable cache is no reason to lose the card
                text = f"<span style='opacity:0.65'>Backend measurement unreadable: " \
                       f"{escape(str(err)[:120])}</span>"
        self.setText(text)
        self.setVisible(bool(text))
