"""Following one face from frame to frame.

The first frame with a face picks the track: the largest face, or the one nearest to
``select_point``. After that the detector searches only a region around where the face is
expected (last position plus its velocity), scaled so the face is ~120 px: fast, and a face
passing nearby is told apart by position, motion and size. Every ``redetect_every`` frames,
and whenever the region comes up empty, the whole frame is searched. While the face is lost,
the distance a candidate may be from the expected position grows with every lost frame, so the
face is picked up again where it comes back, while its size must stay within 1.5x of the
track's: a smaller face crossing in front is not taken for it. After ``_REINIT_AFTER`` lost
frames (2 s at 25 fps) the face is chosen anew; while lost, the whole frame is searched only
every third frame.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from evp_studio.landmarks._settings import TrackerSettings
from evp_studio.landmarks._types import FaceBox, FaceLandmarks, LandmarkBackend

_ROI_FACE = 120.0  # px, face size the search region is scaled to
_ROI_SIDE = 2.4  # search region side, in face sizes
_ROI_MIN_FACE = 84.0  # px in the region: faces down to 0.7x the last size, no upsampling
_MAX_EXTRAPOLATE = 5  # frames of velocity carried into a loss
_SIZE_RATIO = 1.5  # a candidate's size may differ from the track's (smoothed) size by this
_SIZE_EMA = 0.3  # weight of a new detection in the track's size (HOG sizes step by ~1.2x)
_REINIT_AFTER = 50  # lost frames after which the face is chosen again as at the start
_GATE = 0.5  # centre distance allowed, face sizes, plus _GATE_GROWTH per lost frame
_GATE_GROWTH = 0.15
_GATE_MAX = 4.0
_SLOW_SEARCH_AFTER = 3  # lost frames after which the full frame is searched every 3rd frame


def _hog_floor(long_side: float, max_side: int) -> float:
    """Smallest face (px in the detection image) worth upsampling for, within 2x max_side."""
    budget = max(0, math.floor(math.log2(2.0 * max_side / max(long_side, 1.0))))
    return 80.0 / 2 ** min(budget, 2)


class FaceTracker:
    """Detects and follows one face; :meth:`step` once per frame, in order.

    Parameters
    ----------
    backend
        Detector and landmark model.
    settings
        ``min_face_px``, ``select_point``, ``redetect_every``, ``detect_max_side`` are used.

    Attributes
    ----------
    most_faces
        Most faces seen in one full-frame search.
    tiny_px
        Size of the largest face refused for being under ``min_face_px`` (0: none).
    """

    def __init__(self, backend: LandmarkBackend, settings: TrackerSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.most_faces = 0
        self.tiny_px = 0.0
        self._box: FaceBox | None = None
        self._velocity = np.zeros(2)
        self._size = 0.0  # px, smoothed face size of the track
        self._lost = 0
        self._since_full = 0

    def step(self, frame: np.ndarray) -> FaceLandmarks | None:
        """Find the tracked face in the next frame.

        Parameters
        ----------
        frame
            ``(H, W, 3)`` uint8 RGB.

        Returns
        -------
        FaceLandmarks or None
            None when the face is not found in this frame.
        """
        chosen = None
        searched_full = False
        if self._lost > _REINIT_AFTER:
            self._box = None
        if (
            self._box is not None
            and self._lost == 0
            and self._since_full < self.settings.redetect_every
        ):
            chosen = self._choose(self._search_region(frame))
        if chosen is None and self._full_search_due():
            chosen = self._choose(self.search_frame(frame))
            searched_full = True
        self._since_full = 0 if searched_full else self._since_full + 1
        if chosen is None:
            self._lost += 1
            return None
        self._update(chosen)
        return self.backend.landmarks(frame, chosen)

    def search_frame(self, frame: np.ndarray, *, min_face: float | None = None) -> list[FaceBox]:
        """Faces of at least ``min_face`` px (default ``min_face_px``) in the whole frame."""
        min_face = self.settings.min_face_px if min_face is None else min_face
        h, w = frame.shape[:2]
        f = min(1.0, self.settings.detect_max_side / max(h, w))
        image = frame
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        floor = _hog_floor(max(h, w) * f, self.settings.detect_max_side)
        found = self.backend.detect(image, min_size=max(min_face * f, floor))
        boxes = self._big_enough([b.mapped(1.0 / f) for b in found], min_face)
        self.most_faces = max(self.most_faces, len(boxes))
        return boxes

    def _full_search_due(self) -> bool:
        return self._lost < _SLOW_SEARCH_AFTER or self._lost % 3 == 0

    def _search_region(self, frame: np.ndarray) -> list[FaceBox]:
        pred = self._predicted()
        h, w = frame.shape[:2]
        half = _ROI_SIDE * pred.size / 2
        cx, cy = pred.centre
        x0, y0 = max(0, math.floor(cx - half)), max(0, math.floor(cy - half))
        x1, y1 = min(w, math.ceil(cx + half)), min(h, math.ceil(cy + half))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return []
        k = _ROI_FACE / max(pred.size, 1.0)
        region = frame[y0:y1, x0:x1]
        size = (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k)))
        interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
        region = cv2.resize(region, size, interpolation=interp)
        kx, ky = size[0] / (x1 - x0), size[1] / (y1 - y0)
        found = self.backend.detect(region, min_size=_ROI_MIN_FACE)
        boxes = [
            FaceBox(b.x0 / kx + x0, b.y0 / ky + y0, b.x1 / kx + x0, b.y1 / ky + y0, b.score)
            for b in found
        ]
        return self._big_enough(boxes, self.settings.min_face_px)

    def _big_enough(self, boxes: list[FaceBox], min_face: float) -> list[FaceBox]:
        keep = [b for b in boxes if b.width >= min_face]
        for b in boxes:
            if b.width < min_face:
                self.tiny_px = max(self.tiny_px, b.width)
        return keep

    def _predicted(self) -> FaceBox:
        """Where the face should be now: moved by its velocity, at the track's size."""
        assert self._box is not None
        steps = min(self._lost + 1, _MAX_EXTRAPOLATE)
        c = self._box.centre + self._velocity * steps
        h = self._size / 2
        return FaceBox(c[0] - h, c[1] - h, c[0] + h, c[1] + h)

    def _choose(self, boxes: list[FaceBox]) -> FaceBox | None:
        if not boxes:
            return None
        if self._box is None:
            point = self.settings.select_point
            if point is None:
                return max(boxes, key=lambda b: b.width * b.height)
            p = np.asarray(point)
            return min(boxes, key=lambda b: float(np.linalg.norm(b.centre - p)) / b.size)
        pred = self._predicted()
        gate = min(_GATE + _GATE_GROWTH * self._lost, _GATE_MAX)
        best, best_cost = None, math.inf
        for b in boxes:
            ratio = b.size / max(pred.size, 1e-6)
            dist = float(np.linalg.norm(b.centre - pred.centre)) / max(pred.size, 1e-6)
            if dist > gate or not 1 / _SIZE_RATIO <= ratio <= _SIZE_RATIO:
                continue
            cost = dist + abs(math.log(ratio))
            if cost < best_cost:
                best, best_cost = b, cost
        return best

    def _update(self, box: FaceBox) -> None:
        if self._box is not None and self._lost == 0:
            self._velocity = 0.5 * self._velocity + 0.5 * (box.centre - self._box.centre)
        else:
            self._velocity = np.zeros(2)
        fresh = self._box is None
        self._size = box.size if fresh else (1 - _SIZE_EMA) * self._size + _SIZE_EMA * box.size
        self._box = box
        self._lost = 0
