"""A target's own 3D face shape from its landmark track (structure from motion, rigid part).

Alternates two least-squares problems: the poses given the shape (``fit_pose``), and each 3D
point given the poses (a 3x3 linear system per landmark, pulled towards the starting shape by a
prior worth ``prior_frames`` frames). Depth is only observable where the head turns, so a clip
with little pose variation keeps the starting shape's depths. After each round the shape is
moved back onto the starting shape by a 3D similarity fitted on the rigid points, so its frame
(origin, axes, units) stays the starting shape's.
"""

from __future__ import annotations

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.geometry._arrays import as_frames, frame_weights, resolve_shape
from evp_studio.geometry.pose_fit import PoseFit, fit_pose


def _solve_points(
    pts: np.ndarray, fit: PoseFit, prior: np.ndarray, prior_frames: float
) -> np.ndarray:
    """Least-squares 3D position of every landmark over all frames, given the poses."""
    use = fit.valid[:, None] & np.isfinite(pts).all(axis=-1)  # (T, 68)
    w = use.astype(np.float64)
    f = np.flatnonzero(fit.valid)
    rot, s, t = fit.rotation[f], fit.scale[f], fit.translation[f]
    w = w[f]
    b = np.where(use[f][..., None], pts[f] - t[:, None], 0.0) / s[:, None, None]
    b[..., 1] *= -1.0  # camera y points up
    r3 = rot[:, 2]
    lam = prior_frames
    # sum_t s^2 (P R)^T (P R) = sum_t s^2 (I - r3 r3^T); the 1/s above folds one s into b
    normal = np.einsum("tn,ij->nij", w, np.eye(3)) - np.einsum("tn,ti,tj->nij", w, r3, r3)
    normal += lam * np.eye(3)
    rhs = np.einsum("tn,tki,tnk->ni", w, rot[:, :2], b) + lam * prior
    return np.linalg.solve(normal, rhs[..., None])[..., 0]


def _similarity_3d(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``src`` moved by the weighted least-squares 3D similarity onto ``dst`` (Umeyama)."""
    wn = w / w.sum()
    ms, md = wn @ src, wn @ dst
    cs, cd = src - ms, dst - md
    u, sv, vt = np.linalg.svd((cd * wn[:, None]).T @ cs)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = np.trace(np.diag(sv) @ d) / (wn @ (cs**2).sum(axis=1))
    return md + scale * cs @ rot.T


def fit_shape(
    points2d: np.ndarray,
    shape3d: np.ndarray | None = None,
    *,
    rounds: int = 4,
    prior_frames: float = 5.0,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, PoseFit]:
    """Refine a 3D face shape to a target clip, and fit the clip's poses with it.

    Parameters
    ----------
    points2d
        ``(T, 68, 2)`` px landmarks of the target clip, image y down; NaN where lost. The
        more the head turns over the clip, the more depth is recovered.
    shape3d
        ``(68, 3)`` starting shape and prior, None for ``MEAN_SHAPE``.
    rounds
        Pose / shape alternations.
    prior_frames
        Strength of the pull towards the starting shape, in frames' worth of evidence.
    weights
        Point weights for the pose fits, as in ``fit_pose``.

    Returns
    -------
    tuple of np.ndarray and PoseFit
        The ``(68, 3)`` float64 shape (the starting shape's frame and units; expression and
        speech average out of it) and the poses fitted with it.

    Raises
    ------
    InvalidInputError
        On bad input (as ``fit_pose``), a negative prior, or no valid frame.
    """
    pts, _ = as_frames(points2d, 2, "fit_shape points2d")
    start = resolve_shape(shape3d)
    if not (np.isfinite(prior_frames) and prior_frames > 0) or rounds < 0:
        raise InvalidInputError(
            f"fit_shape: prior_frames must be positive and rounds >= 0, got "
            f"{prior_frames!r} and {rounds!r}"
        )
    rigid = frame_weights(weights, np.zeros_like(pts)).mean(axis=0)  # validates, too
    shape = start
    for _ in range(rounds):
        fit = fit_pose(pts, shape, weights=weights)
        if not fit.valid.any():
            raise InvalidInputError("fit_shape: no frame has enough landmarks to fit a pose")
        shape = _similarity_3d(_solve_points(pts, fit, start, prior_frames), start, rigid)
    return shape, fit_pose(pts, shape, weights=weights)
