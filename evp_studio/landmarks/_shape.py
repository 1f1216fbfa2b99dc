"""Canonical normalisation of 68-point tracks and a simple head-pose estimate.

Canonical frame: the frontal view of the 3D mean face (:data:`evp_studio.data.face.MEAN_SHAPE`)
in a unit square, like EVP's landmarks divided by 255 of a 256-px face crop; its landmark box is
0.74 wide and centred at (0.5, 0.58), so it spans about x 0.13-0.87, y 0.22-0.94. Each frame is
mapped there by the similarity transform (scale, rotation, shift; no reflection) that best fits
its rigid points (jaw top, nose, eye corners) to the mean face's: expressions and speech stay in
the normalised points, head position, size and in-plane rotation do not.

Pose, ``(T, 6)`` = yaw, pitch, roll (degrees), tx, ty (px), scale (px per mm), in the convention
of :mod:`evp_studio.data.face.pose`: :func:`evp_studio.geometry.fit_pose` against the mean 3D
face (scaled orthographic, robust to expression); (tx, ty) is where the head origin (between
the ears) projects. Should that fit refuse a frame (collinear points), a plain least-squares
estimate (affine, then the nearest scaled rotation) stands in.
"""

from __future__ import annotations

import logging

import numpy as np

from evp_studio.data.face import MEAN_SHAPE, angles_from_rotation
from evp_studio.errors import InvalidInputError
from evp_studio.geometry import fit_pose

log = logging.getLogger(__name__)

# Points that speech, blinks and expressions leave (nearly) still.
RIGID = np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])
_CANON_WIDTH = 0.74
_CANON_CENTRE = np.array([0.5, 0.58])


def _canonical_mean() -> np.ndarray:
    front = MEAN_SHAPE.points[:, :2].astype(np.float64) * np.array([1.0, -1.0])  # image y down
    lo, hi = front.min(axis=0), front.max(axis=0)
    out = (front - (lo + hi) / 2) * (_CANON_WIDTH / (hi - lo)[0]) + _CANON_CENTRE
    out.setflags(write=False)
    return out


MEAN_FACE_2D = _canonical_mean()  # (68, 2) float64, canonical units


def eye_distance(points: np.ndarray) -> np.ndarray:
    """Distance of the outer eye corners (36, 45), ``(...)`` px, of ``(..., 68, 2)`` points."""
    pts = np.asarray(points, dtype=np.float64)
    return np.asarray(np.linalg.norm(pts[..., 45, :] - pts[..., 36, :], axis=-1))


def similarity_to_mean(points: np.ndarray) -> np.ndarray:
    """Per frame, the similarity mapping the rigid points onto the canonical mean face.

    Parameters
    ----------
    points
        ``(T, 68, 2)`` px; frames with NaN give NaN.

    Returns
    -------
    np.ndarray
        ``(T, 2, 3)`` float64 matrices ``A`` with ``canonical = A[:, :2] @ p + A[:, 2]``.
    """
    src = np.asarray(points, dtype=np.float64)[:, RIGID]
    dst = MEAN_FACE_2D[RIGID]
    src_c = src - src.mean(axis=1, keepdims=True)
    dst_c = dst - dst.mean(axis=0)
    # closed-form 2D Procrustes with scale: a = sum(dot), b = sum(cross) over the points
    a = np.einsum("tni,ni->t", src_c, dst_c)
    b = np.einsum("tn,n->t", src_c[..., 0], dst_c[:, 1]) - np.einsum(
        "tn,n->t", src_c[..., 1], dst_c[:, 0]
    )
    norm = np.einsum("tni,tni->t", src_c, src_c)
    sa, sb = a / norm, b / norm  # s*cos, s*sin
    rot = np.stack([np.stack([sa, -sb], -1), np.stack([sb, sa], -1)], -2)
    shift = dst.mean(axis=0) - np.einsum("tij,tj->ti", rot, src.mean(axis=1))
    return np.concatenate([rot, shift[..., None]], axis=-1)


def normalise_landmarks(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map every frame's landmarks into the canonical mean-face frame.

    Parameters
    ----------
    points
        ``(T, 68, 2)`` px.

    Returns
    -------
    tuple of np.ndarray
        ``(T, 68, 2)`` float32 canonical points, and the ``(T, 2, 3)`` float64 similarity
        matrices used (see :func:`similarity_to_mean`).
    """
    mats = similarity_to_mean(points)
    pts = np.asarray(points, dtype=np.float64)
    out = np.einsum("tij,tnj->tni", mats[:, :, :2], pts) + mats[:, None, :, 2]
    return out.astype(np.float32), mats


def estimate_pose(points: np.ndarray) -> np.ndarray:
    """Scaled orthographic head pose of each frame against the mean 3D face.

    Parameters
    ----------
    points
        ``(T, 68, 2)`` px.

    Returns
    -------
    np.ndarray
        ``(T, 6)`` float32 yaw, pitch, roll (deg), tx, ty (px), scale (px/mm); NaN rows for
        frames with NaN points.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros((0, 6), dtype=np.float32)
    try:
        return fit_pose(pts).as_pose_array().astype(np.float32)
    except InvalidInputError as e:
        log.warning("robust pose fit refused the track (%s); using a least-squares estimate", e)
        return _least_squares_pose(pts)


def _least_squares_pose(points: np.ndarray) -> np.ndarray:
    ref = MEAN_SHAPE.points[RIGID].astype(np.float64)
    ref_mean = ref.mean(axis=0)
    obs = np.asarray(points, dtype=np.float64)[:, RIGID] * np.array([1.0, -1.0])  # y up
    obs_mean = obs.mean(axis=1)
    pinv = np.linalg.pinv(ref - ref_mean)  # (3, N)
    affine = np.einsum("jn,tni->tij", pinv, obs - obs_mean[:, None])  # (T, 2, 3) ~ s R[:2]
    ok = np.isfinite(affine).all(axis=(1, 2))
    pose = np.full((len(affine), 6), np.nan, dtype=np.float32)
    if not ok.any():
        return pose
    u, sv, vt = np.linalg.svd(affine[ok], full_matrices=False)
    rows = u @ vt
    rot = np.concatenate([rows, np.cross(rows[:, 0], rows[:, 1])[:, None]], axis=1)
    scale = sv.mean(axis=1)
    origin = obs_mean[ok] - scale[:, None] * np.einsum("tij,j->ti", rows, ref_mean)
    pose[ok, :3] = angles_from_rotation(rot)
    pose[ok, 3] = origin[:, 0]
    pose[ok, 4] = -origin[:, 1]
    pose[ok, 5] = scale
    return pose
