"""Zoomable waveform of the speech track with a draggable playhead (pyqtgraph)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from evp_studio.media import WaveformEnvelope

_WAVE_PEN = pg.mkPen((90, 170, 255), width=1)
_WAVE_BRUSH = pg.mkBrush(90, 170, 255, 110)
_PLAYHEAD_PEN = pg.mkPen((255, 80, 60), width=2)


class WaveformView(QWidget):
    """Shows a :class:`WaveformEnvelope` on a time axis in seconds, and the playhead.

    Signals
    -------
    seek_changing(float)
        The user drags the playhead or clicks: the time in seconds.
    seek_changed(float)
        The drag ended at this time.
    duration_changed(float)
        The timeline's length changed (a video or a longer speech track), s.
    """

    seek_changing = Signal(float)
    seek_changed = Signal(float)
    duration_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waveformView")
        self._envelope: WaveformEnvelope | None = None
        self._offset_s = 0.0
        self._duration_s = 1.0
        self.min_range_s = 0.02  # narrowest zoom, s
        self.plot = pg.PlotWidget(background=(30, 30, 34))
        self.plot.setMinimumHeight(90)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setYRange(-1.0, 1.0, padding=0.05)
        self.plot.getPlotItem().hideAxis("left")
        self.plot.getPlotItem().setLabel("bottom", "time", units="s")
        self._upper = pg.PlotDataItem(pen=_WAVE_PEN)
        self._lower = pg.PlotDataItem(pen=_WAVE_PEN)
        self._fill = pg.FillBetweenItem(self._upper, self._lower, brush=_WAVE_BRUSH)
        for item in (self._upper, self._lower, self._fill):
            self.plot.addItem(item)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=True, pen=_PLAYHEAD_PEN)
        self.playhead.setZValue(10)
        self.plot.addItem(self.playhead)
        self.playhead.sigPositionChanged.connect(self._on_playhead_dragged)
        self.playhead.sigPositionChangeFinished.connect(
            lambda line: self.seek_changed.emit(float(line.value()))
        )
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._redraw())
        self._setting_playhead = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    @property
    def duration_s(self) -> float:
        """Length of the timeline in seconds."""
        return self._duration_s

    def set_duration(self, seconds: float) -> None:
        """Length of the timeline in seconds; limits panning and zooming out."""
        self._duration_s = max(seconds, 1e-3)
        view = self.plot.getViewBox()
        view.setLimits(xMin=0.0, xMax=self._duration_s, minXRange=self.min_range_s)
        self.plot.setXRange(0.0, self._duration_s, padding=0.0)
        self.duration_changed.emit(self._duration_s)

    def set_envelope(self, envelope: WaveformEnvelope | None, offset_s: float = 0.0) -> None:
        """Show ``envelope`` starting at ``offset_s`` on the timeline (None clears it)."""
        self._envelope, self._offset_s = envelope, offset_s
        if envelope is not None and envelope.duration_s + offset_s > self._duration_s:
            self.set_duration(envelope.duration_s + offset_s)
        self._redraw()

    def set_playhead(self, seconds: float) -> None:
        """Move the playhead without emitting seek signals."""
        self._setting_playhead = True
        try:
            self.playhead.setValue(seconds)
        finally:
            self._setting_playhead = False

    def curve_points(self) -> int:
        """Number of points drawn now (for tests)."""
        x, _ = self._upper.getData()
        return 0 if x is None else len(x)

    def _redraw(self) -> None:
        if self._envelope is None:
            self._upper.setData([], [])
            self._lower.setData([], [])
            return
        x0, x1 = self.plot.getViewBox().viewRange()[0]
        t0 = max(0.0, x0 - self._offset_s)
        t1 = min(self._envelope.duration_s, x1 - self._offset_s)
        if t1 <= t0:
            self._upper.setData([], [])
            self._lower.setData([], [])
            return
        width = max(200, self.plot.width())
        times, mins, maxs = self._envelope.for_range(t0, t1, max_points=width)
        times = np.asarray(times) + self._offset_s
        self._upper.setData(times, maxs)
        self._lower.setData(times, mins)

    def _on_playhead_dragged(self, line: pg.InfiniteLine) -> None:
        if not self._setting_playhead:
            self.seek_changing.emit(float(line.value()))

    def _on_clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        view = self.plot.getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            return
        t = float(view.mapSceneToView(pos).x())
        t = min(max(t, 0.0), self._duration_s)
        self.set_playhead(t)
        self.seek_changing.emit(t)
        self.seek_changed.emit(t)
