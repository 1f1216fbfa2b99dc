"""UI tests run offscreen; modal questions are answered by the test, never left blocking."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import wave  # noqa: E402 - the platform must be set first
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, TypeVar  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from evp_studio.media import VideoWriter  # noqa: E402
from ui import dialogs  # noqa: E402
from ui.workers import JobQueue  # noqa: E402

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ui.main_window import MainWindow

Button = QMessageBox.StandardButton
ENDED = ("done", "failed", "cancelled")  # the states a job handle ends in
DialogT = TypeVar("DialogT", bound="QWidget")


@dataclass
class Answers:
    """Records the questions asked; answers with ``queue`` first, then ``default``."""

    asked: list[str] = field(default_factory=list)
    queue: list[Button] = field(default_factory=list)
    default: Button = Button.Discard

    def __call__(
        self, parent: object, title: str, text: str, buttons: Button, default: Button
    ) -> Button:
        self.asked.append(title)
        if self.queue:
            return self.queue.pop(0)
        for choice in (self.default, Button.Yes):
            if buttons & choice:
                return choice
        return default


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorder = Answers()
    monkeypatch.setattr(dialogs, "ask", recorder)
    return recorder


@pytest.fixture(autouse=True)
def _no_dangling_workers() -> object:
    """Fail a test that leaves a worker thread running for more than a few seconds."""
    from PySide6.QtCore import QThreadPool  # noqa: PLC0415

    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(5000), f"{pool.activeThreadCount()} worker thread(s) still running"


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    """A shown main window on a new, empty document."""
    from evp_studio.project import Document  # noqa: PLC0415 - only the tests that use it
    from ui.main_window import MainWindow  # noqa: PLC0415

    win = MainWindow(Document.new())
    qtbot.addWidget(win)
    win.show()
    return win


def shown_dialog(window: QWidget, kind: type[DialogT]) -> DialogT:
    """The one visible ``kind`` dialog that ``window`` has opened."""
    shown = [d for d in window.findChildren(kind) if d.isVisible()]
    assert len(shown) == 1
    return shown[0]


@pytest.fixture
def jobs() -> Iterator[JobQueue]:
    """A job queue whose jobs are cancelled and waited for after the test."""
    queue = JobQueue()
    yield queue
    queue.cancel_all()
    queue.wait()


W, H, N = 96, 64, 40


def make_frame(i: int) -> np.ndarray:
    """A frame whose content depends on its index: a bright bar moving across a gradient."""
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = np.linspace(30, 200, W, dtype=np.uint8)[None, :]
    img[..., 2] = 90
    x = 2 * i % (W - 8)
    img[:, x : x + 8, 1] = 255
    return img


@pytest.fixture
def media(tmp_path: Path) -> tuple[Path, Path]:
    video = tmp_path / "clip.mp4"
    with VideoWriter(video, width=W, height=H, frame_rate=Fraction(30000, 1001)) as writer:
        for i in range(N):
            writer.write(make_frame(i))
    speech = tmp_path / "speech.wav"
    t = np.arange(16000 * 2) / 16000
    pcm = (0.5 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(speech), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(pcm.tobytes())
    return video, speech
