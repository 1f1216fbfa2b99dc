"""The timeline's one shared x axis, and the pieces that keep every track in step with it.

The waveform's ViewBox (x in seconds) is the master range. :class:`TimeScale` zooms and
pans it and maps seconds to pixels for widgets that draw themselves (the ruler, the
thumbnails); :class:`FrameViewLink` keeps a ViewBox whose x is in frames (the emotion and
confidence tracks) on the same range; :class:`RangeShade` draws the in/out range on a track.
"""

from __future__ import annotations

from fractions import Fraction
from typing import SupportsFloat

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QWidget

MIN_VISIBLE_FRAMES = 4  # closest zoom: this many frames across the view
WHEEL_ZOOM_BASE = 1.02  # zoom per 1/8 degree of wheel turn, as pyqtgraph's ViewBox zooms
_OUTSIDE_BRUSH = pg.mkBrush(0, 0, 0, 110)
_MARK_PEN = pg.mkPen((250, 200, 60), width=1)
_FAR = 1e7  # where the dimmed regions end, in the view's units


class TimeScale(QObject):
    """Zoom, pan and pixel mapping of the timeline's visible range in seconds.

    Parameters
    ----------
    view
        The master ViewBox, x in seconds (the waveform's).
    parent
        Qt parent.

    Signals
    -------
    changed()
        The visible range or the view's size changed: redraw.
    """

    changed = Signal()

    def __init__(self, view: pg.ViewBox, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.rate = Fraction(25)
        self.frame_count = 0
        self.extent_s = 1.0
        view.sigXRangeChanged.connect(lambda *_: self.changed.emit())
        view.sigResized.connect(lambda *_: self.changed.emit())

    def set_media(self, frame_count: int, rate: Fraction) -> None:
        """Use the frame count and exact rate of the target video."""
        self.frame_count, self.rate = max(0, frame_count), Fraction(rate)

    def set_extent(self, seconds: float) -> None:
        """Length of the timeline (what zoom to fit shows), s."""
        self.extent_s = max(float(seconds), 1e-3)

    @property
    def min_span_s(self) -> float:
        """The narrowest visible range, s."""
        return MIN_VISIBLE_FRAMES / float(self.rate)

    def visible(self) -> tuple[float, float]:
        """The visible range ``(t0, t1)``, s."""
        x0, x1 = self.view.viewRange()[0]
        return float(x0), float(x1)

    def set_visible(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` s, narrowed or shifted to stay inside the timeline."""
        span = min(max(t1 - t0, self.min_span_s), self.extent_s)
        start = min(max(t0, 0.0), self.extent_s - span)
        self.view.setXRange(start, start + span, padding=0.0)

    def zoom(self, factor: float, center_s: float | None = None) -> None:
        """Zoom in (``factor`` > 1) or out around ``center_s`` (default: the middle)."""
        t0, t1 = self.visible()
        c = (t0 + t1) / 2 if center_s is None else center_s
        self.set_visible(c - (c - t0) / factor, c + (t1 - c) / factor)

    def pan(self, fraction: float) -> None:
        """Scroll by ``fraction`` of the visible span (negative: towards the start)."""
        t0, t1 = self.visible()
        shift = fraction * (t1 - t0)
        self.set_visible(t0 + shift, t1 + shift)

    def wheel(self, event: QWheelEvent, widget: QWidget) -> None:
        """Zoom around the cursor for a wheel turn over ``widget`` (as the plots do)."""
        delta = event.angleDelta().y()
        if not delta:
            event.ignore()
            return
        center = self.to_seconds(event.position().x(), widget)
        self.zoom(WHEEL_ZOOM_BASE ** (delta / 8), center)
        event.accept()

    def fit(self) -> None:
        """Show the whole timeline."""
        self.set_visible(0.0, self.extent_s)

    def seconds_of_frame(self, frame: float) -> float:
        """Start of ``frame`` on the timeline, s (constant rate)."""
        return float(frame) / float(self.rate)

    def frame_of_seconds(self, seconds: float) -> float:
        """Fractional frame position of ``seconds``."""
        return seconds * float(self.rate)

    def span_px(self, widget: QWidget) -> tuple[float, float]:
        """Left edge and width of the master view, in ``widget``'s coordinates (px)."""
        graphics_view = self.view.getViewWidget()
        if graphics_view is None:
            return 0.0, float(widget.width())
        rect = graphics_view.viewportTransform().mapRect(self.view.sceneBoundingRect())
        top_left = graphics_view.viewport().mapToGlobal(rect.topLeft())
        return widget.mapFromGlobal(top_left).x(), max(rect.width(), 1.0)

    def to_x(self, seconds: float, widget: QWidget) -> float:
        """Where ``seconds`` is drawn in ``widget`` (px from its left edge)."""
        left, width = self.span_px(widget)
        t0, t1 = self.visible()
        return left + (seconds - t0) / (t1 - t0) * width

    def to_seconds(self, x: float, widget: QWidget) -> float:
        """The time under ``x`` px of ``widget``."""
        left, width = self.span_px(widget)
        t0, t1 = self.visible()
        return t0 + (x - left) / width * (t1 - t0)

    def pixels_per_frame(self) -> float:
        """Screen pixels one frame spans at the current zoom."""
        t0, t1 = self.visible()
        width = max(self.view.width(), 1.0)
        return width / max((t1 - t0) * float(self.rate), 1e-9)


class FrameViewLink:
    """Keeps the x range of a ViewBox in frames equal to a ViewBox in seconds, both ways.

    Parameters
    ----------
    frames_view
        The ViewBox whose x is in target frames.
    """

    def __init__(self, frames_view: pg.ViewBox) -> None:
        self._frames_view = frames_view
        self._seconds_view: pg.ViewBox | None = None
        self._rate = 25.0
        self._busy = False
        frames_view.sigXRangeChanged.connect(self._on_frames_changed)

    @property
    def linked(self) -> bool:
        """True once a seconds view is linked."""
        return self._seconds_view is not None

    def link(self, seconds_view: pg.ViewBox, frame_rate: SupportsFloat) -> None:
        """Follow ``seconds_view`` at ``frame_rate`` frames per second (relinking is fine)."""
        if self._seconds_view is not seconds_view:
            if self._seconds_view is not None:
                self._seconds_view.sigXRangeChanged.disconnect(self._on_seconds_changed)
            seconds_view.sigXRangeChanged.connect(self._on_seconds_changed)
        self._seconds_view, self._rate = seconds_view, max(float(frame_rate), 1e-3)
        self._on_seconds_changed()

    def _on_seconds_changed(self, *_: object) -> None:
        if self._busy or self._seconds_view is None:
            return
        x0, x1 = self._seconds_view.viewRange()[0]
        self._busy = True
        try:
            self._frames_view.setXRange(x0 * self._rate, x1 * self._rate, padding=0.0)
        finally:
            self._busy = False

    def _on_frames_changed(self, *_: object) -> None:
        if self._busy or self._seconds_view is None:
            return
        x0, x1 = self._frames_view.viewRange()[0]
        self._busy = True
        try:
            self._seconds_view.setXRange(x0 / self._rate, x1 / self._rate, padding=0.0)
        finally:
            self._busy = False


class RangeShade:
    """Dims a track outside the in/out range and marks both ends.

    Parameters
    ----------
    view
        The track's ViewBox.
    z
        Stacking order of the shade (above the content, below the playhead).
    """

    def __init__(self, view: pg.ViewBox, z: float = 5.0) -> None:
        no_pen = pg.mkPen(None)
        self.before = pg.LinearRegionItem((-_FAR, 0.0), movable=False, brush=_OUTSIDE_BRUSH)
        self.after = pg.LinearRegionItem((0.0, _FAR), movable=False, brush=_OUTSIDE_BRUSH)
        for region in (self.before, self.after):
            for line in region.lines:
                line.setPen(no_pen)
        self.in_line = pg.InfiniteLine(angle=90, movable=False, pen=_MARK_PEN)
        self.out_line = pg.InfiniteLine(angle=90, movable=False, pen=_MARK_PEN)
        for item in (self.before, self.after, self.in_line, self.out_line):
            item.setZValue(z)
            item.setVisible(False)
            view.addItem(item, ignoreBounds=True)
        self._range: tuple[float | None, float | None] = (None, None)

    def set_range(self, start: float | None, end: float | None) -> None:
        """Shade before ``start`` and from ``end`` on (the view's x units); None: no mark."""
        self._range = (start, end)
        for region, line, x, span in (
            (self.before, self.in_line, start, (-_FAR, start)),
            (self.after, self.out_line, end, (end, _FAR)),
        ):
            region.setVisible(x is not None)
            line.setVisible(x is not None)
            if x is not None:
                region.setRegion(span)
                line.setValue(x)

    def shaded(self) -> tuple[float | None, float | None]:
        """The marked ``(start, end)``, None where unset (for tests)."""
        return self._range
