"""The emotion-source switch in the emotion track's header, the detected band, Convert to Keys."""

from __future__ import annotations

import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from evp_studio.jobs import Progress
from evp_studio.pipeline.speech_emotion import EmotionProbs
from evp_studio.project import EMOTIONS, Document, EmotionSource
from tests.ui.conftest import N
from ui.main_window import MainWindow
from ui.timeline import emotion_source
from ui.timeline.emotion_palette import EMOTION_COLORS
from ui.timeline.emotion_source import CONVERT_LABEL, EmotionSourceBar

LEFT = Qt.MouseButton.LeftButton
HAPPY, SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")


class FakeAnalysis:
    """Stands in for the model: happy for the first second of the audio, sad after it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, bool, str]] = []
        self.threads: list[int] = []

    def __call__(
        self, path: Path, *, whole_clip: bool = False, device: str = "cpu", **_: Any
    ) -> Generator[Progress, None, EmotionProbs]:
        self.calls.append((Path(path), whole_clip, device))
        self.threads.append(threading.get_ident())
        yield Progress("Detecting the emotion", 0, 1)
        if whole_clip:
            row = np.full((1, 8), 0.05, np.float32)
            row[0, SAD] = 0.65
            return EmotionProbs(Path(path), row, np.zeros(1), True)
        probs = np.full((50, 8), 0.3 / 7, np.float32)  # 2 s at 25 rows/s
        probs[:25, HAPPY] = 0.7
        probs[25:, SAD] = 0.7
        probs[:25, SAD] = probs[25:, HAPPY] = 0.3 / 7
        return EmotionProbs(Path(path), probs, np.arange(50) / 25.0)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAnalysis:
    analysis = FakeAnalysis()
    monkeypatch.setattr(emotion_source, "analyse_emotion_audio", analysis)
    return analysis


@pytest.fixture
def window(qtbot, media) -> MainWindow:  # type: ignore[no-untyped-def]
    """A window with the 40-frame 29.97 fps clip and 2 s of speech loaded."""
    video, speech = media
    win = MainWindow(Document.new())
    qtbot.addWidget(win)
    win.show()
    win.files.open_video(video)
    win.files.open_speech(speech)
    qtbot.waitUntil(
        lambda: win.document.project.target is not None and win.document.project.speech is not None,
        timeout=15000,
    )
    qtbot.waitUntil(lambda: win.jobs.is_idle, timeout=15000)
    return win


def _choose(qtbot, bar: EmotionSourceBar, source: EmotionSource) -> None:  # type: ignore[no-untyped-def]
    """Step the combo to the neighbouring ``source`` with an arrow key, as a user would.

    (Home, End and letters are window shortcuts of the editor: Go to Start/End, K, S.)
    """
    combo = bar.combo
    target, current = combo.findData(source), combo.currentIndex()
    assert abs(target - current) == 1, "one step at a time"
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down if target > current else Qt.Key.Key_Up)
    assert combo.currentIndex() == target or source is EmotionSource.REFERENCE


def test_switch_sits_in_the_emotion_track_header(window: MainWindow) -> None:
    bar = window.emotion_source
    assert window.timeline.emotion_header.isAncestorOf(bar)
    assert bar.combo.currentData() == EmotionSource.KEYFRAMES
    assert [bar.combo.itemText(i) for i in range(3)] == ["Keys", "Speech", "Ref. clip"]
    assert not bar.convert_action.isEnabled()
    assert bar.width() <= window.timeline.emotion_header.width()


def test_from_speech_draws_the_band_and_converts_to_keys_in_one_undo_step(
    qtbot, window: MainWindow, fake: FakeAnalysis
) -> None:  # type: ignore[no-untyped-def]
    doc, bar, track = window.document, window.emotion_source, window.emotion_track
    doc.add_keyframe(frame=3, emotion="angry", intensity=0.4)
    before = list(doc.project.emotion.keys)
    _choose(qtbot, bar, EmotionSource.SPEECH)
    assert doc.project.emotion_source == EmotionSource.SPEECH
    assert doc.history.undo_label == "Change emotion source"
    qtbot.waitUntil(lambda: bar.detected is not None, timeout=10000)
    assert fake.calls == [(doc.media_path("speech"), False, "cpu")]  # "auto" with no GPU
    assert fake.threads[0] != threading.get_ident(), "the analysis ran on the GUI thread"

    first, colors = track.detected_band_colors()
    assert first == 0 and len(colors) == N  # 2 s of speech at 29.97 fps, cut at the video's end
    happy = np.array(EMOTION_COLORS["happy"]) * 0.66 + np.array(EMOTION_COLORS["neutral"]) * 0.34
    assert np.abs(colors[0, :3].astype(int) - happy).max() <= 3
    sad_at = 30  # one second in
    assert colors[sad_at + 1, :3].tolist() != colors[0, :3].tolist()
    assert bar.status.text() == "2 changes"
    assert bar.convert_action.isEnabled()

    qtbot.mouseClick(bar.convert_button, LEFT)
    keys = doc.project.emotion.keys
    assert [(k.frame, k.emotion) for k in keys] == [(0, "happy"), (30, "sad")]
    assert doc.project.emotion_source == EmotionSource.KEYFRAMES
    assert bar.combo.currentData() == EmotionSource.KEYFRAMES
    assert track.detected_band_colors()[1].size == 0
    assert window.files.undo_action.text() == f"&Undo {CONVERT_LABEL}"

    window.files.undo_action.trigger()  # one step back: old keys and the speech source
    assert doc.project.emotion.keys == before
    assert doc.project.emotion_source == EmotionSource.SPEECH
    assert bar.combo.currentData() == EmotionSource.SPEECH
    assert len(track.detected_band_colors()[1]) == 40  # from the cache: no second analysis
    assert len(fake.calls) == 1
    window.files.redo_action.trigger()
    assert [(k.frame, k.emotion) for k in doc.project.emotion.keys] == [(0, "happy"), (30, "sad")]


def test_moving_the_speech_moves_the_band(qtbot, window: MainWindow, fake: FakeAnalysis) -> None:  # type: ignore[no-untyped-def]
    doc, bar = window.document, window.emotion_source
    _choose(qtbot, bar, EmotionSource.SPEECH)
    qtbot.waitUntil(lambda: bar.detected is not None, timeout=10000)
    doc.set_speech_offset(offset_frames=10)
    assert bar.detected is not None and int(bar.detected.frames[0]) == 10
    assert window.emotion_track.detected_band_colors()[0] == 10
    assert len(fake.calls) == 1


def test_reference_clip_asks_for_a_file_and_holds_its_emotion(
    qtbot, window: MainWindow, fake: FakeAnalysis, media, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _, speech = media
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(speech), ""))
    doc, bar = window.document, window.emotion_source
    _choose(qtbot, bar, EmotionSource.SPEECH)
    depth = len(doc.history)
    _choose(qtbot, bar, EmotionSource.REFERENCE)
    assert doc.project.reference is not None
    assert doc.project.emotion_source == EmotionSource.REFERENCE
    assert len(doc.history) == depth + 1 and doc.history.undo_label == "Use reference clip emotion"
    qtbot.waitUntil(lambda: bar.detected is not None, timeout=10000)
    assert fake.calls[-1][1] is True  # the whole clip's mean emotion, as the pipeline uses it
    first, colors = window.emotion_track.detected_band_colors()
    assert first == 0 and len(colors) == N
    assert len({tuple(c) for c in colors.tolist()}) == 1
    assert bar.reference_button.isVisible()
    qtbot.mouseClick(bar.convert_button, LEFT)
    assert [(k.frame, k.emotion) for k in doc.project.emotion.keys] == [(0, "sad")]
    doc.undo()
    doc.undo()
    assert doc.project.reference is None
    assert doc.project.emotion_source == EmotionSource.SPEECH


def test_cancelling_the_reference_file_keeps_the_source(
    qtbot, window: MainWindow, fake: FakeAnalysis, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    window.document.set_emotion_source(source=EmotionSource.SPEECH)
    _choose(qtbot, window.emotion_source, EmotionSource.REFERENCE)
    assert window.document.project.emotion_source == EmotionSource.SPEECH
    assert window.emotion_source.combo.currentData() == EmotionSource.SPEECH
    assert window.document.project.reference is None


def test_without_speech_nothing_runs(qtbot, fake: FakeAnalysis) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(Document.new())
    qtbot.addWidget(win)
    bar = win.emotion_source
    _choose(qtbot, bar, EmotionSource.SPEECH)
    assert win.document.project.emotion_source == EmotionSource.SPEECH
    assert bar.status.text() == "No speech" and "Open Speech" in bar.status.toolTip()
    assert win.jobs.is_idle and fake.calls == [] and bar.detected is None
    assert not bar.convert_action.isEnabled()


def test_real_analysis_runs_as_a_job(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """The real speech encoder on the fixture's speech, through the window's job queue."""
    titles: list[str] = []
    window.jobs.job_changed.connect(lambda handle: titles.append(handle.title))
    bar = window.emotion_source
    _choose(qtbot, bar, EmotionSource.SPEECH)
    assert any(t.startswith("Detecting the emotion in speech.wav") for t in titles)
    qtbot.waitUntil(lambda: bar.detected is not None, timeout=120000)
    detected = bar.detected
    assert detected is not None and detected.frames[0] == 0 and len(detected) == N
    assert set(detected.category.tolist()) <= set(range(8))
    qtbot.mouseClick(bar.convert_button, LEFT)
    keys = window.document.project.emotion.keys
    assert keys and keys[0].frame == 0
    assert window.document.project.emotion_source == EmotionSource.KEYFRAMES
