"""68-point landmarks measured on video frames, for ``landmarks_source="detect"``.

The paper measures LD/LVD on landmarks *extracted from* the generated and the recorded
videos; this does that with the ``dlib`` landmark backend (:mod:`evp_studio.landmarks`: HOG
face detector and the 68-point iBUG shape predictor, offline). The largest face of each frame
is used, frame by frame (no tracking or smoothing, which would blur what is measured); frames
without a face take the nearest detected frame's landmarks (held) and are counted.
"""

from __future__ import annotations

import numpy as np

from evp_studio.landmarks import DlibBackend

_SMALL_FRAME = 200  # px; frames with a shorter side are searched for faces from 40 px


class LandmarkDetector:
    """dlib 68-point landmarks of the largest face in a frame."""

    def __init__(self) -> None:
        self._backend = DlibBackend()

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """``(68, 2)`` float64 px landmarks of an ``(H, W, 3)`` uint8 frame, or None."""
        img = np.ascontiguousarray(frame)
        min_size = 80.0 if min(img.shape[:2]) >= _SMALL_FRAME else 40.0
        faces = self._backend.detect(img, min_size=min_size)
        if not faces:
            return None
        face = max(faces, key=lambda b: b.width * b.height)
        return self._backend.landmarks(img, face).points.astype(np.float64)


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
