"""The first editor window, driven through its widgets under pytest-qt (offscreen)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from evp_studio.media import VideoReader
from evp_studio.project import Document
from tests.ui.conftest import H, N, W, make_frame
from ui.main_window import MainWindow


def _open_video(qtbot, window: MainWindow, video: Path) -> None:  # type: ignore[no-untyped-def]
    window.files.open_video(video)
    qtbot.waitUntil(
        lambda: window.media.video is not None and window.frame_view.frame_index == 0, timeout=15000
    )


def test_open_video_scrub_and_grab_frame(qtbot, window: MainWindow, media) -> None:  # type: ignore[no-untyped-def]
    video, _ = media
    _open_video(qtbot, window, video)
    assert window.document.project.target is not None
    assert window.document.project.target.frame_count == N
    assert window.document.project.target.frame_rate == Fraction(30000, 1001)
    assert window.document.is_dirty and window.windowTitle().startswith(window.document.title)

    window.transport.slider.setValue(17)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 17, timeout=5000)
    assert "(17)" in window.transport.timecode.text()

    grabbed = window.frame_view.grab().toImage()
    pixels = np.array(
        [
            grabbed.pixelColor(x, y).green()
            for x in range(0, grabbed.width(), 7)
            for y in range(0, grabbed.height(), 7)
        ]
    )
    assert pixels.std() > 10, "the grabbed preview is blank"
    # The preview shows exactly frame 17, not a neighbour.
    shown = window.frame_view.image()
    assert shown is not None
    ptr = shown.constBits()
    shown_arr = np.frombuffer(ptr, np.uint8).reshape(shown.height(), shown.bytesPerLine())[
        :, : 3 * W
    ]
    with VideoReader(video) as reader:
        expected = reader.read(17)
    assert np.abs(shown_arr.reshape(H, W, 3).astype(int) - expected).mean() < 1.0
    assert np.abs(shown_arr.reshape(H, W, 3).astype(int) - make_frame(17)).mean() < 8.0


def test_step_keys_and_undo_redo_of_open(qtbot, window: MainWindow, media) -> None:  # type: ignore[no-untyped-def]
    video, _ = media
    _open_video(qtbot, window, video)
    window.step(1)
    window.step(1)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 2, timeout=5000)
    window.seek_frame(10_000)  # clamped to the last frame
    qtbot.waitUntil(lambda: window.frame_view.frame_index == N - 1, timeout=5000)

    assert window.files.undo_action.isEnabled()
    window.files.undo_action.trigger()
    assert window.document.project.target is None
    qtbot.waitUntil(lambda: window.frame_view.frame_index is None, timeout=5000)
    assert not window.transport.play_button.isEnabled()
    window.files.redo_action.trigger()
    assert window.document.project.target is not None
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=15000)


def test_speech_waveform_and_playback(qtbot, window: MainWindow, media) -> None:  # type: ignore[no-untyped-def]
    video, speech = media
    _open_video(qtbot, window, video)
    window.files.open_speech(speech)
    qtbot.waitUntil(lambda: window.waveform.curve_points() > 0, timeout=15000)
    assert window.document.project.speech is not None

    window.toggle_play()
    assert window.clock.playing
    qtbot.waitUntil(lambda: (window.frame_view.frame_index or 0) >= 10, timeout=5000)
    window.toggle_play()
    assert not window.clock.playing
    # The waveform playhead follows the picture.
    frame = window.current_frame
    assert window.waveform.playhead.value() == pytest.approx(frame * 1001 / 30000, abs=1e-6)


def test_save_and_reopen_project(qtbot, window: MainWindow, media, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video, _ = media
    _open_video(qtbot, window, video)
    project_path = tmp_path / "p.evp"
    assert window.files._save_to(project_path)
    assert not window.document.is_dirty
    assert "*" not in window.windowTitle()

    other = MainWindow(Document.new())
    qtbot.addWidget(other)
    assert other.files.open_project(project_path)
    qtbot.waitUntil(lambda: other.frame_view.frame_index == 0, timeout=15000)
    assert other.document.path == project_path
    other.close()


def test_bad_video_shows_error_and_keeps_document(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    window.files.open_video(fake)

    def dialog() -> QMessageBox | None:
        boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorDialog"]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: dialog() is not None, timeout=15000)
    box = dialog()
    assert box is not None and "notes.mp4" in box.text()
    assert window.document.project.target is None
    assert not window.document.is_dirty
    box.close()
