"""The timecode ruler above the tracks: ticks, the in/out range, the playhead, scrubbing."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from ui.timeline.ruler_ticks import RulerMode, Tick, ruler_ticks
from ui.timeline.snapping import SNAP_PX, snap_frame
from ui.timeline.time_scale import TimeScale

RULER_HEIGHT = 30
_BACKGROUND = QColor(38, 38, 44)
_TICK = QColor(150, 150, 160)
_LABEL = QColor(210, 210, 215)
_RANGE = QColor(250, 200, 60, 70)
_RANGE_EDGE = QColor(250, 200, 60)
_PLAYHEAD = QColor(255, 80, 60)
_LABEL_SAMPLES = {
    RulerMode.TIMECODE: "00:00:00;00",
    RulerMode.FRAMES: "000000",
    RulerMode.SECONDS: "0000.000 s",
}


class TimecodeRuler(QWidget):
    """Ticks and labels on the shared time axis; click or drag to scrub.

    Parameters
    ----------
    scale
        The timeline's shared x axis.
    parent
        Qt parent.

    Signals
    -------
    seek_changing(int)
        The user scrubs to this frame (whole frames; snapped when snapping is on).
    seek_changed(int)
        The scrub ended on this frame.
    mode_changed(RulerMode)
        The labels now show this.
    """

    seek_changing = Signal(int)
    seek_changed = Signal(int)
    mode_changed = Signal(object)

    def __init__(self, scale: TimeScale, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timecodeRuler")
        self.setFixedHeight(RULER_HEIGHT)
        self.setToolTip("Click or drag to scrub · wheel: zoom")
        self.scale = scale
        self.mode = RulerMode.TIMECODE
        self.snapping = True
        self.snap_targets: Callable[[], list[int]] = list  # frames a scrub may snap to
        self._playhead = 0
        self._in: int | None = None
        self._out: int | None = None
        self._scrub_frame: int | None = None
        scale.changed.connect(self.update)

    # -- state ------------------------------------------------------------------------------
    @property
    def playhead_frame(self) -> int:
        """The frame the playhead marks."""
        return self._playhead

    def set_mode(self, mode: RulerMode) -> None:
        """Show timecode, frame numbers or seconds."""
        if mode is not self.mode:
            self.mode = mode
            self.update()
            self.mode_changed.emit(mode)

    def cycle_mode(self) -> None:
        """Switch to the next display mode (timecode → frames → seconds → timecode)."""
        modes = list(RulerMode)
        self.set_mode(modes[(modes.index(self.mode) + 1) % len(modes)])

    def set_playhead(self, frame: int) -> None:
        """Move the playhead (no signal)."""
        self._playhead = max(0, int(frame))
        self.update()

    def set_range(self, in_frame: int | None, out_frame: int | None) -> None:
        """Show the half-open range ``[in_frame, out_frame)``; None: the clip's start / end."""
        self._in, self._out = in_frame, out_frame
        self.update()

    def visible_ticks(self) -> list[tuple[float, str]]:
        """``(x px, label)`` of the labelled ticks drawn now (for tests)."""
        return [(self._x(t.seconds), t.label) for t in self._ticks() if t.label is not None]

    def frame_at(self, x: float) -> int:
        """The frame a scrub at ``x`` px lands on, clamped to the clip."""
        position = self.scale.frame_of_seconds(self.scale.to_seconds(x, self))
        tolerance = SNAP_PX / self.scale.pixels_per_frame() if self.snapping else 0.0
        targets = self.snap_targets() if self.snapping else []
        frame = snap_frame(position, targets, tolerance=tolerance)
        return min(max(frame, 0), max(self.scale.frame_count - 1, 0))

    # -- drawing ----------------------------------------------------------------------------
    def _x(self, seconds: float) -> float:
        return self.scale.to_x(seconds, self)

    def _ticks(self) -> list[Tick]:
        _, width = self.scale.span_px(self)
        t0, t1 = self.scale.visible()
        label_px = QFontMetricsF(self.font()).horizontalAdvance(_LABEL_SAMPLES[self.mode]) + 14
        return ruler_ticks(
            t0, t1, width_px=width, rate=self.scale.rate, mode=self.mode, min_label_px=label_px
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), _BACKGROUND)
            if self.scale.frame_count:
                self._paint_range(painter)
                self._paint_ticks(painter)
                self._paint_playhead(painter)
        finally:
            painter.end()

    def _paint_range(self, painter: QPainter) -> None:
        if self._in is None and self._out is None:
            return
        start = self._x(self.scale.seconds_of_frame(self._in or 0))
        end = self._x(self.scale.seconds_of_frame(self._out or self.scale.frame_count))
        painter.fillRect(QRectF(start, 0, end - start, self.height()), _RANGE)
        painter.setPen(_RANGE_EDGE)
        h = float(self.height())
        if self._in is not None:  # [ bracket
            painter.drawPolyline(
                QPolygonF([QPointF(start + 5, 0), QPointF(start, 0), QPointF(start, h)])
            )
        if self._out is not None:  # ] bracket
            painter.drawPolyline(QPolygonF([QPointF(end - 5, 0), QPointF(end, 0), QPointF(end, h)]))

    def _paint_ticks(self, painter: QPainter) -> None:
        h = self.height()
        metrics = QFontMetricsF(self.font())
        last_label_end = float("-inf")
        for tick in self._ticks():
            x = self._x(tick.seconds)
            painter.setPen(_TICK)
            if tick.label is None:
                painter.drawLine(QPointF(x, h - 5), QPointF(x, h))
                continue
            painter.drawLine(QPointF(x, h - 12), QPointF(x, h))
            if x + 3 > last_label_end:  # a drop-frame minute can crowd its neighbour
                painter.setPen(_LABEL)
                painter.drawText(QPointF(x + 3, metrics.ascent() + 2), tick.label)
                last_label_end = x + 3 + metrics.horizontalAdvance(tick.label) + 4

    def _paint_playhead(self, painter: QPainter) -> None:
        x = self._x(self.scale.seconds_of_frame(self._playhead))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(_PLAYHEAD)
        painter.setBrush(_PLAYHEAD)
        head = QPolygonF([QPointF(x - 6, 0), QPointF(x + 6, 0), QPointF(x, 9)])
        painter.drawPolygon(head)
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    # -- mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.scale.frame_count:
            self._scrub_to(event.position().x())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._scrub_frame is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._scrub_to(event.position().x())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._scrub_frame is not None:
            frame, self._scrub_frame = self._scrub_frame, None
            self.seek_changed.emit(frame)
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        self.scale.wheel(event, self)

    def _scrub_to(self, x: float) -> None:
        frame = self.frame_at(x)
        if frame != self._scrub_frame:
            self._scrub_frame = frame
            self.set_playhead(frame)
            self.seek_changing.emit(frame)
