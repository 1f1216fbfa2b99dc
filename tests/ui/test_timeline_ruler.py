"""The timecode ruler: tick layout at real rates, scrubbing with the mouse, units, range."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtTest import QTest

from evp_studio.media import VideoWriter
from evp_studio.timecode import format_timecode, frame_at_counter, timecode_counter
from tests.ui.conftest import H, W, make_frame
from tests.ui.timeline_fixtures import RATE, Timeline, close_timeline, make_timeline, send_mouse
from ui.timeline.ruler_ticks import RulerMode, ruler_ticks

NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize("rate", [NTSC, Fraction(60000, 1001), Fraction(25), Fraction(24000, 1001)])
def test_timecode_counter_round_trips(rate: Fraction) -> None:
    for frame in range(0, 40_000, 3):
        assert frame_at_counter(timecode_counter(frame, rate), rate) == frame
    assert timecode_counter(1800, NTSC) == 1802  # 00:01:00;02: ;00 and ;01 are skipped
    assert frame_at_counter(1800, NTSC) == 1800  # a skipped number maps to the next frame
    assert frame_at_counter(1801, NTSC) == 1800
    assert frame_at_counter(18000, NTSC) == 17982  # every tenth minute keeps ;00


def _labels(t0: float, t1: float, mode: RulerMode = RulerMode.TIMECODE, rate=NTSC) -> list:  # type: ignore[no-untyped-def]
    ticks = ruler_ticks(t0, t1, width_px=900, rate=rate, mode=mode, min_label_px=90)
    return [(t.seconds, t.label) for t in ticks if t.label is not None]


def test_label_density_follows_the_zoom_down_to_single_frames() -> None:
    wide = _labels(0.0, 600.0)  # ten minutes across 900 px
    assert 4 <= len(wide) <= 11
    assert all(label.endswith((":00;00", ":00;02")) for _, label in wide)  # whole minutes
    gaps = [b - a for (a, _), (b, _) in zip(wide, wide[1:], strict=False)]
    assert min(gaps) * 900 / 600 >= 0.99 * 90  # a drop-frame minute is 1798 frames

    one_second = _labels(10.0, 11.0)
    assert 5 <= len(one_second) <= 10

    frames = _labels(10.0, 10.0 + 8 / float(NTSC))  # eight frames across 900 px
    indices = [round(t * float(NTSC)) for t, _ in frames]
    assert indices == list(range(indices[0], indices[0] + len(indices)))  # every frame
    assert [label for _, label in frames] == [format_timecode(i, NTSC) for i in indices]


def test_drop_frame_minute_is_labelled_with_the_frame_that_exists() -> None:
    labels = [label for _, label in _labels(59.0, 61.5)]
    assert "00:01:00;02" in labels
    assert not any(label.startswith("00:01:00;0") and label[-1] in "01" for label in labels)
    assert all(";" in label for label in labels)  # drop-frame separator
    assert all(":" in label[-3:] for label in (lbl for _, lbl in _labels(0, 5, rate=Fraction(25))))


def test_frames_and_seconds_modes() -> None:
    frames = _labels(0.0, 4.0, RulerMode.FRAMES, Fraction(25))
    assert [label for _, label in frames][:3] == ["0", "10", "20"]
    assert all(abs(t * 25 - int(label)) < 1e-6 for t, label in frames)
    seconds = _labels(0.0, 4.0, RulerMode.SECONDS, Fraction(25))
    assert [label for _, label in seconds][:3] == ["0.0 s", "0.5 s", "1.0 s"]


@pytest.fixture
def timeline(qtbot, media):  # type: ignore[no-untyped-def]
    tl = make_timeline(qtbot, media[0])
    yield tl
    close_timeline(tl)


def _x_of_frame(tl: Timeline, frame: float) -> int:
    scale = tl.panel.scale
    return round(scale.to_x(frame / RATE, tl.panel.ruler))


def test_click_and_drag_on_the_ruler_scrub_whole_frames(qtbot, timeline: Timeline) -> None:  # type: ignore[no-untyped-def]
    ruler = timeline.panel.ruler
    timeline.panel.snap_action.setChecked(False)
    y = ruler.height() // 2
    QTest.mouseClick(ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(_x_of_frame(timeline, 12.2), y))  # fmt: skip
    assert timeline.seeks == [12] and ruler.playhead_frame == 12

    timeline.seeks.clear()
    send_mouse(ruler, QEvent.Type.MouseButtonPress, QPoint(_x_of_frame(timeline, 5), y))
    for frame in (9, 17, 30):
        send_mouse(ruler, QEvent.Type.MouseMove, QPoint(_x_of_frame(timeline, frame), y))
    send_mouse(ruler, QEvent.Type.MouseButtonRelease, QPoint(_x_of_frame(timeline, 30), y))
    assert timeline.seeks == [5, 9, 17, 30]
    assert ruler.playhead_frame == 30

    send_mouse(ruler, QEvent.Type.MouseButtonPress, QPoint(ruler.width() - 1, y))
    send_mouse(ruler, QEvent.Type.MouseButtonRelease, QPoint(ruler.width() - 1, y))
    assert timeline.seeks[-1] == 39  # clamped to the last frame


def test_scrub_snaps_to_keys_and_marks_when_snapping_is_on(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clip = tmp_path / "long.mp4"
    with VideoWriter(clip, width=W, height=H, frame_rate=NTSC) as writer:
        for i in range(400):
            writer.write(make_frame(i))
    tl = make_timeline(qtbot, clip)
    try:
        panel, doc = tl.panel, tl.document
        assert panel.scale.pixels_per_frame() < 2.5  # the snap distance covers ~3 frames
        doc.add_keyframe(frame=200, emotion="happy", intensity=1.0)
        doc.set_render_settings(in_frame=80, out_frame=311)
        y = panel.ruler.height() // 2
        for aim, snapped in ((202.4, 200), (82.1, 80), (308.9, 311), (140.0, 140)):
            QTest.mouseClick(panel.ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             QPoint(_x_of_frame(tl, aim), y))  # fmt: skip
            assert tl.seeks[-1] == snapped, aim
        panel.set_snapping(False)
        QTest.mouseClick(panel.ruler, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(_x_of_frame(tl, 202.4), y))  # fmt: skip
        assert tl.seeks[-1] == 202
    finally:
        close_timeline(tl)


def test_mode_button_switches_the_labels(qtbot, timeline: Timeline) -> None:  # type: ignore[no-untyped-def]
    panel = timeline.panel
    labels = [label for _, label in panel.ruler.visible_ticks()]
    assert labels and all(re.fullmatch(r"\d\d:\d\d:\d\d;\d\d", label) for label in labels)
    assert panel.mode_button.text() == "TC"
    QTest.mouseClick(panel.mode_button, Qt.MouseButton.LeftButton)
    assert panel.ruler.mode is RulerMode.FRAMES and panel.mode_button.text() == "Frames"
    assert all(label.isdigit() for _, label in panel.ruler.visible_ticks())
    QTest.mouseClick(panel.mode_button, Qt.MouseButton.LeftButton)
    assert all(label.endswith(" s") for _, label in panel.ruler.visible_ticks())
    checked = [a.text() for a in panel.mode_actions.actions() if a.isChecked()]
    assert checked == ["&Seconds"]
    panel.mode_actions.actions()[0].trigger()
    assert panel.ruler.mode is RulerMode.TIMECODE and panel.mode_button.text() == "TC"


def test_range_and_playhead_are_drawn(qtbot, timeline: Timeline) -> None:  # type: ignore[no-untyped-def]
    panel, doc = timeline.panel, timeline.document
    ruler = panel.ruler
    y = ruler.height() - 3
    before = ruler.grab().toImage()
    doc.set_render_settings(in_frame=10, out_frame=20)
    after = ruler.grab().toImage()
    inside = after.pixelColor(_x_of_frame(timeline, 15.5), y)
    outside = after.pixelColor(_x_of_frame(timeline, 30.5), y)
    assert inside != before.pixelColor(_x_of_frame(timeline, 15.5), y)  # tinted
    assert outside == before.pixelColor(_x_of_frame(timeline, 30.5), y)
    assert inside.red() > inside.blue() + 20  # the range colour is amber

    panel.set_playhead(25)
    image = ruler.grab().toImage()
    head = image.pixelColor(_x_of_frame(timeline, 25), 2)
    assert head.red() > 200 and head.green() < 120
    doc.undo()
    assert ruler.grab().toImage().pixelColor(_x_of_frame(timeline, 15.5), y) == outside
