"""Features the landmark emotion classifier sees (numpy only, no torch).

A ``(T, 68, 2)`` sequence is aligned frame by frame onto a template face (similarity fitted
on the rigid points, so head pose and framing go and expression stays), in face-frame px
(outer eye corners 100 px apart). It is cut into windows of ``window`` frames (hop
``window // 2``; a shorter sequence is one window), and each window becomes

- the mean position over time of the chin tip, brows, nose, eyes and mouth (52 points, 104
  values; the rest of the jaw line describes the face's build more than its expression and,
  on small training sets, only gave the network more room to overfit), and
- the mean and standard deviation over time of 7 expression distances: inner-mouth opening
  (62-66), mouth width (48-54), left and right brow height above the eye (19-37, 24-44),
  left and right eye opening (37-41 + 38-40, 43-47 + 44-46), and the lip-corner lift
  (corners' mean height above the lips' centre).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from evp_studio.eval.landmarks import (
    RIGID_POINTS,
    apply_similarity,
    check_landmarks,
    fit_similarity,
    normalise_face,
)

N_DISTANCES = 7
#: Points whose mean position is a feature: chin tip, brows, nose, eyes, mouth (the jaw line
#: outside the chin tip says more about the face's shape than about its expression).
EXPRESSION_POINTS: tuple[int, ...] = (8, *range(17, 68))
N_FEATURES = 2 * len(EXPRESSION_POINTS) + 2 * N_DISTANCES


def build_template(sequences: list[np.ndarray]) -> np.ndarray:
    """Mean face ``(68, 2)`` of all frames, each normalised to the face frame."""
    frames = np.concatenate([normalise_face(s) for s in sequences], axis=0)
    return frames.mean(axis=0)


def align_to_template(sequence: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Align every frame of ``(T, 68, 2)`` onto the ``(68, 2)`` template (rigid points)."""
    seq = check_landmarks(sequence, "emotion classifier input")
    idx = list(RIGID_POINTS)
    target = np.broadcast_to(template[idx], (seq.shape[0], len(idx), 2))
    scale, rotation, translation = fit_similarity(seq[:, idx], target)
    return apply_similarity(seq, scale, rotation, translation)


def _distances(aligned: np.ndarray) -> np.ndarray:
    """``(T, 7)`` expression distances of aligned frames; y grows downwards."""

    def dist(i: int, j: int) -> np.ndarray:
        return np.linalg.norm(aligned[:, i] - aligned[:, j], axis=-1)

    corners_y = (aligned[:, 48, 1] + aligned[:, 54, 1]) / 2
    centre_y = (aligned[:, 51, 1] + aligned[:, 57, 1]) / 2
    return np.stack(
        [
            dist(62, 66),
            dist(48, 54),
            dist(19, 37),
            dist(24, 44),
            dist(37, 41) + dist(38, 40),
            dist(43, 47) + dist(44, 46),
            centre_y - corners_y,
        ],
        axis=1,
    )


def window_features(sequence: np.ndarray, template: np.ndarray, window: int) -> np.ndarray:
    """Features of every window of a sequence.

    Parameters
    ----------
    sequence
        ``(T, 68, 2)`` landmarks, px.
    template
        ``(68, 2)`` mean face in face-frame px.
    window
        Frames per window; hop is ``window // 2``.

    Returns
    -------
    np.ndarray
        ``(n_windows, N_FEATURES)`` float32.

    Raises
    ------
    InvalidInputError
        When the sequence is not a finite ``(T, 68, 2)`` array.
    """
    aligned = align_to_template(sequence, template)
    w = min(window, len(aligned))
    hop = max(w // 2, 1)
    coords = aligned[:, list(EXPRESSION_POINTS)].reshape(len(aligned), -1)
    points = sliding_window_view(coords, w, axis=0)[::hop]
    dists = sliding_window_view(_distances(aligned), w, axis=0)[::hop]  # (n, 7, w)
    feats = [points.mean(axis=-1), dists.mean(axis=-1), dists.std(axis=-1)]
    return np.concatenate(feats, axis=1).astype(np.float32)
