"""Head parts beyond the 68 landmarks (skull, hair, hairline, ears, neck), placed by a pose fit.

The renderer sees only 2D landmarks, so it fits a scaled orthographic pose to the rigid points
(jaw top, nose bridge, eye corners) against the actor's neutral 3D face (or the mean face) and
projects these 3D parts with it. The
parts are hand-made in the head frame of ``shape.py`` (mm): the skull is an ellipsoid with the
head breadth (~152 mm) and length (~195 mm) of adult norms, centred behind the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Points that speech, blinks and expressions leave (nearly) still: jaw top, nose bridge, eye
# corners (AU6/AU7 lift the outer corners by under 1 mm).
RIGID = np.array([0, 1, 2, 14, 15, 16, 27, 28, 29, 36, 39, 42, 45])

SKULL_CENTRE = np.array([0.0, 25.0, -2.0])
SKULL_RADII = np.array([76.0, 100.0, 98.0])

HAIR_STYLES: tuple[str, ...] = ("short", "medium", "long")
# Hair is kept where  y - k * z >= y0  (head frame): it reaches lower at the back of the head.
_HAIR_CUT = {"short": (0.42, -12.0), "medium": (0.3, -72.0), "long": (0.3, -72.0)}


@dataclass(frozen=True)
class FittedPose:
    """Scaled orthographic pose fitted to 2D landmarks.

    Parameters
    ----------
    rotation
        ``(3, 3)`` head-to-camera rotation (y up).
    scale
        px per mm.
    origin
        ``(2,)`` px, image position of the head origin (image y down).
    """

    rotation: np.ndarray
    scale: float
    origin: np.ndarray

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        """Project ``(N, 3)`` head-frame mm to ``(N, 2)`` px."""
        cam = pts @ self.rotation[:2].T
        return np.stack(
            [self.origin[0] + self.scale * cam[:, 0], self.origin[1] - self.scale * cam[:, 1]], 1
        )

    def facing(self, direction: np.ndarray) -> float:
        """Camera-z component of a head-frame unit vector (1 = towards the camera)."""
        return float(self.rotation[2] @ direction)


def fit_pose(lmk: np.ndarray, reference: np.ndarray) -> FittedPose:
    """Fit rotation, scale and translation of ``reference`` ``(68, 3)`` mm to the rigid
    landmarks of ``lmk`` ``(68, 2)`` px (least squares, then the nearest scaled rotation)."""
    ref = reference[RIGID].astype(np.float64)
    ref_mean = ref.mean(axis=0)
    obs = lmk[RIGID].astype(np.float64) * np.array([1.0, -1.0])  # y up
    obs_mean = obs.mean(axis=0)
    affine = (np.linalg.pinv(ref - ref_mean) @ (obs - obs_mean)).T  # (2, 3), ~ s * R[:2]
    u, sv, vt = np.linalg.svd(affine, full_matrices=False)
    rows = u @ vt
    rot = np.vstack([rows, np.cross(rows[0], rows[1])])
    s = float(sv.mean())
    t = obs_mean - s * rows @ ref_mean
    return FittedPose(rot, s, np.array([t[0], -t[1]]))


def _ellipsoid_samples(centre: np.ndarray, radii: np.ndarray, k: float, y0: float) -> np.ndarray:
    """Surface points of an ellipsoid where ``y - k z >= y0`` (dense enough for a hull)."""
    th, ph = np.meshgrid(np.linspace(0, np.pi, 37), np.linspace(0, 2 * np.pi, 36, endpoint=False))
    unit = np.stack([np.sin(th) * np.cos(ph), np.cos(th), np.sin(th) * np.sin(ph)], -1).reshape(
        -1, 3
    )
    pts = centre + unit * radii
    return pts[pts[:, 1] - k * pts[:, 2] >= y0]


@dataclass(frozen=True)
class HeadModel:
    """3D points of the hair volume, hairline and ears for one appearance (head frame, mm)."""

    hair: np.ndarray  # (N, 3) points whose projected convex hull is the hair
    hairline: np.ndarray  # (M, 3) forehead hairline, image-left temple to image-right temple
    ears: tuple[np.ndarray, np.ndarray]  # (16, 3) outline each, image-left ear first
    long_hair: bool


def head_model(style: str, volume: float) -> HeadModel:
    """Build the head parts for a hair style (``HAIR_STYLES``) and volume (~0.9-1.2)."""
    radii = SKULL_RADII * volume + np.array([5.0, 8.0, 6.0])
    k, y0 = _HAIR_CUT[style]
    hair = _ellipsoid_samples(SKULL_CENTRE + np.array([0.0, 3.0, -3.0]), radii, k, y0)
    if style == "long":
        ys, zs = np.meshgrid([-60.0, -120.0, -175.0], [-70.0, -20.0, 15.0])
        side = np.stack([np.full(ys.size, radii[0] + 2.0), ys.ravel(), zs.ravel()], 1)
        hair = np.vstack([hair, side, side * np.array([-1.0, 1.0, 1.0])])
    xy = np.array([[-70, 4], [-68, 34], [-58, 62], [-40, 78], [-20, 86], [0, 88]], dtype=np.float64)
    xy = np.vstack([xy, xy[-2::-1] * np.array([-1.0, 1.0])])
    rel = (xy - SKULL_CENTRE[:2]) / SKULL_RADII[:2]
    z = SKULL_CENTRE[2] + SKULL_RADII[2] * np.sqrt(np.clip(1.0 - (rel**2).sum(1), 0.0, None))
    hairline = np.column_stack([xy, z + 2.0])
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ears = []
    for sign in (-1.0, 1.0):
        back = np.array([sign * 0.42, 0.0, -0.9])  # the helix flares outwards (~25 deg)
        centre = np.array([sign * 73.0, -8.0, -8.0])
        ears.append(
            centre + np.outer(29.0 * np.sin(t), [0, 1, 0]) + np.outer(15.0 * np.cos(t), back)
        )
    return HeadModel(hair, hairline, (ears[0], ears[1]), style == "long")
