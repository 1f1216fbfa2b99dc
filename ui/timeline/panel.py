"""The timeline panel: ruler, thumbnails, waveform, emotion and face tracks on one time axis.

Every row starts after the same left gutter (a header with the track's name), so the plots'
view boxes line up; the waveform's range in seconds is the master and the other tracks
follow it (:mod:`ui.timeline.time_scale`). The panel owns the Timeline menu's actions:
zoom and scroll, snapping, the in/out range and the ruler's units.

In/out points are the document's render range, half-open ``[in_frame, out_frame)`` as the
model stores it. Marking the out point at the playhead's frame ``f`` stores ``f + 1``, so
the frame under the playhead is the last one included, as in other editors.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from evp_studio.errors import InvalidInputError
from evp_studio.project import Changes, Document
from evp_studio.session import LoadedVideo
from ui.timeline.confidence_track import ConfidenceTrackView, cached_face_confidence
from ui.timeline.emotion_track import EmotionTrackView
from ui.timeline.ruler import TimecodeRuler
from ui.timeline.ruler_ticks import RulerMode
from ui.timeline.thumbnail_track import ThumbnailTrack
from ui.timeline.time_scale import RangeShade, TimeScale
from ui.timeline.waveform_view import WaveformView
from ui.workers import LatestWinsFetcher

log = logging.getLogger(__name__)

GUTTER_PX = 76  # width of every row's header, so that all tracks start at the same x
ZOOM_STEP = 1.5
PAN_STEP = 0.25  # of the visible span
_MODE_LABELS = {RulerMode.TIMECODE: "TC", RulerMode.FRAMES: "Frames", RulerMode.SECONDS: "Sec"}
_MODE_NAMES = {
    RulerMode.TIMECODE: "&Timecode",
    RulerMode.FRAMES: "&Frames",
    RulerMode.SECONDS: "&Seconds",
}


class TimelinePanel(QWidget):
    """Stacks the timeline's tracks under a timecode ruler and owns their shared actions.

    Parameters
    ----------
    document
        The document whose keys and render range are shown.
    waveform, emotion_track
        The window's waveform and emotion track; the panel lays them out.
    parent
        Qt parent.

    Signals
    -------
    seek_requested(int)
        The user scrubbed the ruler, clicked the face track or jumped to a mark.
    """

    seek_requested = Signal(int)

    def __init__(
        self,
        document: Document,
        waveform: WaveformView,
        emotion_track: EmotionTrackView,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timelinePanel")
        self.waveform = waveform
        self.emotion_track = emotion_track
        self.scale = TimeScale(waveform.plot.getViewBox(), self)
        self.ruler = TimecodeRuler(self.scale)
        self.thumbnails = ThumbnailTrack(self.scale)
        self.confidence = ConfidenceTrackView()
        self._document: Document | None = None
        self._video_path: Path | None = None
        self._playhead = 0
        for plot in (waveform.plot, emotion_track.plot):
            plot.getPlotItem().hideAxis("bottom")  # the ruler shows the time
        self.shades = {
            "waveform": RangeShade(waveform.plot.getViewBox()),
            "emotion": RangeShade(emotion_track.view_box),
            "confidence": self.confidence.shade,
        }
        # No Qt parent (see ThumbnailTrack), and looked up at call time for the tests.
        self._face_fetcher = LatestWinsFetcher(lambda path: cached_face_confidence(path))
        self._face_fetcher.result_ready.connect(self._on_cached_face)
        self._build_rows()
        self._build_actions()
        self._connect()
        self._show_mode(self.ruler.mode)
        self.set_document(document)

    # -- layout -----------------------------------------------------------------------------
    def _build_rows(self) -> None:
        self.mode_button = QToolButton()
        self.mode_button.setObjectName("rulerModeButton")
        self.mode_button.setToolTip("Ruler units: timecode, frames or seconds (click to switch)")
        self.mode_button.clicked.connect(self.ruler.cycle_mode)
        self.emotion_header = _header_box("Emotion")  # add_header_widget puts controls here
        rows = (
            (self.mode_button, self.ruler, 0),
            (_header("Video"), self.thumbnails, 0),
            (_header("Speech"), self.waveform, 2),
            (self.emotion_header, self.emotion_track, 3),
            (_header("Face"), self.confidence, 1),
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        for header, track, stretch in rows:
            header.setFixedWidth(GUTTER_PX)
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(0)
            row.addWidget(header, 0, Qt.AlignmentFlag.AlignTop)
            row.addWidget(track, 1)
            layout.addLayout(row, stretch)

    def _connect(self) -> None:
        self.ruler.seek_changing.connect(self.seek_requested)
        self.ruler.mode_changed.connect(self._show_mode)
        self.ruler.snap_targets = self._scrub_targets
        self.confidence.seek_requested.connect(self.seek_requested)
        self.waveform.duration_changed.connect(self._on_duration_changed)

    # -- actions ----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        entries: tuple[tuple[str, tuple[str, ...], object, str], ...] = (
            ("Zoom &In", ("=", "+"), self.zoom_in, "Zoom in around the playhead"),
            ("Zoom &Out", ("-",), self.zoom_out, "Zoom out around the playhead"),
            ("Zoom to &Fit", ("\\",), self.scale.fit, "Show the whole timeline"),
            ("Scroll &Left", ("Alt+Left",), self.scroll_back, "Scroll towards the start"),
            ("Scroll &Right", ("Alt+Right",), self.scroll_on, "Scroll towards the end"),
            ("Mark I&n", ("I",), self.mark_in, "Start the range at the playhead"),
            ("Mark O&ut", ("O",), self.mark_out, "End the range with the playhead's frame"),
            ("Clear In", ("Alt+I",), self.clear_in, "Start the range at the first frame"),
            ("Clear Out", ("Alt+O",), self.clear_out, "End the range at the last frame"),
            ("Clear In and Out", ("Alt+X",), self.clear_range, "Use the whole clip"),
            ("Go to In", ("Shift+I",), self.go_to_in, "Move the playhead to the in point"),
            ("Go to Out", ("Shift+O",), self.go_to_out, "Move the playhead to the range's end"),
        )
        self.actions_by_name: dict[str, QAction] = {}
        for text, keys, slot, tip in entries:
            action = self._add_action(text, keys, tip)
            action.triggered.connect(lambda _c=False, f=slot: f())  # type: ignore[operator]
        self.snap_action = self._add_action(
            "&Snapping", ("S",), "Snap drags and scrubs to keys, the playhead and in/out"
        )
        self.snap_action.setCheckable(True)
        self.snap_action.setChecked(True)
        self.snap_action.toggled.connect(self.set_snapping)
        self.mode_actions = QActionGroup(self)
        for mode, name in _MODE_NAMES.items():
            action = QAction(name, self, checkable=True)
            action.setStatusTip(f"Show the ruler in {name.replace('&', '').lower()}")
            action.setChecked(mode is self.ruler.mode)
            action.triggered.connect(lambda _c=False, m=mode: self.ruler.set_mode(m))
            self.mode_actions.addAction(action)

    def _add_action(self, text: str, keys: tuple[str, ...], tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shown = " / ".join(keys)
        action.setToolTip(f"{tip} ({shown})")
        self.addAction(action)
        self.actions_by_name[text.replace("&", "")] = action
        return action

    def add_header_widget(self, widget: QWidget) -> None:
        """Put ``widget`` in the emotion track's header, under its name (GUTTER_PX wide)."""
        column = self.emotion_header.layout()
        assert isinstance(column, QVBoxLayout)
        column.insertWidget(column.count() - 1, widget)

    def fill_menu(self, menu: QMenu) -> None:
        """Add the timeline's actions to ``menu`` (the window's Timeline menu)."""
        groups = (
            ("Zoom In", "Zoom Out", "Zoom to Fit", "Scroll Left", "Scroll Right"),
            ("Snapping",),
            ("Mark In", "Mark Out", "Go to In", "Go to Out"),
            ("Clear In", "Clear Out", "Clear In and Out"),
        )
        for i, names in enumerate(groups):
            if i:
                menu.addSeparator()
            for name in names:
                menu.addAction(self.actions_by_name[name])
        menu.addSeparator()
        units = menu.addMenu("Ruler &Units")
        for action in self.mode_actions.actions():
            units.addAction(action)

    # -- media, document, playhead ----------------------------------------------------------
    def set_document(self, document: Document) -> None:
        """Show ``document``'s render range and keys; the previous one is let go."""
        if self._document is not None:
            self._document.changed.disconnect(self._on_document_changed)
        self._document = document
        document.changed.connect(self._on_document_changed)
        self._refresh_range()

    def set_video(self, video: LoadedVideo | None) -> None:
        """Lay the tracks out for ``video`` (None: no video); clears the face track."""
        self.confidence.set_track(None, None)
        if video is None or video.info.video is None or not len(video.timestamps):
            self._video_path = None
            self.scale.set_media(0, self.scale.rate)
            self.thumbnails.set_video(None, 0)
            self.ruler.update()
            return
        stream = video.info.video
        rate, count = Fraction(stream.frame_rate), len(video.timestamps)
        self._video_path = video.path
        self.scale.set_media(count, rate)
        self.waveform.min_range_s = self.scale.min_span_s
        self.waveform.set_duration(float(video.timestamps[-1]) + float(1 / rate))
        self.emotion_track.link_seconds_view(self.waveform.plot.getViewBox(), rate)
        self.confidence.link_seconds_view(self.waveform.plot.getViewBox(), rate)
        self.confidence.set_length(count)
        width, height = stream.display_size
        self.thumbnails.set_video(video.path, count, width / max(height, 1))
        self._apply_frame_limits()
        self._refresh_range()
        self._face_fetcher.request(video.path)

    def set_face_track(self, track: object | None) -> None:
        """Show a :class:`~evp_studio.landmarks.LandmarkTrack`'s confidence and lost frames."""
        lost = getattr(track, "lost", None)
        confidence = getattr(track, "confidence", None)
        if lost is not None and confidence is None:
            confidence = (~np.asarray(lost, bool)).astype(np.float32)
        self.confidence.set_track(confidence, lost)

    def set_playhead(self, frame: int, seconds: float | None = None) -> None:
        """Move every track's playhead to ``frame`` (at ``seconds`` on the waveform).

        When the playhead leaves the visible range (playback, a jump), the view pages so
        that it stays in sight.
        """
        self._playhead = max(0, int(frame))
        t = self.scale.seconds_of_frame(frame) if seconds is None else seconds
        self.waveform.set_playhead(t)
        self.emotion_track.set_playhead(frame)
        self.confidence.set_playhead(frame)
        self.thumbnails.set_playhead(frame)
        self.ruler.set_playhead(frame)
        t0, t1 = self.scale.visible()
        if not t0 <= t < t1 and t1 - t0 < self.scale.extent_s:
            span = t1 - t0
            self.scale.set_visible(t - 0.1 * span, t + 0.9 * span)

    def shutdown(self) -> None:
        """Wait for the workers (thumbnails, cached face track); the window is closing."""
        self.thumbnails.shutdown()
        self._face_fetcher.wait()

    # -- zoom, snapping ---------------------------------------------------------------------
    def zoom_in(self) -> None:
        """Zoom in one step around the playhead (``=`` / ``+``)."""
        self.scale.zoom(ZOOM_STEP, self._zoom_center())

    def zoom_out(self) -> None:
        """Zoom out one step around the playhead (``-``)."""
        self.scale.zoom(1 / ZOOM_STEP, self._zoom_center())

    def scroll_back(self) -> None:
        """Scroll a quarter of the view towards the start (``Alt+Left``)."""
        self.scale.pan(-PAN_STEP)

    def scroll_on(self) -> None:
        """Scroll a quarter of the view towards the end (``Alt+Right``)."""
        self.scale.pan(PAN_STEP)

    def _zoom_center(self) -> float | None:
        """The playhead when it is in view (as editors zoom), else the middle."""
        t = self.scale.seconds_of_frame(self._playhead)
        t0, t1 = self.scale.visible()
        return t if t0 <= t <= t1 else None

    def set_snapping(self, on: bool) -> None:
        """Snap key drags and ruler scrubs to nearby marks (``S``); whole frames always."""
        self.emotion_track.snapping = on
        self.ruler.snapping = on
        if self.snap_action.isChecked() != on:
            self.snap_action.setChecked(on)

    def _scrub_targets(self) -> list[int]:
        doc = self._document
        if doc is None:
            return []
        render = doc.project.render
        marks = [m for m in (render.in_frame, render.out_frame) if m is not None]
        return [key.frame for key in doc.project.emotion.keys] + marks

    # -- in / out ---------------------------------------------------------------------------
    def mark_in(self) -> None:
        """Start the range at the playhead (``I``); an out point before it is cleared."""
        changes: dict[str, int | None] = {"in_frame": self._playhead}
        out_frame = self._render_range()[1]
        if out_frame is not None and out_frame <= self._playhead:
            changes["out_frame"] = None
        self._set_range(**changes)

    def mark_out(self) -> None:
        """End the range with the playhead's frame included (``O``): stores ``frame + 1``."""
        changes: dict[str, int | None] = {"out_frame": self._playhead + 1}
        in_frame = self._render_range()[0]
        if in_frame is not None and in_frame > self._playhead:
            changes["in_frame"] = None
        self._set_range(**changes)

    def clear_in(self) -> None:
        """Remove the in point: the range starts at the first frame (``Alt+I``)."""
        self._set_range(in_frame=None)

    def clear_out(self) -> None:
        """Remove the out point: the range ends with the last frame (``Alt+O``)."""
        self._set_range(out_frame=None)

    def clear_range(self) -> None:
        """Remove both marks: the whole clip (``Alt+X``)."""
        self._set_range(in_frame=None, out_frame=None)

    def go_to_in(self) -> None:
        """Jump to the in point (``Shift+I``)."""
        in_frame = self._render_range()[0]
        if in_frame is not None:
            self.seek_requested.emit(in_frame)

    def go_to_out(self) -> None:
        """Jump to the last frame of the range, the one before the out point (``Shift+O``)."""
        out_frame = self._render_range()[1]
        if out_frame is not None:
            self.seek_requested.emit(out_frame - 1)

    def _render_range(self) -> tuple[int | None, int | None]:
        if self._document is None:
            return None, None
        render = self._document.project.render
        return render.in_frame, render.out_frame

    def _set_range(self, **changes: int | None) -> None:
        if self._document is None or self._document.project.target is None:
            return
        try:
            self._document.set_render_settings(**changes)
        except InvalidInputError as e:
            log.info("range refused: %s", e)

    def _refresh_range(self) -> None:
        in_frame, out_frame = self._render_range()
        self.ruler.set_range(in_frame, out_frame)
        self.thumbnails.set_range(in_frame, out_frame)
        seconds = self.scale.seconds_of_frame
        self.shades["waveform"].set_range(
            None if in_frame is None else seconds(in_frame),
            None if out_frame is None else seconds(out_frame),
        )
        for name in ("emotion", "confidence"):
            self.shades[name].set_range(in_frame, out_frame)

    # -- reactions --------------------------------------------------------------------------
    def _on_document_changed(self, changes: Changes) -> None:
        if changes.settings or changes.media:
            self._refresh_range()
        if changes.media:
            self._apply_frame_limits()

    def _on_duration_changed(self, seconds: float) -> None:
        self.scale.set_extent(seconds)
        self._apply_frame_limits()

    def _apply_frame_limits(self) -> None:
        """Let the frame-based tracks pan as far as the waveform (speech may be longer)."""
        frames = self.scale.extent_s * float(self.scale.rate)
        for view in (self.emotion_track.view_box, self.confidence.view_box):
            view.setLimits(xMax=max(frames, self.scale.frame_count) + 0.5)

    def _on_cached_face(self, path: Path, result: tuple[np.ndarray, np.ndarray] | None) -> None:
        if result is not None and path == self._video_path and not self.confidence.has_track:
            self.confidence.set_track(*result)

    def _show_mode(self, mode: RulerMode) -> None:
        self.mode_button.setText(_MODE_LABELS[mode])
        for action, each in zip(self.mode_actions.actions(), _MODE_NAMES, strict=True):
            action.setChecked(each is mode)


def _header_box(text: str) -> QWidget:
    """A header with room under the name for a track's own controls."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 2, 0)
    column.setSpacing(2)
    column.addWidget(_header(text))
    column.addStretch(1)
    return box


def _header(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("trackHeader")
    label.setContentsMargins(6, 4, 4, 4)
    label.setStyleSheet("color: rgb(170, 170, 180);")
    return label
