"""One fixed colour per emotion category, and the row of palette buttons that picks one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget

from evp_studio.project import EMOTIONS
from ui.theme import CHECKED_BUTTON_STYLE

#: RGB per emotion, in the order of ``EMOTIONS``; neutral is a quiet grey.
EMOTION_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (230, 60, 50),
    "contempt": (170, 110, 60),
    "disgusted": (120, 170, 50),
    "fear": (150, 90, 200),
    "happy": (250, 200, 40),
    "neutral": (120, 120, 128),
    "sad": (60, 120, 220),
    "surprised": (40, 200, 200),
}
assert tuple(EMOTION_COLORS) == EMOTIONS

#: ``(8, 3)`` float32, rows in ``EMOTIONS`` order, 0..255; ``weights @ PALETTE`` blends them.
PALETTE = np.array([EMOTION_COLORS[name] for name in EMOTIONS], dtype=np.float32)


class EmotionPalette(QWidget):
    """Eight exclusive buttons, one per emotion; the checked one is used for new keys.

    Signals
    -------
    emotion_changed(str)
        The user picked another emotion.
    """

    emotion_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(CHECKED_BUTTON_STYLE)
        self.setObjectName("emotionPalette")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        for index, name in enumerate(EMOTIONS):
            button = QToolButton(self)
            button.setText(name.capitalize())
            button.setCheckable(True)
            button.setToolTip(f"Use “{name}” for new keys (K adds one at the playhead)")
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*EMOTION_COLORS[name]))
            button.setIcon(QIcon(swatch))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self._group.addButton(button, index)
            layout.addWidget(button)
            self.buttons[name] = button
        layout.addStretch(1)
        self.buttons["happy"].setChecked(True)
        self._group.idClicked.connect(lambda i: self.emotion_changed.emit(EMOTIONS[i]))

    @property
    def current_emotion(self) -> str:
        """The emotion that new keys get."""
        return EMOTIONS[max(0, self._group.checkedId())]

    def set_current_emotion(self, emotion: str) -> None:
        """Check ``emotion``'s button (no signal)."""
        self.buttons[emotion].setChecked(True)
