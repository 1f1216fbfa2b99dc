"""Shared fabrication for the eval tests: a real 68-point face, head motion, emotion clips.

The face is dlib's 68-point fit on scikit-image's astronaut photo, normalised so its outer
eye corners lie at (-50, 0) and (+50, 0): the units of every landmark metric.
"""

from __future__ import annotations

import functools

import dlib
import numpy as np
import skimage.data

from evp_studio.eval._dlib_models import dlib_model_path
from evp_studio.eval.landmarks import FACE_SIZE_PX, normalise_face

N_CLASSES = 8


@functools.cache
def real_face() -> np.ndarray:
    """``(68, 2)`` landmarks of a real face in the face frame (eyes at (+-50, 0))."""
    img = skimage.data.astronaut()
    face = max(dlib.get_frontal_face_detector()(img, 0), key=lambda r: r.area())
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))
    shape = predictor(img, face)
    px = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return normalise_face(px[None])[0]


def random_similarity(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move each frame of ``(T, N, 2)`` by its own random rotation, scale and translation."""
    t = len(points)
    theta = rng.uniform(-0.5, 0.5, t)
    scale = rng.uniform(0.8, 2.5, t)
    shift = rng.uniform(50, 300, (t, 2))
    cos, sin = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (T, 2, 2)
    return scale[:, None, None] * np.einsum("tij,tnj->tni", rot, points) + shift[:, None]


def talking(n_frames: int, rng: np.random.Generator, amplitude: float = 6.0) -> np.ndarray:
    """``(T, 68, 2)`` face-frame sequence of the real face opening and closing its mouth."""
    face = np.repeat(real_face()[None], n_frames, axis=0)
    opening = amplitude * np.abs(np.sin(np.arange(n_frames) * rng.uniform(0.3, 0.8)))
    lower = [6, 7, 8, 9, 10, 55, 56, 57, 58, 59, 65, 66, 67]  # chin and lower lip go down
    face[:, lower, 1] += opening[:, None]
    return face


def _pattern(label: int) -> np.ndarray:
    """Face-frame displacement (68, 2) of a fabricated emotion, ~0.05 face sizes."""
    d = np.zeros((68, 2))
    brows, inner_brows = list(range(17, 27)), [20, 21, 22, 23]
    upper_lids, lower_lids = [37, 38, 43, 44], [40, 41, 46, 47]
    if label == 0:  # angry: brows down and together
        d[brows, 1] += 4
        d[[19, 20, 21], 0] += 2
        d[[22, 23, 24], 0] -= 2
    elif label == 1:  # contempt: one lip corner up
        d[[54, 64], 1] -= 4
        d[[54, 64], 0] += 2
    elif label == 2:  # disgusted: upper lip and nose up, brows a little down
        d[[31, 32, 33, 34, 35, 49, 50, 51, 52, 53, 61, 62, 63], 1] -= 4
        d[brows, 1] += 2
    elif label == 3:  # fear: brows up, eyes wide, lips stretched
        d[brows, 1] -= 4
        d[upper_lids, 1] -= 2
        d[lower_lids, 1] += 1
        d[[48, 60], 0] -= 3
        d[[54, 64], 0] += 3
    elif label == 4:  # happy: corners up and out
        d[[48, 60], :] += [-3, -4]
        d[[54, 64], :] += [3, -4]
    elif label == 6:  # sad: inner brows up, corners down
        d[inner_brows, 1] -= 4
        d[[48, 54, 60, 64], 1] += 4
    elif label == 7:  # surprised: brows far up, eyes wide, jaw down
        d[brows, 1] -= 7
        d[upper_lids, 1] -= 3
        d[[6, 7, 8, 9, 10, 56, 57, 58, 65, 66, 67], 1] += 6
    return d  # label 5, neutral: no displacement


def emotion_clips(
    n_per_class: int, seed: int, frames: tuple[int, int] = (30, 60)
) -> tuple[list[np.ndarray], list[int]]:
    """Labelled px clips: talking face + emotion pattern at a random intensity + 1 px
    noise + per-frame random head motion (rotation, scale, position)."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for label in range(N_CLASSES):
        for _ in range(n_per_class):
            n = int(rng.integers(*frames))
            face = talking(n, rng) + rng.uniform(0.6, 1.0) * _pattern(label)
            face += rng.normal(0, 1.0, face.shape)
            clips.append(random_similarity(face, rng))
            labels.append(label)
    return clips, labels


def test_real_face_is_a_normalised_68_point_face() -> None:
    face = real_face()
    assert face.shape == (68, 2)
    np.testing.assert_allclose(face[36], [-FACE_SIZE_PX / 2, 0], atol=1e-9)
    np.testing.assert_allclose(face[45], [FACE_SIZE_PX / 2, 0], atol=1e-9)
    # image y grows downwards: brows above the eyes, mouth and chin below
    assert face[17:27, 1].max() < 0 < face[48:68, 1].min() < face[8, 1]


def test_emotion_clips_are_labelled_px_sequences() -> None:
    clips, labels = emotion_clips(2, seed=1)
    assert labels == sorted(labels) and set(labels) == set(range(N_CLASSES))
    assert all(c.ndim == 3 and c.shape[1:] == (68, 2) and np.isfinite(c).all() for c in clips)
