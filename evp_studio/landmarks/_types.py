"""What detector backends exchange: face boxes, per-face landmarks, the backend protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """A detected face, px in the image it was found in.

    Parameters
    ----------
    x0, y0, x1, y1
        Left, top, right, bottom edges (``x1 - x0`` is the width).
    score
        The detector's own score (dlib HOG margin, S3FD probability); larger is surer.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        """Width, px."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Height, px."""
        return self.y1 - self.y0

    @property
    def size(self) -> float:
        """Geometric mean of width and height, px."""
        return float(np.sqrt(max(self.width, 0.0) * max(self.height, 0.0)))

    @property
    def centre(self) -> np.ndarray:
        """``(2,)`` float64 px."""
        return np.array([(self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2])

    def mapped(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> FaceBox:
        """The box in another image: ``x -> x * scale + dx`` (same for y)."""
        return FaceBox(
            self.x0 * scale + dx,
            self.y0 * scale + dy,
            self.x1 * scale + dx,
            self.y1 * scale + dy,
            self.score,
        )

    def moved(self, delta: np.ndarray) -> FaceBox:
        """The box shifted by ``(dx, dy)`` px."""
        return self.mapped(1.0, float(delta[0]), float(delta[1]))

    def as_array(self) -> np.ndarray:
        """``(4,)`` float32: x0, y0, x1, y1."""
        return np.array([self.x0, self.y0, self.x1, self.y1], dtype=np.float32)


@dataclass(frozen=True)
class FaceLandmarks:
    """68 landmarks of one face in one image.

    Parameters
    ----------
    points
        ``(68, 2)`` float32, px, iBUG order.
    confidence
        In [0, 1]; how it is measured depends on the backend (see its docstring).
    box
        The detection the points were fitted in.
    depth
        ``(68,)`` float32 px (larger is nearer), from FAN's 3D model only; else None.
    """

    points: np.ndarray
    confidence: float
    box: FaceBox
    depth: np.ndarray | None = None


class LandmarkBackend(Protocol):
    """A face detector plus a 68-point landmark model.

    Attributes
    ----------
    name
        ``"dlib"`` or ``"fan"``.
    model_id
        Identifies the model files (name and sha256 prefix); part of the cache key.
    has_depth
        Whether :meth:`landmarks` fills ``depth``.
    """

    name: str
    model_id: str
    has_depth: bool

    def detect(self, image: np.ndarray, *, min_size: float) -> list[FaceBox]:
        """Faces in an ``(H, W, 3)`` uint8 RGB image, any order.

        ``min_size`` (px) is the smallest face the caller needs; a detector may search
        harder (upsample) to find faces that small.
        """
        ...

    def landmarks(self, image: np.ndarray, box: FaceBox) -> FaceLandmarks:
        """Fit the 68 points of the face in ``box`` of an ``(H, W, 3)`` uint8 RGB image."""
        ...
