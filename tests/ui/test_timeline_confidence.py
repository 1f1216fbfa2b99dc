"""The face-confidence track: drawing, the landmark cache, and the preview analysis feed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

import ui.timeline.panel as panel_module
from evp_studio.landmarks import LandmarkCache, RawTrack, TrackerSettings, cached_track, model_files
from evp_studio.landmarks._backends import model_id  # the cache key, as track_landmarks builds it
from evp_studio.project import Document
from tests.ui.conftest import N
from tests.ui.timeline_fixtures import close_timeline, make_timeline
from ui.timeline.confidence_track import (
    LOST_RGBA,
    ConfidenceTrackView,
    cached_face_confidence,
    lost_runs,
)


def _arrays(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    lost = np.zeros(n, bool)
    lost[5:9] = True
    lost[30:33] = True
    confidence = np.where(lost, 0.0, np.linspace(0.6, 0.95, n)).astype(np.float32)
    return confidence, lost


def test_lost_runs() -> None:
    assert lost_runs(np.array([1, 1, 0, 0, 1, 0, 1], bool)) == [(0, 2), (4, 5), (6, 7)]
    assert lost_runs(np.zeros(4, bool)) == []


@pytest.fixture
def track(qtbot):  # type: ignore[no-untyped-def]
    view = ConfidenceTrackView()
    qtbot.addWidget(view)
    view.resize(800, 120)
    view.show()
    qtbot.waitExposed(view)
    view.set_length(N)
    return view


def _pixel(view: ConfidenceTrackView, frame: float, y: float):  # type: ignore[no-untyped-def]
    scene = view.view_box.mapViewToScene(QPointF(frame, y))
    return view.plot.grab().toImage().pixelColor(view.plot.mapFromScene(scene))


def test_lost_stretches_are_shaded_red_and_the_curve_follows(qtbot, track) -> None:  # type: ignore[no-untyped-def]
    assert not track.has_track and track.empty_text.isVisible()
    confidence, lost = _arrays()
    track.set_track(confidence, lost)
    assert track.lost_runs() == [(5, 9), (30, 33)]
    x, y = track.curve.getData()
    assert np.allclose(y, confidence, atol=1e-6) and len(x) == N
    lost_px, found_px = _pixel(track, 6.0, 0.9), _pixel(track, 20.0, 0.9)
    assert lost_px.red() > 120 and lost_px.red() > 2 * lost_px.green()
    assert found_px.red() < 80
    assert tuple(track.band.image[0, 6]) == LOST_RGBA

    track.set_track(None, None)
    assert track.lost_runs() == [] and not track.has_track
    assert _pixel(track, 6.0, 0.9).red() < 80
    with pytest.raises(ValueError, match="confidence"):
        track.set_track(np.zeros(3), np.zeros(4, bool))


def _store_cached_track(video, confidence: np.ndarray, lost: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Write detections for ``video`` into the default cache, as a tracking run would."""
    n = len(lost)
    points = np.tile(np.linspace(20, 40, 136, dtype=np.float32).reshape(68, 2), (n, 1, 1))
    points[lost] = np.nan
    raw = RawTrack(
        points=points,
        confidence=np.where(lost, 0.0, confidence).astype(np.float32),
        boxes=np.zeros((n, 4), np.float32),
        timestamps=np.arange(n) * 1001 / 30000,
        frame_size=(96, 64),
    )
    settings = TrackerSettings()
    LandmarkCache().store(video, settings, model_id(model_files(settings)), raw)


def test_cached_track_reads_the_cache_without_detecting(media) -> None:  # type: ignore[no-untyped-def]
    video = media[0]
    assert cached_track(video) is None and cached_face_confidence(video) is None
    confidence, lost = _arrays()
    _store_cached_track(video, confidence, lost)
    result = cached_face_confidence(video)
    assert result is not None
    assert np.array_equal(result[1], lost)
    assert np.allclose(result[0], confidence)


def test_panel_shows_the_cached_track_when_the_video_opens(qtbot, media) -> None:  # type: ignore[no-untyped-def]
    confidence, lost = _arrays()
    _store_cached_track(media[0], confidence, lost)
    timeline = make_timeline(qtbot, media[0])
    try:
        face = timeline.panel.confidence
        qtbot.waitUntil(lambda: face.has_track, timeout=15000)
        assert face.lost_runs() == [(5, 9), (30, 33)]
        timeline.panel.set_video(None)
        assert not face.has_track
    finally:
        close_timeline(timeline)


def test_window_feeds_the_track_from_the_preview_analysis(qtbot, media, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ui.main_window import MainWindow  # noqa: PLC0415

    monkeypatch.setattr(panel_module, "cached_face_confidence", lambda path: None)
    window = MainWindow(Document.new())
    qtbot.addWidget(window)
    window.show()
    window.files.open_video(media[0])
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=15000)
    confidence, lost = _arrays()
    window.previews.track_ready.emit(SimpleNamespace(confidence=confidence, lost=lost))
    assert window.timeline.confidence.lost_runs() == [(5, 9), (30, 33)]

    seeks: list[int] = []
    window.timeline.seek_requested.connect(seeks.append)
    face = window.timeline.confidence
    scene = face.view_box.mapViewToScene(QPointF(17, 0.5))
    pos = face.plot.mapFromScene(scene)
    QTest.mouseClick(face.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert seeks == [17]
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 17, timeout=5000)
    window.document.history.set_clean()
