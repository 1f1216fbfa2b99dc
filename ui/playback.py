"""Playback clock: advances the playhead at the video's real rate, dropping late frames."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal


class PlaybackClock(QObject):
    """Turns wall-clock time into frame indices of a video with known timestamps.

    The frame shown at time t is the last one whose presentation time is <= t, so the
    picture stays in step with the audio at any rate, variable rates included; frames the
    preview cannot show in time are skipped rather than delaying the clock.

    Signals
    -------
    frame_due(int)
        The playhead reached a new frame.
    playing_changed(bool)
        Playback started or stopped.
    """

    frame_due = Signal(int)
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timestamps = np.zeros(0)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._elapsed = QElapsedTimer()
        self._start_s = 0.0
        self._frame = 0

    @property
    def playing(self) -> bool:
        """True while the clock runs."""
        return self._timer.isActive()

    def set_timestamps(self, timestamps: np.ndarray) -> None:
        """Presentation time in seconds of every frame, ascending (stops playback)."""
        self.stop()
        self._timestamps = np.asarray(timestamps, dtype=np.float64)
        self._frame = 0

    def start(self, frame: int) -> float:
        """Play from ``frame``; returns its time in seconds (to start the sound there)."""
        if len(self._timestamps) == 0:
            return 0.0
        if frame >= len(self._timestamps) - 1:
            frame = 0
        self._frame = frame
        self._start_s = float(self._timestamps[frame])
        self._elapsed.start()
        # Tick twice per frame of the fastest common rate; the clock, not the tick, decides.
        self._timer.start(8)
        self.playing_changed.emit(True)
        return self._start_s

    def stop(self) -> None:
        """Stop at the current frame."""
        if self._timer.isActive():
            self._timer.stop()
            self.playing_changed.emit(False)

    def _tick(self) -> None:
        now = self._start_s + self._elapsed.nsecsElapsed() / 1e9
        frame = int(np.searchsorted(self._timestamps, now, side="right")) - 1
        last = len(self._timestamps) - 1
        if frame >= last:
            self._frame = last
            self.frame_due.emit(last)
            self.stop()
            return
        if frame != self._frame:
            self._frame = frame
            self.frame_due.emit(frame)
