"""68-point landmarks measured on video frames, for ``landmarks_source="detect"``.

The paper measures LD/LVD on landmarks *extracted from* the generated and the recorded
videos; this does that with dlib's HOG face detector and its 68-point iBUG shape predictor
(offline, face-recognition-models). The largest face of each frame is used; frames without a
face take the nearest detected frame's landmarks (held) and are counted.
"""

from __future__ import annotations

import dlib
import numpy as np

from evp_studio.eval._dlib_models import dlib_model_path, largest_face


class LandmarkDetector:
    """dlib 68-point landmarks of the largest face in a frame."""

    def __init__(self) -> None:
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(
            str(dlib_model_path("shape_predictor_68_face_landmarks.dat"))
        )

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """``(68, 2)`` float64 px landmarks of an ``(H, W, 3)`` uint8 frame, or None."""
        img = np.ascontiguousarray(frame)
        face = largest_face(self._detector, img)
        if face is None:
            return None
        shape = self._shape(img, face)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def fill_missing(per_frame: list[np.ndarray | None]) -> tuple[np.ndarray | None, int]:
    """Hold the nearest detected frame's landmarks over frames without a face.

    Parameters
    ----------
    per_frame
        ``(68, 2)`` landmarks or None, one per frame.

    Returns
    -------
    tuple
        ``((T, 68, 2) landmarks or None when no frame has a face, frames filled)``.
    """
    found = np.array([lm is not None for lm in per_frame])
    if not found.any():
        return None, len(per_frame)
    idx = np.flatnonzero(found)
    # nearest detected frame of every frame (ties go to the earlier one)
    pos = np.clip(np.searchsorted(idx, np.arange(len(per_frame))), 1, max(len(idx) - 1, 1))
    left, right = idx[np.maximum(pos - 1, 0)], idx[np.minimum(pos, len(idx) - 1)]
    t = np.arange(len(per_frame))
    nearest = np.where(np.abs(t - left) <= np.abs(right - t), left, right)
    stacked = np.stack([lm for lm in per_frame if lm is not None])
    lookup = np.searchsorted(idx, nearest)
    return stacked[lookup], int((~found).sum())
