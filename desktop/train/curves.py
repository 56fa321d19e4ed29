"""Training curves: pyqtgraph plots fed from growing numpy buffers, redrawn at most 5 times/s.

Metrics arrive in batches from the bridge and are appended to :class:`Series`
buffers (amortised O(1), no Python lists); a timer pushes only the changed
series to their curves with ``setData``, all pending points at once. Nothing is
pushed while the board is hidden (another page is shown): it catches up when it
shows again. Plots clip to the view and downsample (peak mode), so tens of
thousands of points stay smooth.

Painting is what costs the UI thread most while a run trains (and every Python
call a paint makes may wait for the GIL a training thread holds), so the axes
and titles are cached as pixmaps (repainted only when their range or text
changes) and the loss terms are drawn with 1 px pens, which Qt draws faster
than fractional widths; only the total keeps a thick line.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem

from .. import theme

REDRAW_MS = 200   # the curves lag the run by at most this (plus the bridge's 50 ms)
CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache
AXIS_WIDTH = 54   # px; fixed so the plots never relayout. No grid: pyqtgraph draws it as part
                  # of the axes, which would then be repainted (tick text too) at every redraw
# key, title, follows the log toggle, (row, col, rowspan, colspan)
PANELS = (
    ("loss", "Loss", True, (0, 0, 2, 1)),
    ("psnr", "Validation PSNR (dB)", False, (0, 1, 1, 1)),
    ("ssim", "Validation SSIM", False, (1, 1, 1, 1)),
    ("lr", "Learning rate", True, (0, 2, 1, 1)),
    ("grad", "Gradient norm", True, (1, 2, 1, 1)),
)
COLORS = ("#4f8cff", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7")
NOT_PLOTTED = ("throughput",)


def panel_of(name: str) -> str | None:
    if name in NOT_PLOTTED:
        return None
    if name == "val/psnr":
        return "psnr"
    if name.startswith("val/"):
        return "ssim"
    return {"lr": "lr", "grad_norm": "grad"}.get(name, "loss")


def style_plot(plot: pg.PlotItem, title: str) -> None:
    """Theme colours for a plot's title, axes and legend."""
    c = theme.colors()
    plot.setTitle(title, color=c["muted"], size="9pt")
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(c["border_strong"])
        axis.setTextPen(c["muted"])
    if plot.legend is not None:
        plot.legend.setLabelTextColor(c["text"])
        plot.legend.setBrush(pg.mkBrush(c["base"] + "c0"))


class Series:
    """A growing (x, y) buffer of float64; ``x``/``y`` are views of the filled part."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self.n]

    def extend(self, xs, ys) -> None:
        xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
        need = self.n + len(xs)
        if need > len(self._x):
            cap = max(need, 2 * len(self._x))
            self._x = np.resize(self._x, cap)   # new arrays: curves keep their old views
            self._y = np.resize(self._y, cap)
        self._x[self.n:need] = xs
        self._y[self.n:need] = ys
        self.n = need

    def cut_after(self, step: float) -> None:
        """Drop points past ``step`` (a rollback went back there)."""
        keep = self.x <= step
        if not keep.all():
            x, y = self.x[keep].copy(), self.y[keep].copy()
            self._x, self._y, self.n = np.empty(len(self._x)), np.empty(len(self._y)), 0
            self.extend(x, y)


class CurveBoard(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.plots: dict[str, pg.PlotItem] = {}
        self.series: dict[str, Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.markers: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self.rollbacks: list[float] = []
        self.log_y = False
        self.total: float | None = None    # steps of the run, the longest the x axis gets
        self.x_extent = 0.0
        self.y_ranges: dict[str, tuple[float, float]] = {}
        self.manual = False                # the user zoomed or panned: leave the ranges alone
        self._dirty: set[str] = set()
        self._refit: list[str] = []        # plots whose value range may need refitting
        self.redraws = 0                   # redraws done (pushes of pending points to the plots)
        for key, title, _log, (r, c, rs, cs) in PANELS:
            plot = self.addPlot(row=r, col=c, rowspan=rs, colspan=cs, enableMenu=False)
            plot.getAxis("left").setWidth(AXIS_WIDTH)   # a label getting wider would relayout
            for item in (plot.getAxis("left"), plot.getAxis("bottom"), plot.titleLabel.item):
                item.setCacheMode(CACHED)   # painted from a pixmap until its ticks or text change
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.hideButtons()
            plot.getViewBox().setDefaultPadding(0.04)
            plot.title_text = title
            if key == "loss":
                plot.addLegend(offset=(-6, 6), labelTextSize="8pt")
            plot.getViewBox().sigRangeChangedManually.connect(self._manual)
            if key != "loss":   # one step axis for all: set once, drawn by the bottom row only
                plot.setXLink(self.plots["loss"])
                if r == 0:
                    plot.hideAxis("bottom")
            self.plots[key] = plot
        self.ci.layout.setColumnStretchFactor(0, 5)
        self.ci.layout.setColumnStretchFactor(1, 4)
        self.ci.layout.setColumnStretchFactor(2, 4)
        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.restyle()

    # ---------------------------------------------------------------- style
    def restyle(self) -> None:
        self.setBackground(theme.colors()["base"])
        for plot in self.plots.values():
            style_plot(plot, plot.title_text)
        for _plot, line in self.markers:
            line.setPen(self._marker_pen())

    def _marker_pen(self):
        return pg.mkPen(theme.colors()["warning"], width=1.2, style=Qt.PenStyle.DashLine)

    # ----------------------------------------------------------------- data
    def add(self, metrics) -> None:
        """Append a batch of Metric events."""
        grouped: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for m in metrics:
            xs, ys = grouped[m.name]
            xs.append(m.step)
            ys.append(m.value)
        for name in sorted(grouped, key=lambda n: n != "loss/total"):   # the total leads the legend
            self.add_arrays(name, *grouped[name])

    def add_arrays(self, name: str, xs, ys) -> None:
        if panel_of(name) is None:
            return
        self.series.setdefault(name, Series()).extend(xs, ys)
        self._dirty.add(name)
        self._schedule()

    def rollback(self, step: float) -> None:
        """Cut every series back to ``step`` and mark it on each plot."""
        for name, s in self.series.items():
            s.cut_after(step)
            self._dirty.add(name)
        self.add_marker(step)
        self._schedule()

    def _schedule(self) -> None:
        """One redraw within REDRAW_MS for everything that arrives until then."""
        if self.isVisible() and not self.timer.isActive():
            self.timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty or self._refit:
            QTimer.singleShot(0, self, self.redraw)   # catch up with what arrived while hidden

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def _manual(self, *_args) -> None:
        self.manual = True

    def mouseDoubleClickEvent(self, event) -> None:
        """Double-click: follow the data again after a zoom or pan."""
        self.manual, self.x_extent = False, 0.0
        self.y_ranges.clear()
        self._dirty.update(self.series)
        self._refit = [k for k, *_ in PANELS]
        self.redraw()

    def add_marker(self, step: float) -> None:
        self.rollbacks.append(step)
        for key, plot in self.plots.items():
            line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=self._marker_pen())
            if key == "loss":
                pg.InfLineLabel(line, text="rollback", position=0.92, color=theme.colors()["warning"])
            plot.addItem(line, ignoreBounds=True)
            self.markers.append((plot, line))

    def redraw(self) -> None:
        if not self.isVisible():   # showEvent redraws
            self.timer.stop()
            return
        self.redraws += 1
        last = 0.0
        for name in [n for n in self.series if n in self._dirty]:   # in order: legend order
            s = self.series[name]
            self.curve(name).setData(s.x, s.y)
            last = max(last, s.x[-1] if s.n else 0.0)
            if panel_of(name) not in self._refit:
                self._refit.append(panel_of(name))
        self._dirty.clear()
        if not self.manual:
            self._grow_x(last)
            for key in self._refit[:2]:   # two plots a tick, round robin: spreads axis redraws
                self._refit.remove(key)
                self._fit_y(key)
        else:
            self._refit.clear()
        if not self._refit:
            self.timer.stop()
        elif not self.timer.isActive():
            self.timer.start()

    def set_total(self, total: float | None) -> None:
        self.total = total

    # Axes are what costs most to paint: the view ranges change in steps, not at every redraw.
    def _grow_x(self, last: float) -> None:
        """The step axis doubles when the data reaches its end, up to the run's length."""
        if last <= self.x_extent:
            return
        extent = max(20.0, 2.0 * last)
        self.x_extent = min(extent, self.total) if self.total and self.total >= last else extent
        self.plots["loss"].setXRange(0, self.x_extent, padding=0.02)   # the others are linked

    def _fit_y(self, key: str) -> None:
        """Refit a plot's value range only when its data left it, or fills less than half of it."""
        ys = [self.series[n].y for n in self.series if panel_of(n) == key and self.series[n].n]
        if not ys:
            return
        y = np.concatenate(ys)
        log = self.log_y and any(k == key and lg for k, _t, lg, _p in PANELS)
        y = np.log10(y[y > 0]) if log else y[np.isfinite(y)]
        if not len(y):
            return
        lo, hi = float(y.min()), float(y.max())
        if key == "lr" and not log:
            lo = 0.0
        current = self.y_ranges.get(key)
        if current and current[0] <= lo and hi <= current[1] and \
                hi - lo >= 0.5 * (current[1] - current[0]):
            return
        pad = 0.08 * ((hi - lo) or abs(hi) or 1.0)
        self.y_ranges[key] = (lo - pad, hi + pad)
        self.plots[key].setYRange(lo - pad, hi + pad, padding=0)

    def curve(self, name: str) -> pg.PlotDataItem:
        item = self.curves.get(name)
        if item is None:
            key = panel_of(name) or "loss"
            plot = self.plots[key]
            total = name == "loss/total"   # the sum: first colour, drawn over its terms
            others = [i for i in plot.listDataItems() if i is not self.curves.get("loss/total")]
            color = COLORS[0] if total else COLORS[(len(others) + (key == "loss")) % len(COLORS)]
            label = name.removeprefix("loss/").removeprefix("val/")
            item = plot.plot(pen=pg.mkPen(color, width=2.0 if total else 1.0), name=label)
            item.setZValue(10 if total else 0)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            self.curves[name] = item
        return item

    def points(self, name: str) -> int:
        item = self.curves.get(name)
        return 0 if item is None or item.xData is None else len(item.xData)

    def set_log(self, on: bool) -> None:
        self.log_y = on
        for key, _title, loggable, _pos in PANELS:
            if loggable:
                self.plots[key].setLogMode(False, on)
                self.y_ranges.pop(key, None)
                self._fit_y(key)

    def clear_all(self) -> None:
        for plot in self.plots.values():
            for item in plot.listDataItems():
                plot.removeItem(item)
            if plot.legend is not None:
                plot.legend.clear()
        for plot, line in self.markers:
            plot.removeItem(line)
        self.series.clear()
        self.curves.clear()
        self.markers.clear()
        self.rollbacks.clear()
        self._dirty.clear()
        self._refit.clear()
        self.x_extent, self.manual, self.total = 0.0, False, None
        self.y_ranges.clear()
