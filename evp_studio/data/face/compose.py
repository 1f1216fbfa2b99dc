"""One call from an actor, a mouth track, an expression, blinks and a pose to landmarks.

The corpus writer's order: identity -> mouth track from phonemes -> expression -> blink ->
pose -> project -> render. ``deform_face`` does the head-frame part, ``animate`` adds the camera.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from evp_studio.data.face.articulation import N_PARAMS, apply_mouth_batch
from evp_studio.data.face.expression import expression_mouth_batch, expression_offsets_batch
from evp_studio.data.face.pose import Pose, apply_blink, posed_points
from evp_studio.data.face.shape import FaceShape
from evp_studio.errors import InvalidInputError


class AnimatedFace(NamedTuple):
    """Landmarks of an animated clip; unpacks as ``points3d, landmarks2d, pose``."""

    points3d: np.ndarray  # (T, 68, 3) float32: u, v px (image y down), depth px (nearer > 0)
    landmarks2d: np.ndarray  # (T, 68, 2) float32 px, = points3d[..., :2]
    pose: np.ndarray  # (T, 6) float32: yaw, pitch, roll deg, tx, ty px, scale px/mm


def _per_frame(values: np.ndarray | float, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float32)
    if arr.ndim == 0:
        return np.full(n, float(arr), dtype=np.float32)
    if arr.shape != (n,):
        raise InvalidInputError(f"{name}: expected a scalar or ({n},) values, got {arr.shape}")
    return arr


def deform_face(
    shape: FaceShape,
    mouth_params: np.ndarray,
    emotion: str,
    intensity: float | np.ndarray,
    blink: np.ndarray | None = None,
    *,
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Speech, expression and blinks on an actor, in the head frame.

    ``apply_mouth(shape, mouth + expression_mouth) + expression_offsets (+ offsets)``, then
    the blink closes the lids.

    Parameters
    ----------
    shape
        The actor.
    mouth_params
        ``(T, len(MOUTH_PARAMS))`` from ``mouth_track``.
    emotion
        One of ``EMOTIONS``.
    intensity
        Scalar or ``(T,)`` in [0, 1] (``level_intensity`` for MEAD levels).
    blink
        ``(T,)`` eyelid closure in [0, 1], or None for open eyes.
    offsets
        Optional extra ``(T, 68, 3)`` or ``(68, 3)`` displacements, mm (e.g. a blend of
        emotions built with ``expression_offsets_batch``); their mouth part is not applied.

    Returns
    -------
    np.ndarray
        ``(T, 68, 3)`` float32 mm, head frame.

    Raises
    ------
    InvalidInputError
        If the per-frame inputs disagree on T, or on a bad emotion or intensity.
    """
    mouth = np.asarray(mouth_params, dtype=np.float32)
    if mouth.ndim != 2 or mouth.shape[1] != N_PARAMS:
        raise InvalidInputError(
            f"deform_face: mouth params must be (T, {N_PARAMS}), got {mouth.shape}"
        )
    n = mouth.shape[0]
    inten = _per_frame(intensity, n, "deform_face intensity")
    pts = apply_mouth_batch(shape.points, mouth + expression_mouth_batch(emotion, inten))
    pts = pts + expression_offsets_batch(emotion, inten)
    if offsets is not None:
        extra = np.asarray(offsets, dtype=np.float32)
        if extra.shape not in ((n, 68, 3), (68, 3)):
            raise InvalidInputError(f"deform_face: offsets {extra.shape} do not match {n} frames")
        pts = pts + extra
    if blink is not None:
        pts = apply_blink(pts, _per_frame(blink, n, "deform_face blink"))
    return pts.astype(np.float32)


def animate(
    shape: FaceShape,
    mouth_params: np.ndarray,
    emotion: str,
    intensity: float | np.ndarray,
    pose: Pose | np.ndarray,
    blink: np.ndarray | None = None,
    *,
    offsets: np.ndarray | None = None,
) -> AnimatedFace:
    """Animate an actor and place it in the image.

    Parameters
    ----------
    shape
        The actor.
    mouth_params
        ``(T, len(MOUTH_PARAMS))``.
    emotion, intensity
        As in ``deform_face``.
    pose
        ``Pose`` of length T or ``(T, 6)``.
    blink
        ``(T,)`` or None.
    offsets
        Extra head-frame displacements, as in ``deform_face``.

    Returns
    -------
    AnimatedFace
        Posed 3D points, 2D landmarks and the pose array; unpacks as a 3-tuple.

    Raises
    ------
    InvalidInputError
        If the pose length differs from the mouth track's, or as ``deform_face``.
    """
    p = pose if isinstance(pose, Pose) else Pose.from_array(pose)
    pts = deform_face(shape, mouth_params, emotion, intensity, blink, offsets=offsets)
    posed = posed_points(pts, p)
    return AnimatedFace(posed, np.ascontiguousarray(posed[..., :2]), p.as_array())
