"""The landmark sketch: the 14 facial part curves of the iBUG-68 layout, as smooth splines.

The official EVP input (vid2vid ``face_dataset.py``, 106 points) draws 14 edges: contour 1,
brows 2, nose 3, eyes 4, outer lip 2, inner lip 2. With 68 points they map as follows:

- contour 0-16; brows 17-21 and 22-26 (open: 68 points lack the lower brow edge that closes
  the official brow loops);
- nose: bridge 27-30, base 31-35, and the arch 31-30-35 over the nostrils (the official
  nose triangle joins its sides at a bridge point; 68 points have no nose-side points, so the
  sides meet at the tip 30 and with the base they outline the nose tip);
- eyes: upper lid 36-39 / lower lid 39-41,36 (and 42-45 / 45-47,42): each eye is closed;
- outer lip: upper 48-54 / lower 54-59,48; inner lip: upper 60-64 / lower 64-67,60.

Each part is a uniform Catmull-Rom spline through its points (open ends use the reflected
phantom point), so the curve passes through every landmark. A Catmull-Rom sample is a fixed
linear combination of landmarks, so all 14 curves come from one ``(S, 68) @ (68, 2)`` product.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

PARTS: dict[str, tuple[int, ...]] = {
    "contour": tuple(range(0, 17)),
    "brow_left": tuple(range(17, 22)),
    "brow_right": tuple(range(22, 27)),
    "nose_bridge": (27, 28, 29, 30),
    "nose_base": (31, 32, 33, 34, 35),
    "nose_arch": (31, 30, 35),
    "eye_left_upper": (36, 37, 38, 39),
    "eye_left_lower": (39, 40, 41, 36),
    "eye_right_upper": (42, 43, 44, 45),
    "eye_right_lower": (45, 46, 47, 42),
    "lip_outer_upper": (48, 49, 50, 51, 52, 53, 54),
    "lip_outer_lower": (54, 55, 56, 57, 58, 59, 48),
    "lip_inner_upper": (60, 61, 62, 63, 64),
    "lip_inner_lower": (64, 65, 66, 67, 60),
}
PART_NAMES: tuple[str, ...] = tuple(PARTS)
N_POINTS = 68
SHIFT = 2  # fixed-point bits for cv2 drawing: quarter-pixel positions
_MAX_SAMPLES = 16


def _catmull_rom_weights(n_points: int, samples: int) -> np.ndarray:
    """``((n_points-1)*samples+1, n_points)`` weights of an open uniform Catmull-Rom chain."""
    t = np.arange(samples) / samples
    basis = 0.5 * np.stack(
        [-(t**3) + 2 * t**2 - t, 3 * t**3 - 5 * t**2 + 2, -3 * t**3 + 4 * t**2 + t, t**3 - t**2],
        axis=1,
    )  # (samples, 4) for P[i-1], P[i], P[i+1], P[i+2]
    ext = np.zeros((n_points + 2, n_points))  # phantom ends: 2*P0 - P1, 2*P[n-1] - P[n-2]
    ext[1:-1] = np.eye(n_points)
    ext[0, 0], ext[0, 1] = 2.0, -1.0
    ext[-1, -1], ext[-1, -2] = 2.0, -1.0
    rows = [basis @ ext[i : i + 4] for i in range(n_points - 1)]
    rows.append(ext[-2][None])  # the last point itself
    return np.concatenate(rows)


@functools.lru_cache(maxsize=8)
def sampling_matrix(samples: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """All parts' spline samples as one linear map of the 68 landmarks.

    Parameters
    ----------
    samples
        Samples per segment between two consecutive landmarks of a part.

    Returns
    -------
    tuple
        ``(S, 68)`` float64 weights (read-only) and the split offsets of the 14 parts in S.
    """
    blocks = []
    for idx in PARTS.values():
        local = _catmull_rom_weights(len(idx), samples)
        block = np.zeros((local.shape[0], N_POINTS))
        block[:, list(idx)] = local  # a part never repeats a landmark
        blocks.append(block)
    weights = np.concatenate(blocks)
    weights.flags.writeable = False
    offsets = tuple(int(x) for x in np.cumsum([b.shape[0] for b in blocks])[:-1])
    return weights, offsets


def samples_for(landmarks: np.ndarray) -> int:
    """Samples per segment so that the chords are about 3 px: 1, 2, 4, 8 or 16."""
    jaw = landmarks[PARTS["contour"][0] : PARTS["contour"][-1] + 1]
    seg = float(np.mean(np.hypot(*np.diff(jaw, axis=0).T)))
    need = max(1.0, seg / 3.0)
    return int(min(_MAX_SAMPLES, 2 ** np.ceil(np.log2(need))))


def part_curves(landmarks: np.ndarray, samples: int | None = None) -> list[np.ndarray]:
    """The 14 part curves, densely sampled, in :data:`PART_NAMES` order.

    Parameters
    ----------
    landmarks
        ``(68, 2)`` float px, already checked (finite).
    samples
        Samples per landmark segment; None picks one from the face size.

    Returns
    -------
    list of np.ndarray
        ``(n_k, 2)`` float64 px per part; each passes through its landmarks.
    """
    weights, offsets = sampling_matrix(samples or samples_for(landmarks))
    return np.split(weights @ landmarks, offsets)


def fixed_point(curves: list[np.ndarray], shape: tuple[int, int]) -> list[np.ndarray]:
    """Curves as int32 fixed-point polylines for cv2, clipped far outside the frame."""
    lim = 4.0 * max(shape)  # keeps << SHIFT inside int32 however wild the points are
    return [
        np.round(np.clip(c, -lim, lim + max(shape)) * (1 << SHIFT)).astype(np.int32) for c in curves
    ]


def draw_polylines(
    canvas: np.ndarray, lines: list[np.ndarray], *, width: int, antialias: bool, value: int = 255
) -> None:
    """Draw fixed-point ``lines`` onto the uint8 ``canvas`` in place."""
    cv2.polylines(
        canvas,
        lines,
        isClosed=False,
        color=value,
        thickness=width,
        lineType=cv2.LINE_AA if antialias else cv2.LINE_8,
        shift=SHIFT,
    )
