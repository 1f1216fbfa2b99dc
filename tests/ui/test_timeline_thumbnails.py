"""The thumbnail track: layout per zoom, decoding on a worker thread, the right frames."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest

import ui.timeline.thumbnail_track as thumbnail_module
from tests.ui.conftest import W
from tests.ui.timeline_fixtures import RATE, Timeline, close_timeline, make_timeline
from ui.timeline.thumbnail_track import THUMB_HEIGHT, nice_step, slot_frames

NTSC = Fraction(30000, 1001)


def test_nice_step() -> None:
    assert [nice_step(x) for x in (0.2, 1.0, 1.2, 1.6, 2.2, 7, 9, 13, 170)] == [
        1,
        1,
        2,
        2,
        3,
        8,
        10,
        15,
        200,
    ]


def test_slots_get_denser_as_the_view_zooms_in() -> None:
    wide_step, wide = slot_frames(0, 40.0, width_px=800, thumb_px=70, rate=NTSC, frame_count=1200)
    assert wide_step >= 100 and wide[0] == 0 and len(wide) <= 800 / 70 + 2
    mid_step, mid = slot_frames(10, 14.0, width_px=800, thumb_px=70, rate=NTSC, frame_count=1200)
    assert mid_step < wide_step and len(mid) >= len(wide)
    assert all(f % mid_step == 0 for f in mid)
    close_step, close = slot_frames(
        10, 10.2, width_px=800, thumb_px=70, rate=NTSC, frame_count=1200
    )
    assert close_step == 1 and list(close) == list(range(299, 307))  # one cell per frame
    assert slot_frames(0, 1, width_px=800, thumb_px=70, rate=NTSC, frame_count=0)[1].size == 0


@pytest.fixture
def timeline(qtbot, media, monkeypatch):  # type: ignore[no-untyped-def]
    threads: set[int] = set()
    real = thumbnail_module.read_thumbnail

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.add(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(thumbnail_module, "read_thumbnail", spy)
    tl = make_timeline(qtbot, media[0])
    tl.decode_threads = threads  # type: ignore[attr-defined]
    yield tl
    close_timeline(tl)


def _all_decoded(tl: Timeline) -> bool:
    track = tl.panel.thumbnails
    return bool(track.slots) and set(track.slots) <= set(track.cached_frames())


def _green_bar_x(pixmap) -> float:  # type: ignore[no-untyped-def]
    """Column of the bright green bar that conftest.make_frame moves across the frame."""
    image = pixmap.toImage()
    greens = [image.pixelColor(x, image.height() // 2).green() for x in range(image.width())]
    return float(np.argmax(greens))


def test_thumbnails_are_decoded_off_the_gui_thread_and_show_their_frames(
    qtbot,
    timeline: Timeline,  # type: ignore[no-untyped-def]
) -> None:
    track = timeline.panel.thumbnails
    qtbot.waitUntil(lambda: _all_decoded(timeline), timeout=15000)
    assert threading.get_ident() not in timeline.decode_threads  # type: ignore[attr-defined]
    assert timeline.decode_threads  # type: ignore[attr-defined]
    for frame in track.slots:
        pixmap = track._cache[frame]
        assert pixmap.height() == THUMB_HEIGHT
        expected = (2 * frame % (W - 8) + 4) * pixmap.width() / W  # centre of the bar
        assert abs(_green_bar_x(pixmap) - expected) <= 3, frame

    # On screen: the cell of each slot shows its own thumbnail.
    image = track.grab().toImage()
    frame = track.slots[1]
    x0 = round(timeline.panel.scale.to_x(frame / RATE, track))
    row = [image.pixelColor(x0 + dx, 3 + THUMB_HEIGHT // 2).green() for dx in range(40)]
    assert max(row) > 200


def test_zooming_in_lays_out_more_thumbnails(qtbot, timeline: Timeline) -> None:  # type: ignore[no-untyped-def]
    panel = timeline.panel
    track = panel.thumbnails
    qtbot.waitUntil(lambda: _all_decoded(timeline), timeout=15000)
    wide_step, wide_count = track._step, len(track.slots)
    cached_before = set(track.cached_frames())
    with qtbot.waitSignal(track.thumbnails_arrived, timeout=15000):
        panel.scale.set_visible(10 / RATE, 16 / RATE)  # six frames across the view
    assert track._step == 1 < wide_step
    assert track.slots[0] <= 10 and track.slots[-1] >= 15
    assert len(track.slots) >= 6 and len(track.slots) * wide_step > wide_count
    qtbot.waitUntil(lambda: _all_decoded(timeline), timeout=15000)
    assert set(track.cached_frames()) > cached_before  # the frames in between were added

    with qtbot.assertNotEmitted(track.thumbnails_arrived, wait=100):
        panel.scale.fit()  # back out: everything needed is cached already
    assert set(track.slots) <= set(track.cached_frames())


def test_no_video_clears_the_track(qtbot, timeline: Timeline) -> None:  # type: ignore[no-untyped-def]
    track = timeline.panel.thumbnails
    qtbot.waitUntil(lambda: _all_decoded(timeline), timeout=15000)
    timeline.panel.set_video(None)
    assert track.slots == [] and track.cached_frames() == []
