"""The face-confidence track: detection confidence per frame, lost-face stretches in red.

x is in target frames, linked to the timeline's seconds like the emotion track. The data
comes from the target's :class:`~evp_studio.landmarks.LandmarkTrack` once it exists: from
the preview analysis, or straight from the landmark cache when the clip was tracked before
(:func:`cached_face_confidence`, run on a worker: it imports dlib and reads files).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import SupportsFloat

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from evp_studio.errors import EvpError
from ui.timeline.time_scale import MIN_VISIBLE_FRAMES, FrameViewLink, RangeShade

log = logging.getLogger(__name__)

LOST_RGBA = (230, 50, 50, 150)
_CURVE_PEN = pg.mkPen((120, 220, 140), width=1.5)
_CURVE_BRUSH = pg.mkBrush(120, 220, 140, 60)
_PLAYHEAD_PEN = pg.mkPen((255, 80, 60), width=2)
_EMPTY_TEXT = "Face confidence appears after Preview ▸ Analyse Face and Speech"


def cached_face_confidence(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(confidence, lost)`` of a clip from the landmark cache, or None (worker thread).

    Parameters
    ----------
    path
        The target video.

    Returns
    -------
    tuple[np.ndarray, np.ndarray] | None
        ``(T,)`` float32 confidence and ``(T,)`` bool lost, or None when the clip was not
        tracked with the default settings or its models are missing.
    """
    from evp_studio.landmarks import cached_track  # noqa: PLC0415 - imports dlib

    try:
        track = cached_track(path)
    except (EvpError, OSError) as e:
        log.info("%s: no cached face track (%s)", path, e)
        return None
    return None if track is None else (track.confidence, track.lost)


def lost_runs(lost: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` frame stretches where ``lost`` is True.

    Parameters
    ----------
    lost
        ``(T,)`` bool.

    Returns
    -------
    list[tuple[int, int]]
        The stretches, in order.
    """
    padded = np.concatenate([[False], np.asarray(lost, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class ConfidenceTrackView(QWidget):
    """Plots face-detection confidence over frames and shades lost-face stretches.

    Signals
    -------
    seek_requested(int)
        The user clicked the track: go to this frame.
    """

    seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confidenceTrack")
        self._confidence: np.ndarray | None = None
        self._lost: np.ndarray | None = None
        self.plot = pg.PlotWidget(background=(30, 30, 34))
        self.plot.setMinimumHeight(44)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for axis in ("left", "bottom"):
            self.plot.getPlotItem().hideAxis(axis)
        self.plot.setYRange(0.0, 1.05, padding=0.0)
        self.plot.setToolTip("Face-detection confidence; red: the face was lost there")
        self.view_box = self.plot.getViewBox()
        self.band = pg.ImageItem(axisOrder="row-major")
        self.curve = pg.PlotDataItem(pen=_CURVE_PEN, fillLevel=0.0, fillBrush=_CURVE_BRUSH)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=_PLAYHEAD_PEN)
        self.empty_text = pg.TextItem(_EMPTY_TEXT, color=(150, 150, 160), anchor=(0, 0.5))
        for z, item in enumerate((self.band, self.curve, self.playhead)):
            item.setZValue(z if item is not self.playhead else 10)
            self.plot.addItem(item)
        self.view_box.addItem(self.empty_text, ignoreBounds=True)
        self.shade = RangeShade(self.view_box)
        self._link = FrameViewLink(self.view_box)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.view_box.sigXRangeChanged.connect(self._place_empty_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.set_length(0)
        self.set_track(None, None)

    # -- public API -------------------------------------------------------------------------
    def set_track(self, confidence: np.ndarray | None, lost: np.ndarray | None) -> None:
        """Show ``(T,)`` confidence in [0, 1] and ``(T,)`` bool lost frames; None clears.

        Raises
        ------
        ValueError
            When the two arrays differ in length.
        """
        if confidence is None or lost is None:
            self._confidence = self._lost = None
            self.curve.setData([], [])
            self.band.clear()
            self.empty_text.setVisible(True)
            return
        conf = np.clip(np.asarray(confidence, np.float64), 0.0, 1.0)
        flags = np.asarray(lost, bool)
        if conf.shape != flags.shape or conf.ndim != 1:
            raise ValueError(f"confidence {conf.shape} and lost {flags.shape} must be (T,) alike")
        self._confidence, self._lost = conf, flags
        self.curve.setData(np.arange(len(conf), dtype=np.float64), conf)
        rgba = np.zeros((1, max(len(flags), 1), 4), np.uint8)
        rgba[0, flags] = LOST_RGBA
        self.band.setImage(rgba, levels=(0, 255))
        self.band.setRect(QRectF(-0.5, 0.0, float(rgba.shape[1]), 1.05))
        self.empty_text.setVisible(False)

    def set_length(self, frame_count: int) -> None:
        """The clip's length in frames (limits zooming out)."""
        n = max(frame_count, 1)
        self.view_box.setLimits(xMin=-0.5, xMax=n + 0.5, minXRange=MIN_VISIBLE_FRAMES)
        if not self._link.linked:
            self.view_box.setXRange(-0.5, n + 0.5, padding=0.0)

    def link_seconds_view(self, view: pg.ViewBox, frame_rate: SupportsFloat) -> None:
        """Keep this track's x range in step with ``view``, whose x is in seconds."""
        self._link.link(view, frame_rate)

    def set_playhead(self, frame: int) -> None:
        """Move the playhead line (no signal)."""
        self.playhead.setValue(max(0, int(frame)))

    @property
    def has_track(self) -> bool:
        """True when a track is shown."""
        return self._confidence is not None

    def lost_runs(self) -> list[tuple[int, int]]:
        """The lost-face stretches shown, half-open frame ranges."""
        return [] if self._lost is None else lost_runs(self._lost)

    # -- mouse ------------------------------------------------------------------------------
    def _on_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        pos = event.scenePos()  # type: ignore[attr-defined]
        if self.view_box.sceneBoundingRect().contains(pos):
            self.seek_requested.emit(max(0, round(self.view_box.mapSceneToView(pos).x())))

    def _place_empty_text(self, *_: object) -> None:
        x0, _ = self.view_box.viewRange()[0]
        self.empty_text.setPos(x0, 0.5)
