"""Snapping: the pure rule, key drags in the emotion track, and the S toggle."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from evp_studio.project import Document
from tests.ui.timeline_fixtures import close_timeline, drag, make_timeline
from ui.timeline.emotion_track import EmotionTrackView
from ui.timeline.snapping import SNAP_PX, snap_delta, snap_frame, snap_targets


def test_snap_frame_rounds_to_whole_frames_without_a_target_in_reach() -> None:
    assert snap_frame(12.4, [], tolerance=3.0) == 12
    assert snap_frame(12.6, [], tolerance=3.0) == 13
    assert snap_frame(12.6, [20], tolerance=3.0) == 13  # 7.4 frames away: too far
    assert snap_frame(12.6, [13.0], tolerance=0.0) == 13  # type: ignore[list-item]


def test_snap_frame_takes_the_nearest_target_within_tolerance() -> None:
    assert snap_frame(12.4, [10, 15], tolerance=3.0) == 10  # 2.4 beats 2.6
    assert snap_frame(13.6, [10, 15], tolerance=3.0) == 15
    assert snap_frame(12.5, [15, 10], tolerance=3.0) == 10  # a tie goes to the earlier one
    assert snap_frame(12.4, [10, 15], tolerance=2.0) == 12  # both out of reach


def test_snap_delta_pulls_any_moving_key_and_avoids_held_frames() -> None:
    assert snap_delta(3.4, [10, 20], [], tolerance=2.0) == 3
    assert snap_delta(3.4, [10, 20], [25], tolerance=2.0) == 5  # the second key reaches 25
    assert snap_delta(3.4, [10, 20], [12, 25], tolerance=2.0) == 2  # 12 pulls less (1.4)
    assert snap_delta(3.4, [10, 20], [25], tolerance=1.0) == 3  # out of reach
    # Landing 10 on 15 is refused by the held frame 15 + 0... here 20 + 5 = 25 is held.
    assert snap_delta(3.4, [10, 20], [15], tolerance=2.0, blocked={25}) == 3
    assert snap_delta(3.4, [10, 20], [15], tolerance=2.0, blocked={24}) == 5


def test_snap_targets_merges_keys_and_marks() -> None:
    assert snap_targets([30, 5, 30], playhead=12, in_frame=None, out_frame=40) == [5, 12, 30, 40]
    assert snap_targets([], playhead=None, in_frame=None, out_frame=None) == []


@pytest.fixture
def track(qtbot):  # type: ignore[no-untyped-def]
    doc = Document.new()
    view = EmotionTrackView(doc)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    view.view_box.setLimits(xMax=500)
    view.view_box.setXRange(0, 400, padding=0.0)  # about 2.2 px per frame
    return view


def _pos(view: EmotionTrackView, frame: float, y: float = 0.5) -> QPoint:
    scene = view.view_box.mapViewToScene(QPointF(frame, y))
    return view.plot.mapFromScene(scene)


def _frames(doc: Document) -> list[int]:
    return [key.frame for key in doc.project.emotion.keys]


def test_dragged_keys_snap_to_playhead_and_range_marks(qtbot, track) -> None:  # type: ignore[no-untyped-def]
    doc = track.document
    px_per_frame = 1.0 / float(track.view_box.viewPixelSize()[0])
    assert 3 * px_per_frame < SNAP_PX  # three frames are within reach at this zoom
    moved = doc.add_keyframe(frame=100, emotion="happy", intensity=0.5)
    viewport = track.plot.viewport()

    track.set_playhead(150)
    drag(viewport, _pos(track, 100), _pos(track, 152.3))
    assert _frames(doc) == [150]
    doc.undo()

    doc.set_render_settings(in_frame=300, out_frame=340)
    drag(viewport, _pos(track, 100), _pos(track, 337.8))
    assert _frames(doc) == [340]  # the out point, drawn at the end of frame 339
    doc.undo()
    drag(viewport, _pos(track, 100), _pos(track, 301.9))
    assert _frames(doc) == [300]
    doc.undo()

    track.snapping = False
    drag(viewport, _pos(track, 100), _pos(track, 152.3))
    assert _frames(doc) == [152]  # whole frames only
    doc.undo()
    track.snapping = True

    # Two selected keys: the one that is not grabbed snaps to the playhead.
    other = doc.add_keyframe(frame=120, emotion="sad", intensity=0.5)
    track.select([moved.id, other.id])
    drag(viewport, _pos(track, 100), _pos(track, 125.2))  # 145.2 is too far from 150
    assert _frames(doc) == [125, 145]
    doc.undo()
    drag(viewport, _pos(track, 100), _pos(track, 131.6))  # 120 + 31.6 = 151.6: pulled to 150
    assert _frames(doc) == [130, 150]


def test_far_targets_do_not_pull(qtbot, track) -> None:  # type: ignore[no-untyped-def]
    doc = track.document
    doc.add_keyframe(frame=100, emotion="happy", intensity=0.5)
    doc.add_keyframe(frame=230, emotion="sad", intensity=0.5)
    drag(track.plot.viewport(), _pos(track, 100), _pos(track, 210.2))
    assert _frames(doc) == [210, 230]


def test_s_toggles_snapping_for_drags_and_scrubs(qtbot, media) -> None:  # type: ignore[no-untyped-def]
    timeline = make_timeline(qtbot, media[0])
    try:
        panel = timeline.panel
        assert panel.snap_action.isChecked() and panel.emotion_track.snapping
        QTest.keyClick(panel.emotion_track.plot.viewport(), Qt.Key.Key_S)
        assert not panel.snap_action.isChecked()
        assert not panel.emotion_track.snapping and not panel.ruler.snapping
        QTest.keyClick(panel.ruler, Qt.Key.Key_S)
        assert panel.emotion_track.snapping and panel.ruler.snapping
    finally:
        close_timeline(timeline)
