"""Per-frame head pose from 2D landmarks under scaled orthographic projection.

The camera model is the synthetic corpus's (``evp_studio.data.face.pose``) and the paper's
eq. 8, with the image's y axis pointing down::

    u = tx + s * (R @ L)_x,    v = ty - s * (R @ L)_y

``L`` is a 3D landmark in the head frame of the face shape (x right, y up, z towards the
camera), ``R`` rotates it into the camera frame (``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)``, so
``angles_from_rotation`` gives the corpus's yaw, pitch and roll), ``s`` is pixels per shape
unit (px/mm for the default shape) and ``(tx, ty)`` is where the shape's origin lands (px).

The default shape is ``MEAN_SHAPE``, a mean 68-point 3D face built for the synthetic corpus
(mm, origin between the ears); pass a shape estimated from the target instead where one is
known: 3D FAN landmarks of a frontal frame, or ``fit_shape`` over the target clip.

The fit is robust to expression: each point is weighted by how rigidly it follows the skull
(``RIGID_WEIGHTS``), an affine least-squares solution projected onto scaled rotations starts
it, and Gauss-Newton steps on SO(3) (rotation updates by Rodrigues' formula, so R stays a
rotation) refine it while iteratively re-weighting the points by their residuals (IRLS: Huber
first, then Cauchy, whose weights fall to zero for points moved far by expression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evp_studio.data.face.pose import angles_from_rotation
from evp_studio.errors import InvalidInputError
from evp_studio.geometry._arrays import (
    MIN_POINTS,
    RIGID_WEIGHTS,
    as_frames,
    frame_weights,
    resolve_shape,
    rodrigues,
)

_YUP = np.array([1.0, -1.0])  # image (y down) <-> camera (y up)
_HUBER_K = 2.0  # Huber threshold, in robust standard deviations of the rigid points' residual
_CAUCHY_K = 2.385  # Cauchy scale, same unit (95 % efficiency for Gaussian noise)
_HUBER_STEPS = 2  # Huber re-weightings first (safe far from the optimum), then Cauchy ones


@dataclass(frozen=True)
class PoseFit:
    """Scaled orthographic head pose per frame.

    Parameters
    ----------
    rotation
        ``(T, 3, 3)`` float64, head frame to camera frame (y up); NaN where not ``valid``.
    scale
        ``(T,)`` pixels per shape unit (px/mm for ``MEAN_SHAPE``).
    translation
        ``(T, 2)`` px, image position (y down) of the shape's origin.
    residual
        ``(T,)`` px, RMS distance between the landmarks and the posed shape, weighted by
        ``RIGID_WEIGHTS`` (or the weights given to ``fit_pose``).
    valid
        ``(T,)`` bool; False for frames whose face was lost (too few finite landmarks).
    """

    rotation: np.ndarray  # (T, 3, 3) float64
    scale: np.ndarray  # (T,) px per shape unit
    translation: np.ndarray  # (T, 2) px, image y down
    residual: np.ndarray  # (T,) px
    valid: np.ndarray  # (T,) bool

    def __post_init__(self) -> None:
        t = np.shape(self.scale)[0] if np.ndim(self.scale) == 1 else -1
        want = {
            "rotation": (t, 3, 3),
            "scale": (t,),
            "translation": (t, 2),
            "residual": (t,),
            "valid": (t,),
        }
        for name, shape in want.items():
            if np.shape(getattr(self, name)) != shape:
                raise InvalidInputError(
                    f"PoseFit.{name}: expected shape {shape}, got {np.shape(getattr(self, name))}"
                )

    def __len__(self) -> int:
        return int(self.scale.shape[0])

    def angles(self) -> np.ndarray:
        """Yaw, pitch, roll in degrees, ``(T, 3)``, in the corpus's convention."""
        return angles_from_rotation(self.rotation)

    def as_pose_array(self) -> np.ndarray:
        """``(T, 6)`` yaw, pitch, roll (deg), tx, ty (px), scale: the corpus's pose layout."""
        return np.column_stack([self.angles(), self.translation, self.scale])


def _affine_start(
    q: np.ndarray, shape: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted affine camera, projected onto a scaled rotation: ``(R, s, t)`` per frame."""
    wn = w / w.sum(axis=1, keepdims=True)
    lbar, qbar = wn @ shape, np.einsum("tn,tnk->tk", wn, q)
    c_ll = np.einsum("tn,ni,nj->tij", wn, shape, shape) - lbar[:, :, None] * lbar[:, None, :]
    c_ql = np.einsum("tn,tni,nj->tij", wn, q, shape) - qbar[:, :, None] * lbar[:, None, :]
    ridge = 1e-9 * np.trace(c_ll, axis1=1, axis2=2)[:, None, None] * np.eye(3)
    m = np.linalg.solve(c_ll + ridge, c_ql.transpose(0, 2, 1)).transpose(0, 2, 1)  # (T, 2, 3)
    u, sv, vt = np.linalg.svd(m, full_matrices=False)
    rows = u @ vt  # (T, 2, 3): the nearest pair of orthonormal rows
    rot = np.concatenate([rows, np.cross(rows[:, 0], rows[:, 1])[:, None]], axis=1)
    s = sv.mean(axis=1)
    return rot, s, qbar - s[:, None] * np.einsum("tij,tj->ti", rows, lbar)


def _robust_sigma(mag: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Median residual of the rigid points (base weight >= 0.5) per frame, times 1.4826."""
    use = w >= 0.5
    use = np.where(use.sum(axis=1, keepdims=True) >= 3, use, w > 0)
    srt = np.sort(np.where(use, mag, np.inf), axis=1)
    k = np.maximum(use.sum(axis=1) - 1, 0) // 2
    return 1.4826 * np.take_along_axis(srt, k[:, None], axis=1)[:, 0]


def _robust_weights(
    q: np.ndarray,
    shape: np.ndarray,
    base: np.ndarray,
    rot: np.ndarray,
    s: np.ndarray,
    t: np.ndarray,
    *,
    cauchy: bool,
) -> np.ndarray:
    """IRLS factors in [0, 1] per point from the current residuals (Huber or Cauchy)."""
    c = np.einsum("tij,nj->tni", rot, shape)
    mag = np.linalg.norm(q - (s[:, None, None] * c[..., :2] + t[:, None]), axis=-1)
    # a floor on sigma (0.1 % of the face's size) keeps noise-free input well conditioned
    floor = 1e-3 * np.abs(s) * np.sqrt(((shape - shape.mean(0)) ** 2).sum(1).mean())
    sigma = np.maximum(_robust_sigma(mag, base), floor)[:, None]
    if cauchy:
        return 1.0 / (1.0 + (mag / (_CAUCHY_K * sigma)) ** 2)
    return np.minimum(1.0, _HUBER_K * sigma / np.maximum(mag, 1e-300))


def _gauss_newton_step(
    q: np.ndarray, shape: np.ndarray, w: np.ndarray, rot: np.ndarray, s: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One weighted Gauss-Newton step on (rotation increment, scale, translation)."""
    c = np.einsum("tij,nj->tni", rot, shape)  # camera-frame points (T, N, 3)
    r = q - (s[:, None, None] * c[..., :2] + t[:, None])
    jac = np.zeros(c.shape[:2] + (2, 6))
    # d(P R L)/d(omega) for R <- exp([omega]x) R is -P [c]x
    jac[..., 0, 1], jac[..., 0, 2] = s[:, None] * c[..., 2], -s[:, None] * c[..., 1]
    jac[..., 1, 0], jac[..., 1, 2] = -s[:, None] * c[..., 2], s[:, None] * c[..., 0]
    jac[..., :, 3] = c[..., :2]
    jac[..., 0, 4] = jac[..., 1, 5] = 1.0
    n = q.shape[0]
    jf = jac.reshape(n, -1, 6)
    wf = np.repeat(w, 2, axis=1)[..., None]
    h = (jf * wf).transpose(0, 2, 1) @ jf
    g = np.einsum("tmi,tm->ti", jf * wf, r.reshape(n, -1))
    h += 1e-9 * np.trace(h, axis1=1, axis2=2)[:, None, None] * np.eye(6)
    d = np.linalg.solve(h, g[..., None])[..., 0]
    return rodrigues(d[:, :3]) @ rot, s + d[:, 3], t + d[:, 4:]


def _check_spread(q: np.ndarray, w: np.ndarray, fitted: np.ndarray) -> None:
    """Raise if a fitted frame's weighted landmarks lie on a line (or on one point)."""
    wn = w / np.where(fitted, w.sum(axis=1), 1.0)[:, None]
    mean = np.einsum("tn,tnk->tk", wn, q)
    d = q - mean[:, None]
    cov = np.einsum("tn,tni,tnj->tij", wn, d, d)
    ev = np.linalg.eigvalsh(cov)
    bad = fitted & ~(ev[:, 0] > 1e-8 * np.maximum(ev[:, 1], 1e-300))
    if bad.any():
        frames = np.flatnonzero(bad)
        raise InvalidInputError(
            f"fit_pose: the landmarks of frame(s) {frames[:10].tolist()} are collinear or "
            "coincide; a face needs points spread in two dimensions"
        )


def fit_pose(
    points2d: np.ndarray,
    shape3d: np.ndarray | None = None,
    *,
    weights: np.ndarray | None = None,
    robust: bool = True,
    iterations: int = 8,
) -> PoseFit:
    """Fit rotation, isotropic scale and 2D translation to each frame's landmarks.

    Parameters
    ----------
    points2d
        ``(T, 68, 2)`` or ``(68, 2)`` px, image y down; NaN for lost points or frames.
    shape3d
        ``(68, 3)`` head-frame face shape, or None for ``MEAN_SHAPE`` (see module docstring).
    weights
        ``(68,)`` or ``(T, 68)`` trust per point; None for ``RIGID_WEIGHTS``.
    robust
        Re-weight each point by its residual (IRLS: Huber for the first steps, then Cauchy),
        so that points moved by expression count less than the rest.
    iterations
        Gauss-Newton steps after the affine start.

    Returns
    -------
    PoseFit
        ``T`` frames (1 for a single ``(68, 2)`` frame). Frames with fewer than 6 finite,
        weighted landmarks are ``valid`` False and carry NaN.

    Raises
    ------
    InvalidInputError
        On wrongly shaped input, a flat or collinear ``shape3d``, or a frame whose landmarks
        are collinear.
    """
    pts, _ = as_frames(points2d, 2, "fit_pose points2d")
    shape = resolve_shape(shape3d)
    base = frame_weights(weights, pts)
    valid = (base > 0).sum(axis=1) >= MIN_POINTS
    # lost frames get a stand-in (the frontal shape) so every frame solves; NaN-ed at the end
    stand_in = shape[None, :, :2] * [[_YUP]]
    q = np.where(base[..., None] > 0, pts * _YUP, stand_in)
    q = np.where(valid[:, None, None], q, stand_in)
    base = np.where(valid[:, None], base, RIGID_WEIGHTS)
    _check_spread(q, base, valid)

    rot, s, t = _affine_start(q, shape, base)
    w = base
    for it in range(max(int(iterations), 0)):
        rot, s, t = _gauss_newton_step(q, shape, w, rot, s, t)
        if robust and it < iterations - 1:
            w = base * _robust_weights(q, shape, base, rot, s, t, cauchy=it >= _HUBER_STEPS)

    flip = s < 0  # -s R equals s Rz(180 deg) R under the projection; keep the scale positive
    rot[flip] = np.diag([-1.0, -1.0, 1.0]) @ rot[flip]
    s = np.abs(s)
    c = np.einsum("tij,nj->tni", rot, shape)
    r2 = ((q - (s[:, None, None] * c[..., :2] + t[:, None])) ** 2).sum(axis=-1)
    residual = np.sqrt((base * r2).sum(axis=1) / base.sum(axis=1))
    nan = ~valid
    rot[nan], s[nan], t[nan], residual[nan] = np.nan, np.nan, np.nan, np.nan
    return PoseFit(rot, s, t * _YUP, residual, valid)
