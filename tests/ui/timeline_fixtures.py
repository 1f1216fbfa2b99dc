"""A timeline panel on a real clip, and real mouse input, for the tests/ui/test_timeline_* files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from evp_studio.jobs import run_job
from evp_studio.project import Document
from evp_studio.session import LoadedVideo, open_video
from ui.timeline.emotion_track import EmotionTrackView
from ui.timeline.panel import TimelinePanel
from ui.timeline.waveform_view import WaveformView

LEFT = Qt.MouseButton.LeftButton
RATE = 30000 / 1001  # the conftest clip's rate


@dataclass
class Timeline:
    """A panel showing ``video`` for ``document`` (whose target is that video)."""

    panel: TimelinePanel
    document: Document
    video: LoadedVideo
    seeks: list[int]


def make_timeline(qtbot, video_path: Path) -> Timeline:  # type: ignore[no-untyped-def]
    """Build, show and lay out a panel on ``video_path``; the caller closes ``video.reader``."""
    video = run_job(open_video(video_path.resolve()))
    stream = video.info.video
    assert stream is not None
    document = Document.new()
    w, h = stream.display_size
    document.set_target(
        path=video.path,
        frame_rate=stream.frame_rate,
        frame_count=len(video.timestamps),
        width=w,
        height=h,
    )
    panel = TimelinePanel(document, WaveformView(), EmotionTrackView(document))
    qtbot.addWidget(panel)
    panel.resize(900, 520)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_video(video)
    seeks: list[int] = []
    panel.seek_requested.connect(seeks.append)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)  # window shortcuts need an active window
    return Timeline(panel, document, video, seeks)


def close_timeline(timeline: Timeline) -> None:
    """Stop the panel's workers and release the clip."""
    timeline.panel.shutdown()
    timeline.video.reader.close()


def global_x(widget: QWidget, x: float) -> float:
    """``x`` px of ``widget`` in global coordinates."""
    return widget.mapToGlobal(QPointF(x, 0)).x()


def send_mouse(widget: QWidget, kind: QEvent.Type, pos: QPoint, held: bool = True) -> None:
    """A left-button mouse event on ``widget`` (press, move with the button held, release)."""
    buttons = LEFT if held and kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else LEFT
    event = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: QPoint, end: QPoint, steps: int = 5) -> None:
    """Press at ``start``, move to ``end`` in steps, release (pyqtgraph needs the pauses)."""
    send_mouse(widget, QEvent.Type.MouseButtonPress, start)
    for t in np.linspace(1.0 / steps, 1.0, steps):
        QTest.qWait(12)
        step = QPoint(
            round(start.x() + t * (end.x() - start.x())),
            round(start.y() + t * (end.y() - start.y())),
        )
        send_mouse(widget, QEvent.Type.MouseMove, step)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, end)
