"""Shows one video frame, scaled to fit and centred, with a message when there is none."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def rgb_to_qimage(frame: np.ndarray) -> QImage:
    """Wrap an RGB uint8 (H, W, 3) array as a QImage that owns a copy of the pixels."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) frame, got {frame.dtype} {frame.shape}")
    frame = np.ascontiguousarray(frame)
    h, w, _ = frame.shape
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameView(QWidget):
    """The preview picture. Holds only view state: the image on show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameView")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._message = "Open a video (File ▸ Open Video, or drop it here)"
        self.frame_index: int | None = None

    def set_frame(self, frame: np.ndarray, index: int) -> None:
        """Show ``frame`` (RGB uint8) as frame number ``index``."""
        self._image = rgb_to_qimage(frame)
        self.frame_index = index
        self.update()

    def clear(self, message: str) -> None:
        """Show no picture, only ``message``."""
        self._image, self.frame_index, self._message = None, None, message
        self.update()

    def image(self) -> QImage | None:
        """The image on show (for tests and snapshots)."""
        return self._image

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 26))
        if self._image is None:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        # Smooth only when the picture shrinks on the screen's own pixels: on a high-DPI
        # screen a frame shown at 0.8 logical scale still gets more device pixels than it has.
        device_scale = scale * self.devicePixelRatioF()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, device_scale < 1.0)
        painter.drawImage(target, self._image)
