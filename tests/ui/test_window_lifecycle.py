"""Window life cycle: drop files, keyboard transport, closing with jobs, recovery, bad projects."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from evp_studio.jobs import Progress
from evp_studio.project import Autosaver, Document
from tests.ui.conftest import N
from ui.app import offer_recovery
from ui.main_window import MainWindow

Button = QMessageBox.StandardButton


def _window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow(Document.new())
    qtbot.addWidget(win)
    win.show()
    return win


def _error_box(window: MainWindow) -> QMessageBox | None:
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorDialog"]
    return boxes[0] if boxes else None


def test_drop_video_and_speech_then_keyboard_transport(qtbot, media) -> None:  # type: ignore[no-untyped-def]
    video, speech = media
    window = _window(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video)), QUrl.fromLocalFile(str(speech))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(
        lambda: window.media.video is not None and window.media.audio is not None, timeout=15000
    )
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=5000)
    assert window.document.project.speech is not None

    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 1, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == N - 1, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=5000)
    # Undo steps back through the two imports, newest first.
    window.files.undo_action.trigger()
    assert window.document.project.speech is None and window.document.project.target is not None


def _slow_job() -> Iterator[Progress]:
    for i in range(500):
        time.sleep(0.01)
        yield Progress("Working", i, 500)


def test_close_with_running_job_asks_and_cancels(qtbot, answers) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot)
    handle = window.jobs.submit("Slow job", _slow_job)
    qtbot.waitUntil(lambda: handle.progress is not None, timeout=5000)
    assert window.status.progress.isVisible()
    answers.queue = [Button.No]
    window.close()
    assert answers.asked == ["Jobs are running"]
    assert window.isVisible() and handle.state == "running"
    started = time.monotonic()
    window.close()  # the default answer is Yes: cancel and close
    assert not window.isVisible()
    assert window.jobs.is_idle
    assert time.monotonic() - started < 2.0, "cancelling should stop the job at its next report"
    assert handle.state == "cancelled"


def test_close_with_unsaved_changes_can_be_cancelled(qtbot, answers, media, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video, _ = media
    window = _window(qtbot)
    window.files.open_video(video)
    qtbot.waitUntil(lambda: window.document.project.target is not None, timeout=15000)
    answers.queue = [Button.Cancel]
    window.close()
    assert window.isVisible() and answers.asked == ["Unsaved changes"]
    assert window.document.project.target is not None


def test_crash_recovery_offers_autosave(qtbot, answers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    crashed = Document.new(name="Crashed work")
    crashed.add_keyframe(frame=5, emotion="angry", intensity=0.4)
    autosaver = Autosaver()
    autosave = autosaver.write(crashed)
    # The session that wrote it is gone: its lock names a process that no longer runs.
    autosave.with_name(autosave.name + ".lock").write_text("999999999\n")

    window = _window(qtbot)
    answers.queue = [Button.Yes]
    assert offer_recovery(window, window.files.autosaver)
    assert answers.asked == ["Recover unsaved work?"]
    assert window.document.project.name == "Crashed work"
    assert [k.frame for k in window.document.project.emotion.keys] == [5]
    assert window.document.is_dirty


def test_declined_recovery_is_not_offered_again(qtbot, answers) -> None:  # type: ignore[no-untyped-def]
    crashed = Document.new(name="Old work")
    crashed.add_keyframe(frame=1, emotion="sad", intensity=0.5)
    autosave = Autosaver().write(crashed)
    autosave.with_name(autosave.name + ".lock").write_text("999999999\n")
    window = _window(qtbot)
    answers.queue = [Button.No]
    assert not offer_recovery(window, window.files.autosaver)
    assert not offer_recovery(window, window.files.autosaver)
    assert answers.asked == ["Recover unsaved work?"]


def test_corrupt_project_shows_error_and_keeps_current_document(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot)
    window.document.add_keyframe(frame=3, emotion="happy", intensity=0.5)
    window.document.history.set_clean()
    current = window.document
    bad = tmp_path / "broken.evp"
    bad.write_text('{"schema_version": 1, "name": ')
    assert not window.files.open_project(bad)
    box = _error_box(window)
    assert box is not None and "broken.evp" in box.text()
    assert window.document is current and len(current.project.emotion.keys) == 1


def test_speech_without_samples_or_audio_is_refused_with_a_dialog(
    qtbot, media, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    video, _ = media
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    window = _window(qtbot)
    for bad in (empty, video):  # no samples; a video file without an audio track
        window.files.open_speech(bad)
        qtbot.waitUntil(lambda: _error_box(window) is not None, timeout=15000)
        box = _error_box(window)
        assert box is not None and bad.name in box.text()
        box.setObjectName("seen")
        box.close()
    assert window.document.project.speech is None
    assert not window.document.is_dirty


def test_qt_calls_keep_the_reference_count_of_none(qtbot: object) -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None on every void Qt call, and
    a long session then aborted with "deallocating None" (PYSIDE-3474); the pin avoids it."""
    import sys  # noqa: PLC0415

    from PySide6.QtWidgets import QWidget  # noqa: PLC0415

    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.setEnabled(True)
    assert sys.getrefcount(None) - before > -100
