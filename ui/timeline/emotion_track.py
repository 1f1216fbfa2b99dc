"""The emotion track: keyframe markers, the intensity curve and the blended-emotion band.

x is in target frames. Every edit goes through the :class:`Document`'s verbs, so each one
is a single undo step; a drag moves the markers on screen only and commits one
``move_keyframes`` at release. Drags land on whole frames and, while :attr:`snapping` is on,
pull any moving key onto the playhead or an in/out point within a few pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import SupportsFloat

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from evp_studio.errors import InvalidInputError
from evp_studio.project import EMOTIONS, NEUTRAL_INDEX, Changes, Document, EmotionTrack, Keyframe
from ui.timeline.emotion_palette import EMOTION_COLORS, PALETTE, EmotionPalette
from ui.timeline.snapping import SNAP_PX, snap_delta, snap_targets
from ui.timeline.time_scale import MIN_VISIBLE_FRAMES, FrameViewLink

log = logging.getLogger(__name__)

DEFAULT_LENGTH = 250  # frames shown when the project has no target video yet
NEW_KEY_INTENSITY = 1.0
_HIT_PX = 9.0  # how close (scene pixels) a click must be to a marker to hit it
_PLAYHEAD_PEN = pg.mkPen((255, 80, 60), width=2)
_CURVE_PEN = pg.mkPen((245, 245, 245), width=2)
_MARKER_PEN = pg.mkPen((20, 20, 20), width=1)
_SELECTED_PEN = pg.mkPen((255, 255, 255), width=3)
_BAND_ALPHA = 150
_DETECTED_ALPHA = 235
_DETECTED_Y = (-0.08, 0.22)  # bottom and height of the detected-emotion strip, track units
_MULTI = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@dataclass(frozen=True)
class _Copied:
    """A key on the clipboard, ``offset`` frames after the first copied key."""

    offset: int
    emotion: str
    intensity: float
    easing: str


class _Markers(pg.ScatterPlotItem):
    """The key markers; mouse events go to the view box, which hit-tests them itself."""

    def mouseClickEvent(self, ev: object) -> None:  # noqa: N802 - pyqtgraph override
        ev.ignore()  # type: ignore[attr-defined]


class _TrackViewBox(pg.ViewBox):
    """Routes left-button clicks and drags to the track; other buttons pan as usual."""

    def __init__(self, track: EmotionTrackView) -> None:
        super().__init__(enableMenu=False)
        self._track = track

    def mouseClickEvent(self, ev: object) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            ev.accept()  # type: ignore[attr-defined]
            self._track._on_click(ev)
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: object, axis: int | None = None) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and axis is None:  # type: ignore[attr-defined]
            ev.accept()  # type: ignore[attr-defined]
            self._track._on_drag(ev)
        else:
            super().mouseDragEvent(ev, axis)


class EmotionTrackView(QWidget):
    """Shows and edits the emotion keyframes of ``document``.

    Keys: K adds a key at the playhead, Delete removes the selected keys, Ctrl+C / Ctrl+V
    copy them and paste them at the playhead, [ and ] jump to the previous / next key.
    Mouse: double-click adds a key, click selects (Ctrl/Shift adds), drag moves the
    selection, a drag on empty space selects with a rubber band.

    Signals
    -------
    seek_requested(int)
        The user clicked empty space or jumped to a key: go to this frame.
    selection_changed(list)
        The ids of the selected keys, in frame order.
    """

    seek_requested = Signal(int)
    selection_changed = Signal(list)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emotionTrack")
        self._document: Document | None = None
        self._selected: list[str] = []
        self._clipboard: list[_Copied] = []
        self._playhead = 0
        self._length = DEFAULT_LENGTH
        self._drag: tuple[str, object] | None = None  # ("move", start frame) / ("band", item)
        self._drag_delta = 0
        self.snapping = True  # pull drags onto nearby keys, the playhead and in/out points

        self.palette_bar = EmotionPalette(self)
        add_button = QToolButton(self)
        add_button.setText("+ Key")
        add_button.setToolTip("Add a key at the playhead with the chosen emotion (K)")
        add_button.clicked.connect(self.add_key_at_playhead)
        self.view_box = _TrackViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self.view_box, background=(30, 30, 34))
        self.plot.setMinimumHeight(90)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().hideAxis("left")
        self.plot.getPlotItem().setLabel("bottom", "frame")
        self.plot.setYRange(-0.08, 1.08, padding=0.0)
        self.plot.setToolTip(
            "Emotion keys — K: add at playhead · double-click: add · drag: move · "
            "Ctrl/Shift-click or drag on empty space: select · Del: delete · "
            "Ctrl+C / Ctrl+V: copy, paste at playhead · [ / ]: previous / next key"
        )
        self.band = pg.ImageItem(axisOrder="row-major")
        self.curve = pg.PlotDataItem(pen=_CURVE_PEN)
        self.markers = _Markers(size=14, symbol="d", pxMode=True)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=_PLAYHEAD_PEN)
        for z, item in enumerate((self.band, self.curve, self.markers, self.playhead)):
            item.setZValue(z)
            self.plot.addItem(item)
        self.playhead.setZValue(10)
        self._link = FrameViewLink(self.view_box)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.palette_bar, 1)
        top.addWidget(add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self._build_actions()
        self.set_document(document)

    # -- public API -------------------------------------------------------------------------
    @property
    def document(self) -> Document:
        assert self._document is not None
        return self._document

    @property
    def selected_ids(self) -> list[str]:
        """Ids of the selected keys, in frame order."""
        return list(self._selected)

    @property
    def playhead_frame(self) -> int:
        return self._playhead

    def set_document(self, document: Document) -> None:
        """Show ``document``; the previous one's signal is disconnected."""
        if self._document is not None:
            self._document.changed.disconnect(self._on_document_changed)
        self._document = document
        document.changed.connect(self._on_document_changed)
        self._selected = []
        self._refresh_length()
        self.refresh()
        self.selection_changed.emit([])

    def set_playhead(self, frame: int) -> None:
        """Move the playhead line (no signal)."""
        self._playhead = max(0, int(frame))
        self.playhead.setValue(self._playhead)

    def select(self, key_ids: list[str]) -> None:
        """Select these keys (unknown ids are dropped)."""
        keys = self.document.project.emotion.keys
        wanted = set(key_ids)
        selected = [key.id for key in keys if key.id in wanted]
        if selected != self._selected:
            self._selected = selected
            self._draw_markers()
            self.selection_changed.emit(list(selected))

    def link_seconds_view(self, view: pg.ViewBox, frame_rate: SupportsFloat) -> None:
        """Keep this track's x range in step with ``view``, whose x is in seconds."""
        self._link.link(view, frame_rate)

    def band_colors(self) -> np.ndarray:
        """``(n, 3)`` uint8 colour of the band at each frame (for tests and screenshots)."""
        image = self.band.image
        return np.zeros((0, 3), np.uint8) if image is None else np.asarray(image[0, :, :3])

    def marker_scene_pos(self, key_id: str) -> QPointF:
        """Where the marker of ``key_id`` is drawn, in scene coordinates."""
        key = self.document.require_key(key_id)
        return self.view_box.mapViewToScene(QPointF(key.frame, key.intensity))

    # -- detected emotion (source "from speech" / "from reference clip") ------------------
    def set_detected_band(
        self, frames: np.ndarray, category_idx: np.ndarray, intensity: np.ndarray
    ) -> None:
        """Draw the emotion detected in the audio as a strip along the bottom of the track.

        Each frame's colour blends its category with neutral by its intensity, as a key
        ``(category, intensity)`` would. Empty arrays remove the strip.

        Parameters
        ----------
        frames
            ``(N,)`` target frame indices.
        category_idx
            ``(N,)`` indices into ``EMOTIONS``.
        intensity
            ``(N,)`` values in [0, 1].
        """
        frames = np.asarray(frames, dtype=np.int64)
        cats = np.asarray(category_idx, dtype=np.int64)
        level = np.clip(np.asarray(intensity, dtype=np.float64), 0.0, 1.0)
        item = getattr(self, "_detected_item", None)
        if item is None:
            item = self._detected_item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(0.5)  # above the keyed band, under the curve and the markers
            self.plot.addItem(item)
        if frames.size == 0:
            item.clear()
            item.setVisible(False)
            return
        first = int(frames.min())
        rows = frames - first
        weights = np.zeros((rows.size, len(EMOTIONS)))
        weights[np.arange(rows.size), NEUTRAL_INDEX] = 1.0 - level
        weights[np.arange(rows.size), cats] += level
        rgba = np.zeros((int(rows.max()) + 1, 4), np.uint8)
        rgba[rows, :3] = np.clip(weights @ PALETTE, 0, 255).astype(np.uint8)
        rgba[rows, 3] = _DETECTED_ALPHA
        item.setImage(rgba[None], levels=(0, 255))
        item.setRect(QRectF(first - 0.5, _DETECTED_Y[0], float(len(rgba)), _DETECTED_Y[1]))
        item.setVisible(True)

    def detected_band_colors(self) -> tuple[int, np.ndarray]:
        """(first frame, ``(n, 4)`` uint8 RGBA per frame) of the detected strip (for tests)."""
        item = getattr(self, "_detected_item", None)
        if item is None or not item.isVisible() or item.image is None:
            return 0, np.zeros((0, 4), np.uint8)
        return round(item.mapRectToParent(item.boundingRect()).left() + 0.5), np.asarray(
            item.image[0]
        )

    # -- commands ---------------------------------------------------------------------------
    def add_key_at_playhead(self) -> None:
        """Add a key of the palette's emotion at the playhead (K)."""
        self.add_key(self._playhead)

    def add_key(self, frame: int) -> None:
        """Add (or replace) the key at ``frame`` with the palette's emotion, and select it."""
        key = self.document.add_keyframe(
            frame=max(0, int(frame)),
            emotion=self.palette_bar.current_emotion,
            intensity=NEW_KEY_INTENSITY,
        )
        self.select([key.id])

    def delete_selected(self) -> None:
        """Remove the selected keys in one undo step (Delete)."""
        if self._selected:
            self.document.remove_keyframes(key_ids=self._selected)

    def copy_selected(self) -> None:
        """Copy the selected keys, keeping their spacing (Ctrl+C)."""
        keys = [self.document.require_key(key_id) for key_id in self._selected]
        if keys:
            first = keys[0].frame
            self._clipboard = [
                _Copied(key.frame - first, key.emotion, key.intensity, key.easing) for key in keys
            ]

    def paste_at_playhead(self) -> None:
        """Paste the copied keys starting at the playhead, in one undo step (Ctrl+V)."""
        if not self._clipboard:
            return
        label = "Paste keyframe" if len(self._clipboard) == 1 else "Paste keyframes"
        with self.document.history.macro(label):
            pasted = [
                self.document.add_keyframe(
                    frame=self._playhead + item.offset,
                    emotion=item.emotion,
                    intensity=item.intensity,
                    easing=item.easing,
                )
                for item in self._clipboard
            ]
        self.select([key.id for key in pasted])

    def go_to_key(self, step: int) -> None:
        """Jump to the previous (``step`` < 0) or next key and select it ([ and ])."""
        track = self.document.project.emotion
        key = track.prev_key(self._playhead) if step < 0 else track.next_key(self._playhead)
        if key is not None:
            self.set_playhead(key.frame)
            self.select([key.id])
            self.seek_requested.emit(key.frame)

    def _build_actions(self) -> None:
        entries = (
            ("Add Key at Playhead", "K", self.add_key_at_playhead),
            ("Delete Keys", QKeySequence.StandardKey.Delete, self.delete_selected),
            ("Copy Keys", QKeySequence.StandardKey.Copy, self.copy_selected),
            ("Paste Keys at Playhead", QKeySequence.StandardKey.Paste, self.paste_at_playhead),
            ("Previous Key", "[", lambda: self.go_to_key(-1)),
            ("Next Key", "]", lambda: self.go_to_key(1)),
        )
        self.key_actions: dict[str, QAction] = {}
        for text, key, slot in entries:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _c=False, f=slot: f())
            self.addAction(action)
            self.key_actions[text] = action

    # -- drawing ----------------------------------------------------------------------------
    def _on_document_changed(self, changes: Changes) -> None:
        if changes.media:
            self._refresh_length()
        if changes.keyframes or changes.media:
            ids = {key.id for key in self.document.project.emotion.keys}
            if any(key_id not in ids for key_id in self._selected):
                self._selected = [key_id for key_id in self._selected if key_id in ids]
                self.selection_changed.emit(list(self._selected))
            self.refresh()

    def _refresh_length(self) -> None:
        target = self.document.project.target
        self._length = target.frame_count if target is not None else DEFAULT_LENGTH
        self.view_box.setLimits(xMin=-0.5, xMax=self._length + 0.5, minXRange=MIN_VISIBLE_FRAMES)
        if not self._link.linked:
            self.view_box.setXRange(-0.5, self._length + 0.5, padding=0.0)

    def refresh(self) -> None:
        """Redraw the band, the curve and the markers from the document."""
        keys = self.document.project.emotion.keys
        n = max(self._length, keys[-1].frame + 1 if keys else 1)
        frames = np.arange(n, dtype=np.float64)
        weights = self.document.project.emotion_weights(frames)
        rgb = np.clip(weights @ PALETTE, 0, 255).astype(np.uint8)
        alpha = np.full((n, 1), _BAND_ALPHA, np.uint8)
        self.band.setImage(np.concatenate([rgb, alpha], axis=1)[None], levels=(0, 255))
        self.band.setRect(QRectF(-0.5, 0.0, float(n), 1.0))
        self.curve.setData(frames, _intensity_curve(keys, frames))
        self._draw_markers()

    def _draw_markers(self) -> None:
        keys = self.document.project.emotion.keys
        moving = set(self._selected) if self._drag and self._drag[0] == "move" else set()
        selected = set(self._selected)
        spots = [
            {
                "pos": (key.frame + (self._drag_delta if key.id in moving else 0), key.intensity),
                "data": key.id,
                "brush": pg.mkBrush(*EMOTION_COLORS[key.emotion]),
                "pen": _SELECTED_PEN if key.id in selected else _MARKER_PEN,
                "size": 18 if key.id in selected else 14,
            }
            for key in keys
        ]
        self.markers.setData(spots)

    # -- mouse ------------------------------------------------------------------------------
    def _key_at_scene(self, scene_pos: QPointF) -> Keyframe | None:
        best, best_d = None, _HIT_PX
        for key in self.document.project.emotion.keys:
            p = self.view_box.mapViewToScene(QPointF(key.frame, key.intensity))
            d = float(np.hypot(p.x() - scene_pos.x(), p.y() - scene_pos.y()))
            if d <= best_d:
                best, best_d = key, d
        return best

    def _frame_at_scene(self, scene_pos: QPointF) -> int:
        return max(0, round(self.view_box.mapSceneToView(scene_pos).x()))

    def _on_click(self, ev: object) -> None:
        pos = ev.scenePos()  # type: ignore[attr-defined]
        additive = bool(ev.modifiers() & _MULTI)  # type: ignore[attr-defined]
        if ev.double():  # type: ignore[attr-defined]
            if self._key_at_scene(pos) is None:
                self.add_key(self._frame_at_scene(pos))
            return
        key = self._key_at_scene(pos)
        if key is None:
            if not additive:
                self.select([])
                frame = min(self._frame_at_scene(pos), max(self._length - 1, 0))
                self.set_playhead(frame)
                self.seek_requested.emit(frame)
        elif additive:
            toggled = set(self._selected) ^ {key.id}
            self.select([key_id for key_id in self._selected if key_id in toggled] + [key.id])
        else:
            self.select([key.id])

    def _on_drag(self, ev: object) -> None:
        if ev.isStart():  # type: ignore[attr-defined]
            self._start_drag(ev)
        if self._drag is None:
            return
        pos = ev.scenePos()  # type: ignore[attr-defined]
        kind, state = self._drag
        if kind == "move":
            keys = [self.document.require_key(key_id) for key_id in self._selected]
            grabbed = int(state)  # type: ignore[call-overload]
            delta = self._drag_delta_at(pos, grabbed, [key.frame for key in keys])
            self._drag_delta = max(delta, -min(key.frame for key in keys))
            self._draw_markers()
        else:
            start = self.view_box.mapSceneToView(ev.buttonDownScenePos())  # type: ignore[attr-defined]
            now = self.view_box.mapSceneToView(pos)
            state.setRect(QRectF(start, now).normalized())  # type: ignore[attr-defined]
        if ev.isFinish():  # type: ignore[attr-defined]
            self._finish_drag(ev)

    def _drag_delta_at(self, scene_pos: QPointF, grabbed: int, frames: list[int]) -> int:
        """Whole-frame shift that puts the grabbed key under the cursor, snapped when on."""
        raw = float(self.view_box.mapSceneToView(scene_pos).x()) - grabbed
        if not self.snapping:
            return round(raw)
        render = self.document.project.render
        targets = snap_targets(
            [], playhead=self._playhead, in_frame=render.in_frame, out_frame=render.out_frame
        )
        moving = set(self._selected)
        blocked = {k.frame for k in self.document.project.emotion.keys if k.id not in moving}
        tolerance = SNAP_PX * float(self.view_box.viewPixelSize()[0])
        return snap_delta(raw, frames, targets, tolerance=tolerance, blocked=blocked)

    def _start_drag(self, ev: object) -> None:
        down = ev.buttonDownScenePos()  # type: ignore[attr-defined]
        key = self._key_at_scene(down)
        if key is not None:
            if key.id not in self._selected:
                additive = bool(ev.modifiers() & _MULTI)  # type: ignore[attr-defined]
                self.select([*self._selected, key.id] if additive else [key.id])
            self._drag, self._drag_delta = ("move", key.frame), 0
            return
        rect = QGraphicsRectItem()
        rect.setPen(pg.mkPen((255, 255, 255), width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        rect.setBrush(pg.mkBrush(255, 255, 255, 40))
        rect.setZValue(10)
        self.view_box.addItem(rect, ignoreBounds=True)
        self._drag = ("band", rect)

    def _finish_drag(self, ev: object) -> None:
        assert self._drag is not None
        kind, state = self._drag
        delta, self._drag, self._drag_delta = self._drag_delta, None, 0
        if kind == "move":
            if delta:
                try:
                    self.document.move_keyframes(key_ids=self._selected, delta=delta)
                except InvalidInputError as e:
                    log.info("move refused: %s", e)
            self._draw_markers()
            return
        rect = state.rect()  # type: ignore[attr-defined]
        self.view_box.removeItem(state)
        inside = [
            key.id
            for key in self.document.project.emotion.keys
            if rect.contains(QPointF(key.frame, key.intensity))
        ]
        additive = bool(ev.modifiers() & _MULTI)  # type: ignore[attr-defined]
        self.select([*self._selected, *inside] if additive else inside)


def _intensity_curve(keys: list[Keyframe], frames: np.ndarray) -> np.ndarray:
    """The keys' intensity interpolated with their easings (neutral keys included)."""
    if not keys:
        return np.zeros_like(frames)
    proxy = EmotionTrack([replace(key, emotion=EMOTIONS[0]) for key in keys])
    return 1.0 - proxy.emotion_weights(frames)[:, NEUTRAL_INDEX].astype(np.float64)
