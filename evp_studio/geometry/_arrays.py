"""Shared helpers of the geometry package: input checks, point weights, small batched solvers."""

from __future__ import annotations

import numpy as np

from evp_studio.data.face.shape import MEAN_SHAPE, N_POINTS
from evp_studio.errors import InvalidInputError

# How much each iBUG point is trusted to follow the skull (1 = rigid). Expressions and speech
# move the mouth, the brows, the lids, the nostril wings and the lower jaw; the nose bridge,
# the eye corners and the contour beside the ears stay put.
_JAW_HALF = [0.6, 0.5, 0.3, 0.15, 0.05, 0.05, 0.05, 0.05]  # 0 (beside the ear) .. 7
RIGID_WEIGHTS = np.concatenate(
    [
        _JAW_HALF + [0.05] + _JAW_HALF[::-1],  # jaw 0-16
        [0.2] * 10,  # brows 17-26
        [1.0] * 4,  # nose bridge 27-30
        [0.3] * 5,  # nostril base 31-35 (AU9 lifts it)
        [1.0, 0.3, 0.3, 1.0, 0.3, 0.3] * 2,  # eyes 36-47: corners rigid, lids blink
        [0.05] * 20,  # mouth 48-67
    ]
).astype(np.float64)
RIGID_WEIGHTS.setflags(write=False)

MIN_POINTS = 6  # fewest finite, weighted landmarks a frame needs to be fitted


def as_frames(points: np.ndarray, n_dims: int, name: str) -> tuple[np.ndarray, bool]:
    """Check landmarks and give them a frame axis.

    Parameters
    ----------
    points
        ``(T, 68, n_dims)`` or ``(68, n_dims)``; NaN marks a lost point or frame.
    n_dims
        2 or 3.
    name
        What to call the array in an error message.

    Returns
    -------
    tuple of np.ndarray and bool
        ``(T, 68, n_dims)`` float64 and whether the input was a single frame.

    Raises
    ------
    InvalidInputError
        On a wrong shape, a non-numeric array or infinite values.
    """
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{name}: expected numeric landmarks ({e})") from e
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (N_POINTS, n_dims):
        raise InvalidInputError(
            f"{name}: expected (T, {N_POINTS}, {n_dims}) or ({N_POINTS}, {n_dims}) landmarks, "
            f"got shape {np.shape(points)}"
        )
    if np.isinf(arr).any():
        raise InvalidInputError(f"{name}: landmarks contain infinite values (use NaN for lost)")
    return arr, single


def resolve_shape(shape3d: np.ndarray | None) -> np.ndarray:
    """The 3D face to fit against: the given ``(68, 3)`` points, or the corpus's mean face.

    Parameters
    ----------
    shape3d
        ``(68, 3)`` head-frame points (x right, y up, z towards the camera), or None for
        ``MEAN_SHAPE`` (mm).

    Returns
    -------
    np.ndarray
        ``(68, 3)`` float64.

    Raises
    ------
    InvalidInputError
        If the shape is not finite ``(68, 3)`` or its points are flat (rank below 3).
    """
    if shape3d is None:
        return MEAN_SHAPE.points.astype(np.float64)
    shape = np.asarray(shape3d, dtype=np.float64)
    if shape.shape != (N_POINTS, 3) or not np.isfinite(shape).all():
        raise InvalidInputError(
            f"shape3d: expected a finite ({N_POINTS}, 3) array, got shape {shape.shape}"
        )
    sv = np.linalg.svd(shape - shape.mean(axis=0), compute_uv=False)
    if sv[0] <= 0 or sv[2] < 1e-6 * sv[0]:
        raise InvalidInputError(
            f"shape3d: the 3D points are collinear or flat (singular values {sv.round(6)}); "
            "a pose needs a face shape with depth"
        )
    return shape


def frame_weights(weights: np.ndarray | None, points: np.ndarray) -> np.ndarray:
    """Per-frame point weights ``(T, 68)``, zero where a landmark is NaN.

    Parameters
    ----------
    weights
        ``(68,)`` or ``(T, 68)`` non-negative weights, or None for ``RIGID_WEIGHTS``.
    points
        ``(T, 68, D)`` landmarks.

    Returns
    -------
    np.ndarray
        ``(T, 68)`` float64.

    Raises
    ------
    InvalidInputError
        On a wrong shape or negative / non-finite weights.
    """
    t = points.shape[0]
    w = RIGID_WEIGHTS if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape not in ((N_POINTS,), (t, N_POINTS)) or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidInputError(
            f"weights: expected non-negative ({N_POINTS},) or ({t}, {N_POINTS}) values, "
            f"got shape {w.shape}"
        )
    return np.broadcast_to(w, (t, N_POINTS)) * np.isfinite(points).all(axis=-1)


def similarity_2d(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least-squares 2D similarity (rotation, isotropic scale, shift) per frame.

    Parameters
    ----------
    src, dst
        ``(T, N, 2)`` points; NaN points must carry zero weight.
    w
        ``(T, N)`` weights.

    Returns
    -------
    tuple of np.ndarray
        ``a`` ``(T,)`` complex (scale times rotation), ``b`` ``(T,)`` complex shift, and
        ``ok`` ``(T,)`` bool: dst ~ a * src + b with points as complex x + iy. Frames without
        enough weighted, spread-out points get ``ok`` False (and a = 1, b = 0).
    """
    zs = np.where(w > 0, src[..., 0] + 1j * src[..., 1], 0)
    zd = np.where(w > 0, dst[..., 0] + 1j * dst[..., 1], 0)
    wsum = w.sum(axis=1)
    ok = ((w > 0).sum(axis=1) >= 2) & (wsum > 0)
    wn = w / np.where(ok, wsum, 1.0)[:, None]
    ms, md = (wn * zs).sum(axis=1), (wn * zd).sum(axis=1)
    cs, cd = zs - ms[:, None], zd - md[:, None]
    var = (wn * np.abs(cs) ** 2).sum(axis=1)
    ok &= var > 1e-12 * np.maximum((wn * np.abs(zs) ** 2).sum(axis=1), 1e-300)
    a = np.where(ok, (wn * np.conj(cs) * cd).sum(axis=1) / np.where(ok, var, 1.0), 1.0)
    b = np.where(ok, md - a * ms, 0.0)
    return a, b, ok


def apply_similarity(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Apply ``similarity_2d``'s transform to ``(T, N, 2)`` points."""
    z = a[:, None] * (points[..., 0] + 1j * points[..., 1]) + b[:, None]
    return np.stack([z.real, z.imag], axis=-1)


def rodrigues(omega: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(T, 3, 3)`` of axis-angle vectors ``(T, 3)`` (radians)."""
    theta = np.linalg.norm(omega, axis=-1)
    small = theta < 1e-12
    k = omega / np.where(small, 1.0, theta)[:, None]
    kx = np.zeros(omega.shape[:-1] + (3, 3))
    kx[..., 0, 1], kx[..., 0, 2] = -k[..., 2], k[..., 1]
    kx[..., 1, 0], kx[..., 1, 2] = k[..., 2], -k[..., 0]
    kx[..., 2, 0], kx[..., 2, 1] = -k[..., 1], k[..., 0]
    sin, cos = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    return np.eye(3) + sin * kx + (1.0 - cos) * (kx @ kx)
