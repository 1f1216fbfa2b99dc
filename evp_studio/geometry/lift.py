"""Pose-invariant 3D landmarks, re-projection (eq. 8) and the canonical landmark space.

Lifting 2D to 3D: a landmark seen at image point ``p`` under pose ``(R, s, t)`` lies on the
viewing ray through ``p``; ``frontalise`` picks the point of that ray at the depth the face
shape has there. That is the smallest change of the shape that explains the 2D landmarks
(expression, speech and identity differences move points across the ray, never along it).

Canonical space (what the audio-to-landmark model predicts in): the frontal view of the
pose-free face, normalised by the face shape's eyes::

    x = (X - ex) / iod,   y = -(Y - ey) / iod

with ``(X, Y)`` head-frame coordinates, ``(ex, ey)`` the midpoint of the shape's outer eye
corners (36, 45) and ``iod`` their distance. So x points to the image right, y down (as in
pixels), the eye-corner midpoint is the origin and the shape's outer-corner distance is 1.
The map is fixed per shape, so ``from_canonical`` inverts ``to_canonical`` exactly in x, y.
"""

from __future__ import annotations

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.geometry._arrays import as_frames, resolve_shape
from evp_studio.geometry.pose_fit import PoseFit, fit_pose

OUTER_EYE_CORNERS = (36, 45)


def _check_fit(fit: PoseFit, n_frames: int, name: str) -> None:
    if len(fit) != n_frames:
        raise InvalidInputError(f"{name}: {n_frames} frames of landmarks but {len(fit)} poses")


def reproject(points3d: np.ndarray, fit: PoseFit) -> np.ndarray:
    """Project head-frame 3D landmarks with a pose: ``l = s * Pr * R * L + t`` (eq. 8).

    Parameters
    ----------
    points3d
        ``(T, 68, 3)`` head-frame points (units of the shape the pose was fitted with), or
        ``(68, 3)`` to pose one shape in every frame.
    fit
        ``T`` poses, e.g. the target video's.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64 px, image y down; NaN in frames whose pose is not valid.

    Raises
    ------
    InvalidInputError
        On a wrong shape or a frame count that differs from the pose's.
    """
    pts, single = as_frames(points3d, 3, "reproject points3d")
    if single:
        pts = np.broadcast_to(pts, (len(fit),) + pts.shape[1:])
    _check_fit(fit, pts.shape[0], "reproject")
    cam = np.einsum("tij,tnj->tni", fit.rotation, pts)
    s = fit.scale[:, None]
    return np.stack(
        [
            fit.translation[:, 0, None] + s * cam[..., 0],
            fit.translation[:, 1, None] - s * cam[..., 1],
        ],
        axis=-1,
    )


def frontalise(points2d: np.ndarray, fit: PoseFit, shape3d: np.ndarray | None = None) -> np.ndarray:
    """Pose-invariant 3D landmarks: lift each 2D point to the shape's depth, undo the pose.

    Parameters
    ----------
    points2d
        ``(T, 68, 2)`` or ``(68, 2)`` px, image y down.
    fit
        The poses of those frames (from ``fit_pose`` with the same shape).
    shape3d
        ``(68, 3)`` head-frame shape that supplies the depths, None for ``MEAN_SHAPE``.

    Returns
    -------
    np.ndarray
        ``(T, 68, 3)`` (or ``(68, 3)`` for one frame) float64 head-frame points in the shape's
        units; ``reproject(frontalise(p, fit), fit)`` gives ``p`` back. NaN for lost points
        and for frames whose pose is not valid.

    Raises
    ------
    InvalidInputError
        On wrong shapes or a frame count that differs from the pose's.
    """
    pts, single = as_frames(points2d, 2, "frontalise points2d")
    _check_fit(fit, pts.shape[0], "frontalise")
    shape = resolve_shape(shape3d)
    xy = (pts - fit.translation[:, None]) / fit.scale[:, None, None]
    xy[..., 1] *= -1.0  # camera y points up
    depth = np.einsum("tj,nj->tn", fit.rotation[:, 2], shape)
    cam = np.concatenate([xy, depth[..., None]], axis=-1)
    head = np.einsum("tji,tnj->tni", fit.rotation, cam)  # R^T (R is orthonormal)
    return head[0] if single else head


def _canonical_frame(shape: np.ndarray) -> tuple[np.ndarray, float]:
    """Eye-corner midpoint ``(2,)`` and outer-corner distance of a shape, x and y only."""
    a, b = shape[OUTER_EYE_CORNERS[0], :2], shape[OUTER_EYE_CORNERS[1], :2]
    return 0.5 * (a + b), float(np.linalg.norm(b - a))


def to_canonical(
    points2d: np.ndarray, fit: PoseFit | None = None, shape3d: np.ndarray | None = None
) -> np.ndarray:
    """Pose-free, normalised 2D landmarks (see the module docstring for the space).

    Parameters
    ----------
    points2d
        ``(T, 68, 2)`` or ``(68, 2)`` px, image y down.
    fit
        Their poses; None fits them with ``fit_pose``.
    shape3d
        ``(68, 3)`` head-frame shape, None for ``MEAN_SHAPE``; the same one the fit used.

    Returns
    -------
    np.ndarray
        Same shape as ``points2d``, float64, canonical units; NaN where the face was lost.

    Raises
    ------
    InvalidInputError
        As ``fit_pose`` and ``frontalise``.
    """
    shape = resolve_shape(shape3d)
    if fit is None:
        fit = fit_pose(points2d, shape)
    head = frontalise(points2d, fit, shape)
    centre, iod = _canonical_frame(shape)
    out = (head[..., :2] - centre) / iod
    out[..., 1] *= -1.0
    return out


def from_canonical(canonical: np.ndarray, shape3d: np.ndarray | None = None) -> np.ndarray:
    """Pose-invariant 3D landmarks of canonical 2D ones (the depth comes from the shape).

    Parameters
    ----------
    canonical
        ``(T, 68, 2)`` or ``(68, 2)`` canonical landmarks, e.g. audio-to-landmark predictions.
    shape3d
        ``(68, 3)`` head-frame shape, None for ``MEAN_SHAPE``.

    Returns
    -------
    np.ndarray
        ``(T, 68, 3)`` (or ``(68, 3)``) float64 head-frame points in the shape's units,
        ready for ``reproject`` with a target's poses.

    Raises
    ------
    InvalidInputError
        On a wrong shape.
    """
    pts, single = as_frames(canonical, 2, "from_canonical canonical")
    shape = resolve_shape(shape3d)
    centre, iod = _canonical_frame(shape)
    xy = pts * [1.0, -1.0] * iod + centre
    depth = np.broadcast_to(shape[:, 2], xy.shape[:2])
    head = np.concatenate([xy, depth[..., None]], axis=-1)
    return head[0] if single else head
