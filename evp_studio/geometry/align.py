"""Predicted landmarks into the target video: 3D-aware alignment and the direct 2D baseline.

``align_to_target`` is the paper's 3D-aware keypoint alignment (sec. 3.3): the predicted,
pose-free landmarks take the target frame's pose in 3D and are projected (eq. 8), then fitted
to the target's own rigid points and face contour, then smoothed. ``place_2d`` is what Fig. 7
compares it with: the predicted 2D landmarks moved onto the target face by a 2D similarity.
"""

from __future__ import annotations

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.geometry._arrays import (
    RIGID_WEIGHTS,
    apply_similarity,
    as_frames,
    frame_weights,
    resolve_shape,
    similarity_2d,
)
from evp_studio.geometry.lift import from_canonical, reproject
from evp_studio.geometry.pose_fit import PoseFit
from evp_studio.geometry.smoothing import OneEuro, one_euro

# Points that pin the re-projected face onto the target's (the official code uses pupils,
# nose tip and outer brow ends of its 106-point layout): eye corners and nose bridge.
ANCHOR_WEIGHTS = np.zeros(68)
ANCHOR_WEIGHTS[[27, 28, 29, 30, 36, 39, 42, 45]] = 1.0
ANCHOR_WEIGHTS.setflags(write=False)

# How far each jaw point (0-16) is pulled onto the target's own contour: fully beside the ears,
# where the contour follows the skull, not at all where the jaw's opening moves it.
CONTOUR_PROFILE = np.array([1.0, 1.0, 1.0, 0.5] + [0.0] * 9 + [0.5, 1.0, 1.0, 1.0])
CONTOUR_PROFILE.setflags(write=False)

DEFAULT_SMOOTHING = OneEuro()  # 25 fps, the pipeline's internal rate


def _pred_frames(pred: np.ndarray, n_frames: int) -> tuple[np.ndarray, bool]:
    """``pred`` as ``(T, 68, D)`` and whether it is canonical 2D (else head-frame 3D)."""
    dims = np.shape(pred)[-1] if np.ndim(pred) >= 2 else 0
    if dims not in (2, 3):
        raise InvalidInputError(
            f"predicted landmarks: expected (T, 68, 2) canonical or (T, 68, 3) head-frame "
            f"points, got shape {np.shape(pred)}"
        )
    arr, single = as_frames(pred, dims, "predicted landmarks")
    if single:
        arr = np.broadcast_to(arr, (n_frames,) + arr.shape[1:])
    if arr.shape[0] != n_frames:
        raise InvalidInputError(
            f"predicted landmarks: {arr.shape[0]} frames, but the target has {n_frames}"
        )
    return arr, dims == 2


def _face_unit(points: np.ndarray) -> float:
    """Median outer-eye-corner distance (px) over the frames that have both corners."""
    iod = np.linalg.norm(points[:, 45] - points[:, 36], axis=-1)
    iod = iod[np.isfinite(iod) & (iod > 0)]
    return float(np.median(iod)) if iod.size else 1.0


def align_to_target(
    pred: np.ndarray,
    target_fit: PoseFit,
    target_points2d: np.ndarray,
    *,
    shape3d: np.ndarray | None = None,
    anchor: bool = False,
    contour_blend: float = 1.0,
    smooth: OneEuro | None = DEFAULT_SMOOTHING,
) -> np.ndarray:
    """Place predicted landmarks in the target video with the target's head pose (eq. 8).

    Steps per frame: lift the prediction to pose-invariant 3D (``from_canonical``; the depth
    comes from the shape), project it with the target's ``(R_t, s_t, t_t)``, optionally move
    it by the 2D similarity that best fits its eye corners and nose bridge onto the target's
    (the official code's last alignment step), pull the jaw contour beside the ears onto the
    target's contour (``CONTOUR_PROFILE``), then smooth over time.

    Parameters
    ----------
    pred
        ``(T, 68, 2)`` canonical landmarks (``lift`` module docstring), or ``(T, 68, 3)``
        pose-invariant head-frame points; a single ``(68, D)`` frame is used for every frame.
    target_fit
        The target frames' poses, fitted with the same ``shape3d``.
    target_points2d
        ``(T, 68, 2)`` the target frames' detected landmarks, px; NaN where lost.
    shape3d
        ``(68, 3)`` head-frame shape, None for ``MEAN_SHAPE``.
    anchor
        Apply the rigid-point similarity (off by default: with the target's own scale and
        translation, as eq. 8 has it, it only adds the anchor points' noise; it helps where
        the prediction's size or position drifts from the target's).
    contour_blend
        0 keeps the re-projected contour, 1 (default) takes the target's own upper contour.
    smooth
        Zero-phase One-Euro settings (speed in inter-ocular distances per second; set its
        ``fps`` to the track's rate), or None for no smoothing.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64 px; NaN in frames where the target's pose is not valid.

    Raises
    ------
    InvalidInputError
        On wrong shapes, frame counts that disagree or a blend outside [0, 1].
    """
    target, _ = as_frames(target_points2d, 2, "align_to_target target_points2d")
    n = target.shape[0]
    if not 0.0 <= contour_blend <= 1.0:
        raise InvalidInputError(f"contour_blend must be in [0, 1], got {contour_blend!r}")
    shape = resolve_shape(shape3d)
    arr, canonical = _pred_frames(pred, n)
    head = from_canonical(arr, shape) if canonical else arr
    out = reproject(head, target_fit)
    if anchor:
        a, b, ok = similarity_2d(out, target, frame_weights(ANCHOR_WEIGHTS, target))
        out = np.where(ok[:, None, None], apply_similarity(out, a, b), out)
    if contour_blend > 0:
        pull = contour_blend * CONTOUR_PROFILE[None, :, None] * (target[:, :17] - out[:, :17])
        out[:, :17] += np.where(np.isfinite(pull), pull, 0.0)
    out[~target_fit.valid] = np.nan
    if smooth is not None:
        out = one_euro(out, smooth, unit=_face_unit(target))
    return out


def place_2d(
    pred: np.ndarray, target_points2d: np.ndarray, *, weights: np.ndarray | None = None
) -> np.ndarray:
    """The direct 2D baseline: a per-frame 2D similarity from the prediction onto the target.

    Parameters
    ----------
    pred
        ``(T, 68, 2)`` predicted landmarks (canonical or any 2D frame with y down), or one
        ``(68, 2)`` frame for every target frame.
    target_points2d
        ``(T, 68, 2)`` the target frames' landmarks, px; NaN where lost.
    weights
        ``(68,)`` trust per point for the fit; None for ``RIGID_WEIGHTS``.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64 px; NaN in frames without enough target points.

    Raises
    ------
    InvalidInputError
        On wrong shapes or frame counts that disagree.
    """
    target, _ = as_frames(target_points2d, 2, "place_2d target_points2d")
    src, single = as_frames(pred, 2, "place_2d pred")
    if single:
        src = np.broadcast_to(src, target.shape)
    if src.shape[0] != target.shape[0]:
        raise InvalidInputError(
            f"place_2d: {src.shape[0]} predicted frames, but the target has {target.shape[0]}"
        )
    w = frame_weights(RIGID_WEIGHTS if weights is None else weights, target)
    w = w * np.isfinite(src).all(axis=-1)
    a, b, ok = similarity_2d(src, target, w)
    out = apply_similarity(src, a, b)
    out[~ok] = np.nan
    return out
