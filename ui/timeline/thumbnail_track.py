"""Video thumbnails along the time axis, decoded on a worker thread and cached.

The track is cut into cells of at least one thumbnail's width; each cell shows the frame at
its start. Zooming in makes the cells shorter in time, so more frames appear, down to one
per frame. Missing thumbnails are decoded a few at a time by a :class:`LatestWinsFetcher`
with its own reader (a decoder is not thread-safe); a newer layout replaces the pending
request, so zooming never queues stale work. Until a thumbnail arrives its cell shows the
nearest one already decoded.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from evp_studio.media import VideoReader, read_thumbnail
from ui.timeline.time_scale import TimeScale
from ui.workers import LatestWinsFetcher

log = logging.getLogger(__name__)

THUMB_HEIGHT = 46  # px, decoded size
TRACK_HEIGHT = THUMB_HEIGHT + 6
BATCH = 4  # thumbnails per worker call: small, so a new layout takes over quickly
CACHE_LIMIT = 600  # thumbnails kept (about 12 MB at 46 px)
_NICE = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
_BACKGROUND = QColor(30, 30, 34)
_EMPTY = QColor(52, 52, 58)
_OUTSIDE = QColor(0, 0, 0, 110)
_PLAYHEAD = QColor(255, 80, 60)


def nice_step(frames: float) -> int:
    """The smallest whole step of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k that is >= ``frames``."""
    for exponent in range(12):
        for m in _NICE:
            step = m * 10**exponent
            if step >= frames and float(step).is_integer():
                return int(step)
    return 10**12


def slot_frames(
    t0: float, t1: float, *, width_px: float, thumb_px: float, rate: Fraction, frame_count: int
) -> tuple[int, np.ndarray]:
    """The frames whose thumbnails fill the visible range.

    Parameters
    ----------
    t0, t1
        Visible range, s.
    width_px
        Pixels the range spans.
    thumb_px
        Width of one thumbnail, px.
    rate
        Exact frame rate.
    frame_count
        Frames in the clip.

    Returns
    -------
    tuple[int, np.ndarray]
        Frames from one cell to the next, and the ``(M,)`` int64 start frames of the
        cells that overlap the range.
    """
    if frame_count <= 0 or t1 <= t0 or width_px <= 0:
        return 1, np.zeros(0, np.int64)
    px_per_frame = width_px / ((t1 - t0) * float(rate))
    step = nice_step(thumb_px / px_per_frame)
    first = max(0, math.floor(t0 * float(rate) / step) * step)
    last = min(frame_count - 1, math.ceil(t1 * float(rate)))
    return step, np.arange(first, last + 1, step, dtype=np.int64)


@dataclass(frozen=True)
class _ThumbRequest:
    path: Path | None  # None: close the reader
    indices: tuple[int, ...]
    height: int


class _ThumbnailSource:
    """Decodes thumbnails with a reader that only the worker side touches, one call at a time."""

    def __init__(self) -> None:
        self._reader: VideoReader | None = None

    def __call__(self, req: _ThumbRequest) -> list[tuple[int, np.ndarray]]:
        if req.path is None or (self._reader is not None and self._reader.path != req.path):
            self.close()
        if req.path is None:
            return []
        if self._reader is None:
            self._reader = VideoReader(req.path, cache_bytes=0)
        return [(i, read_thumbnail(self._reader, i, height=req.height)) for i in req.indices]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class ThumbnailTrack(QWidget):
    """A filmstrip of the target video on the shared time axis.

    Parameters
    ----------
    scale
        The timeline's shared x axis.
    parent
        Qt parent.

    Signals
    -------
    thumbnails_arrived(list)
        Frame indices of newly decoded thumbnails (tests wait on it).
    """

    thumbnails_arrived = Signal(list)

    def __init__(self, scale: TimeScale, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumbnailTrack")
        self.setFixedHeight(TRACK_HEIGHT)
        self.setToolTip("Video thumbnails · wheel: zoom")
        self.scale = scale
        self._path: Path | None = None
        self._frame_count = 0
        self._thumb_px = float(THUMB_HEIGHT * 16 / 9)
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._step = 1
        self._slots = np.zeros(0, np.int64)
        self._playhead = 0
        self._range: tuple[int | None, int | None] = (None, None)
        self._broken = False
        self._source = _ThumbnailSource()
        # No Qt parent: a result queued when the track is deleted must find the fetcher alive.
        self._fetcher = LatestWinsFetcher(self._source)
        self._fetcher.result_ready.connect(self._on_thumbnails)
        self._fetcher.failed.connect(self._on_failed)
        scale.changed.connect(self._relayout)

    # -- state ------------------------------------------------------------------------------
    def set_video(self, path: Path | None, frame_count: int, aspect: float = 16 / 9) -> None:
        """Show thumbnails of ``path`` (None clears); ``aspect`` is display width / height."""
        if path == self._path and frame_count == self._frame_count:
            return
        self._path, self._frame_count = path, frame_count if path is not None else 0
        self._thumb_px = float(THUMB_HEIGHT * max(aspect, 0.1))
        self._cache.clear()
        self._broken = False
        if path is None:
            self._fetcher.request(_ThumbRequest(None, (), THUMB_HEIGHT))
        self._relayout()

    def set_playhead(self, frame: int) -> None:
        """Move the playhead line (no signal)."""
        self._playhead = max(0, int(frame))
        self.update()

    def set_range(self, in_frame: int | None, out_frame: int | None) -> None:
        """Dim the frames outside ``[in_frame, out_frame)``."""
        self._range = (in_frame, out_frame)
        self.update()

    @property
    def slots(self) -> list[int]:
        """Start frames of the cells laid out now."""
        return [int(f) for f in self._slots]

    def cached_frames(self) -> list[int]:
        """Frames whose thumbnails are decoded, in order (for tests)."""
        return sorted(self._cache)

    def shutdown(self) -> None:
        """Wait for the worker and close its reader (the window is closing)."""
        self._fetcher.wait()
        self._source.close()

    # -- layout and fetching ----------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self._relayout()

    def _relayout(self) -> None:
        t0, t1 = self.scale.visible()
        _, width = self.scale.span_px(self)
        self._step, self._slots = slot_frames(
            t0,
            t1,
            width_px=width,
            thumb_px=self._thumb_px,
            rate=self.scale.rate,
            frame_count=self._frame_count,
        )
        self._request_missing()
        self.update()

    def _request_missing(self) -> None:
        if self._path is None or self._broken:
            return
        missing = [int(f) for f in self._slots if int(f) not in self._cache]
        if missing:
            self._fetcher.request(_ThumbRequest(self._path, tuple(missing[:BATCH]), THUMB_HEIGHT))

    def _on_thumbnails(self, req: _ThumbRequest, result: list[tuple[int, np.ndarray]]) -> None:
        if req.path is None or req.path != self._path:
            return
        for index, rgb in result:
            self._cache[index] = _to_pixmap(rgb)
            self._cache.move_to_end(index)
        while len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        if result:
            self._thumb_px = float(result[0][1].shape[1])
        self.update()
        self.thumbnails_arrived.emit([index for index, _ in result])
        self._request_missing()

    def _on_failed(self, req: _ThumbRequest, exc: BaseException) -> None:
        log.warning("thumbnails of %s failed: %s", req.path, exc)
        if req.path == self._path:
            self._broken = True  # do not retry in a loop; a new video resets this

    # -- drawing ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), _BACKGROUND)
            cached = sorted(self._cache)
            for frame in self._slots:
                self._paint_cell(painter, int(frame), cached)
            if self._frame_count:
                self._paint_marks(painter)
        finally:
            painter.end()

    def _paint_cell(self, painter: QPainter, frame: int, cached: list[int]) -> None:
        end = min(frame + self._step, self._frame_count)
        x0 = self.scale.to_x(self.scale.seconds_of_frame(frame), self)
        x1 = self.scale.to_x(self.scale.seconds_of_frame(end), self)
        cell = QRectF(x0, 3, max(x1 - x0, 1.0), THUMB_HEIGHT)
        pixmap = self._pixmap_near(frame, cached)
        if pixmap is None:
            painter.fillRect(cell.adjusted(0, 0, -1, 0), _EMPTY)
            return
        painter.save()
        painter.setClipRect(cell.adjusted(0, 0, -1, 0))
        x = x0
        while x < x1:  # a cell longer than a thumbnail repeats it, as a filmstrip does
            painter.drawPixmap(QPointF(x, 3), pixmap)
            x += max(pixmap.width(), 1)
        painter.restore()

    def _pixmap_near(self, frame: int, cached: list[int]) -> QPixmap | None:
        """The thumbnail of ``frame``, else of the nearest decoded frame (``cached``, sorted)."""
        if not cached:
            return None
        i = bisect.bisect_left(cached, frame)
        near = cached[max(i - 1, 0) : i + 1]
        return self._cache[min(near, key=lambda f: abs(f - frame))]

    def _paint_marks(self, painter: QPainter) -> None:
        start, end = self._range
        h = float(self.height())
        if start is not None:
            x = self.scale.to_x(self.scale.seconds_of_frame(start), self)
            painter.fillRect(QRectF(0, 0, max(x, 0.0), h), _OUTSIDE)
        if end is not None:
            x = self.scale.to_x(self.scale.seconds_of_frame(end), self)
            painter.fillRect(QRectF(x, 0, max(self.width() - x, 0.0), h), _OUTSIDE)
        x = self.scale.to_x(self.scale.seconds_of_frame(self._playhead), self)
        painter.setPen(_PLAYHEAD)
        painter.drawLine(QPointF(x, 0), QPointF(x, h))

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        self.scale.wheel(event, self)


def _to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap of an ``(H, W, 3)`` uint8 RGB array (GUI thread only)."""
    data = np.ascontiguousarray(rgb)
    h, w, _ = data.shape
    image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())
