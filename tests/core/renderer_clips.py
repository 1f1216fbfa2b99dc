"""A tiny synthetic talking-head clip with its exact landmarks, for the renderer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evp_studio.data.face import appearance_for, render_frame
from evp_studio.landmarks import MEAN_FACE_2D
from tests.core.landmark_clips import write_clip

SIZE = (128, 128)  # (H, W) of the clip's frames


def clip_landmarks(n_frames: int, shift: float = 0.0) -> np.ndarray:
    """``(T, 68, 2)`` px: a face ~37 px wide that drifts and opens its mouth."""
    base = (MEAN_FACE_2D - MEAN_FACE_2D.mean(0)) * 50.0 + np.array([64.0, 72.0])
    out = np.repeat(base[None], n_frames, axis=0)
    t = np.arange(n_frames)
    out[:, :, 0] += 3.0 * np.sin(t / 5.0)[:, None] + shift
    out[:, 57:60, 1] += (3.0 * (1 + np.sin(t / 2.0)))[:, None]  # lower lip
    out[:, 65:68, 1] += (2.5 * (1 + np.sin(t / 2.0)))[:, None]
    return out.astype(np.float32)


def write_face_clip(path: Path, n_frames: int = 40, seed: int = 0) -> tuple[Path, np.ndarray]:
    """Encode the clip; returns its path and landmarks."""
    lm = clip_landmarks(n_frames, shift=2.0 * seed)
    ap = appearance_for(np.random.default_rng(seed))
    write_clip(path, n_frames, lambda i: render_frame(lm[i], ap, size=SIZE))
    return path, lm
