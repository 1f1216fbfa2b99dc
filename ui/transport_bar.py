"""Play/pause, frame stepping, a frame-accurate scrub slider and the timecode readout."""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from evp_studio.timecode import format_timecode


class TransportBar(QWidget):
    """Transport controls; holds only view state (the frame shown, the rate).

    Signals
    -------
    play_toggled()
        The play/pause button was pressed.
    frame_changing(int)
        The user scrubs to a frame (emitted continuously while dragging).
    step_requested(int)
        Step by this many frames (-1, +1).
    """

    play_toggled = Signal()
    frame_changing = Signal(int)
    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rate = Fraction(25)
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.prev_button = QToolButton()
        self.prev_button.setObjectName("prevFrameButton")
        self.prev_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward))
        self.prev_button.setToolTip("Previous frame (Left)")
        self.next_button = QToolButton()
        self.next_button.setObjectName("nextFrameButton")
        self.next_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.next_button.setToolTip("Next frame (Right)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("scrubSlider")
        self.slider.setRange(0, 0)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timecode = QLabel("--:--:--:--")
        self.timecode.setObjectName("timecodeLabel")
        self.timecode.setMinimumWidth(190)
        self.timecode.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.prev_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.timecode)
        self.play_button.clicked.connect(self.play_toggled)
        self.prev_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.slider.valueChanged.connect(self._on_slider)
        self._quiet = False
        self.set_enabled_media(False)

    def set_media(self, frame_count: int, rate: Fraction) -> None:
        """Configure for a video of ``frame_count`` frames at ``rate``."""
        self._rate = rate
        self._quiet = True
        try:
            self.slider.setRange(0, max(0, frame_count - 1))
            self.slider.setValue(0)
        finally:
            self._quiet = False
        self.set_enabled_media(frame_count > 0)
        self.show_frame(0)

    def set_enabled_media(self, enabled: bool) -> None:
        """Enable the controls only when there is a video."""
        for w in (self.play_button, self.prev_button, self.next_button, self.slider):
            w.setEnabled(enabled)

    def set_playing(self, playing: bool) -> None:
        """Switch the button's icon between play and pause."""
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))

    def show_frame(self, frame: int) -> None:
        """Move the slider and timecode to ``frame`` without emitting signals."""
        self._quiet = True
        try:
            self.slider.setValue(frame)
        finally:
            self._quiet = False
        self.timecode.setText(f"{format_timecode(frame, self._rate)}  ({frame})")

    def _on_slider(self, value: int) -> None:
        if not self._quiet:
            self.timecode.setText(f"{format_timecode(value, self._rate)}  ({value})")
            self.frame_changing.emit(value)
