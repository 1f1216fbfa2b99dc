"""The emotion keyframe track and its inspector, driven through real widgets (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from evp_studio.project import Document, Easing
from ui.timeline.emotion_palette import EMOTION_COLORS
from ui.timeline.emotion_track import EmotionTrackView
from ui.timeline.keyframe_inspector import KeyframeInspector

Mod = Qt.KeyboardModifier
LEFT = Qt.MouseButton.LeftButton


class Editor(QWidget):
    """The track and the inspector wired as in the main window."""

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.track = EmotionTrackView(document)
        self.inspector = KeyframeInspector(document)
        self.track.selection_changed.connect(self.inspector.set_selection)
        layout = QVBoxLayout(self)
        layout.addWidget(self.track)
        layout.addWidget(self.inspector)


@pytest.fixture
def doc() -> Document:
    return Document.new()


@pytest.fixture
def editor(qtbot, doc: Document) -> Editor:  # type: ignore[no-untyped-def]
    ed = Editor(doc)
    qtbot.addWidget(ed)
    ed.resize(900, 420)
    ed.show()
    qtbot.waitExposed(ed)
    ed.track.view_box.setXRange(-0.5, 100.5, padding=0.0)
    ed.activateWindow()
    ed.track.plot.setFocus()
    return ed


def _frames(doc: Document) -> list[int]:
    return [key.frame for key in doc.project.emotion.keys]


def _viewport_pos(track: EmotionTrackView, frame: float, y: float) -> QPoint:
    scene = track.view_box.mapViewToScene(QPointF(frame, y))
    return track.plot.mapFromScene(scene)


def _mouse(track: EmotionTrackView, kind: QEvent.Type, pos: QPoint, mods=Mod.NoModifier) -> None:  # type: ignore[no-untyped-def]
    viewport = track.plot.viewport()
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else LEFT
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else LEFT
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), button, held, mods)
    QApplication.sendEvent(viewport, event)


def _drag(track: EmotionTrackView, start: QPoint, end: QPoint, mods=Mod.NoModifier) -> None:  # type: ignore[no-untyped-def]
    _mouse(track, QEvent.Type.MouseButtonPress, start, mods)
    for t in np.linspace(0.2, 1.0, 5):
        step = QPoint(
            round(start.x() + t * (end.x() - start.x())),
            round(start.y() + t * (end.y() - start.y())),
        )
        QTest.qWait(12)  # pyqtgraph drops mouse moves closer than its rate limit
        _mouse(track, QEvent.Type.MouseMove, step, mods)
    _mouse(track, QEvent.Type.MouseButtonRelease, end, mods)


def _double_click(track: EmotionTrackView, pos: QPoint) -> None:
    """Press, release, double-click, release: what a real double-click delivers."""
    for kind in (
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseButtonRelease,
    ):
        _mouse(track, kind, pos)


def _click(track: EmotionTrackView, pos: QPoint, mods=Mod.NoModifier) -> None:  # type: ignore[no-untyped-def]
    QTest.mouseClick(track.plot.viewport(), LEFT, mods, pos)


def test_add_with_k_and_double_click_then_undo(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track = editor.track
    track.set_playhead(12)
    track.palette_bar.buttons["sad"].click()
    QTest.keyClick(track.plot.viewport(), Qt.Key.Key_K)
    added = [(k.frame, k.emotion, k.intensity) for k in doc.project.emotion.keys]
    assert added == [(12, "sad", 1.0)]
    assert track.selected_ids == [doc.project.emotion.keys[0].id]
    assert editor.inspector.summary.text() == "Key at frame 12"

    track.palette_bar.buttons["angry"].click()
    _double_click(track, _viewport_pos(track, 40, 0.5))
    assert _frames(doc) == [12, 40]
    assert doc.project.emotion.key_at(40).emotion == "angry"  # type: ignore[union-attr]
    doc.undo()
    assert _frames(doc) == [12]


def test_drag_marker_is_one_undo_step(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track = editor.track
    key = doc.add_keyframe(frame=20, emotion="happy", intensity=0.5)
    other = doc.add_keyframe(frame=70, emotion="sad", intensity=0.9)
    depth = doc.history.index
    _drag(track, _viewport_pos(track, 20, 0.5), _viewport_pos(track, 33.2, 0.55))
    assert _frames(doc) == [33, 70]  # snapped to a whole frame
    assert doc.require_key(key.id).frame == 33 and doc.require_key(other.id).frame == 70
    assert doc.history.index == depth + 1
    assert track.selected_ids == [key.id]
    doc.undo()
    assert _frames(doc) == [20, 70]


def test_multi_select_and_move_together(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track = editor.track
    a = doc.add_keyframe(frame=10, emotion="happy", intensity=0.4)
    b = doc.add_keyframe(frame=30, emotion="fear", intensity=0.8)
    c = doc.add_keyframe(frame=60, emotion="sad", intensity=0.6)
    _click(track, _viewport_pos(track, 10, 0.4))
    _click(track, _viewport_pos(track, 30, 0.8), Mod.ControlModifier)
    assert track.selected_ids == [a.id, b.id]
    assert editor.inspector.summary.text().startswith("2 keys")
    _drag(track, _viewport_pos(track, 30, 0.8), _viewport_pos(track, 35, 0.8))
    assert _frames(doc) == [15, 35, 60]
    doc.undo()
    assert _frames(doc) == [10, 30, 60]

    # Rubber band over b and c (empty space to empty space).
    _drag(track, _viewport_pos(track, 25, 1.02), _viewport_pos(track, 65, 0.05))
    assert track.selected_ids == [b.id, c.id]


def test_inspector_edits_are_undoable(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track, insp = editor.track, editor.inspector
    a = doc.add_keyframe(frame=5, emotion="happy", intensity=0.5)
    b = doc.add_keyframe(frame=50, emotion="happy", intensity=0.5)
    track.select([a.id, b.id])
    depth = doc.history.index

    insp.emotion_combo.setCurrentIndex(insp.emotion_combo.findData("surprised"))
    insp.emotion_combo.activated.emit(insp.emotion_combo.currentIndex())
    assert {k.emotion for k in doc.project.emotion.keys} == {"surprised"}
    assert doc.history.index == depth + 1

    insp.intensity_spin.setValue(80)
    assert [k.intensity for k in doc.project.emotion.keys] == [0.8, 0.8]
    insp.easing_combo.setCurrentIndex(insp.easing_combo.findData(Easing.HOLD.value))
    insp.easing_combo.activated.emit(insp.easing_combo.currentIndex())
    assert {k.easing for k in doc.project.emotion.keys} == {Easing.HOLD}
    assert doc.history.index == depth + 3

    doc.undo()
    assert {k.easing for k in doc.project.emotion.keys} == {Easing.LINEAR}
    assert insp.easing_combo.currentData() == Easing.LINEAR.value  # follows the document
    doc.undo()
    assert insp.intensity_spin.value() == 50
    doc.undo()
    assert {k.emotion for k in doc.project.emotion.keys} == {"happy"}


def test_delete_copy_paste_and_navigation(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track = editor.track
    viewport = track.plot.viewport()
    a = doc.add_keyframe(frame=10, emotion="happy", intensity=0.4)
    b = doc.add_keyframe(frame=14, emotion="fear", intensity=0.8)
    doc.add_keyframe(frame=40, emotion="sad", intensity=0.6)
    track.select([a.id, b.id])
    QTest.keyClick(viewport, Qt.Key.Key_C, Mod.ControlModifier)
    track.set_playhead(60)
    QTest.keyClick(viewport, Qt.Key.Key_V, Mod.ControlModifier)
    assert _frames(doc) == [10, 14, 40, 60, 64]
    pasted = [doc.project.emotion.key_at(f) for f in (60, 64)]
    assert [(k.emotion, k.intensity) for k in pasted] == [("happy", 0.4), ("fear", 0.8)]  # type: ignore[union-attr]
    assert track.selected_ids == [k.id for k in pasted]  # type: ignore[union-attr]
    doc.undo()  # the paste is one step
    assert _frames(doc) == [10, 14, 40]

    seeks: list[int] = []
    track.seek_requested.connect(seeks.append)
    track.set_playhead(20)
    QTest.keyClick(viewport, Qt.Key.Key_BracketRight)
    QTest.keyClick(viewport, Qt.Key.Key_BracketLeft)
    QTest.keyClick(viewport, Qt.Key.Key_BracketLeft)
    assert seeks == [40, 14, 10] and track.playhead_frame == 10

    track.select([a.id, b.id])
    QTest.keyClick(viewport, Qt.Key.Key_Delete)
    assert _frames(doc) == [40]
    assert track.selected_ids == [] and editor.inspector.key_ids == []
    doc.undo()
    assert _frames(doc) == [10, 14, 40]


def test_band_colour_follows_the_emotion(qtbot, editor: Editor, doc: Document) -> None:  # type: ignore[no-untyped-def]
    track = editor.track
    doc.add_keyframe(frame=0, emotion="happy", intensity=1.0, easing="hold")
    doc.add_keyframe(frame=50, emotion="sad", intensity=1.0, easing="hold")
    colors = track.band_colors()
    assert tuple(colors[20]) == EMOTION_COLORS["happy"]
    assert tuple(colors[80]) == EMOTION_COLORS["sad"]
    x, y = track.curve.getData()
    assert y is not None and np.allclose(y, 1.0)

    # And on screen: the pixels under the band differ on both sides of frame 50.
    image = track.plot.grab().toImage()
    p_happy = _viewport_pos(track, 20, 0.2)
    p_sad = _viewport_pos(track, 80, 0.2)
    c1, c2 = image.pixelColor(p_happy), image.pixelColor(p_sad)
    assert c1.red() > c1.blue() and c2.blue() > c2.red()

    doc.undo()
    assert tuple(track.band_colors()[80]) == EMOTION_COLORS["happy"]


def test_main_window_track_follows_video_playhead_and_undo(qtbot, media) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.conftest import N  # noqa: PLC0415
    from ui.main_window import MainWindow  # noqa: PLC0415

    window = MainWindow(Document.new())
    qtbot.addWidget(window)
    window.show()
    window.files.open_video(media[0])
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=15000)
    track = window.emotion_track
    assert track.band_colors().shape == (N, 3)

    window.waveform.plot.setXRange(0.2, 0.6, padding=0.0)  # zoom the waveform (seconds)
    x0, x1 = track.view_box.viewRange()[0]
    rate = 30000 / 1001
    assert abs(x0 - 0.2 * rate) < 0.05 and abs(x1 - 0.6 * rate) < 0.05

    window.seek_frame(7)
    assert track.playhead_frame == 7
    track.key_actions["Add Key at Playhead"].trigger()
    assert _frames(window.document) == [7]
    assert window.inspector.summary.text() == "Key at frame 7"
    assert window.files.undo_action.text().startswith("&Undo")
    window.files.undo_action.trigger()
    assert _frames(window.document) == []
    window.files.redo_action.trigger()
    assert _frames(window.document) == [7]
    window.document.history.set_clean()  # nothing to ask on close
