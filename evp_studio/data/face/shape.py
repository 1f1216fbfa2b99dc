"""A hand-made 3D mean face in the 68-point iBUG layout, and random actors around it.

Head-centred frame, millimetres: x to the image right (the subject's left), y up, z towards
the camera; the origin is the midpoint between the ear canals (tragion level). The numbers
below are set by hand from adult anthropometric norms, averaged over men and women:

* Farkas, *Anthropometry of the Head and Face* (2nd ed., 1994) and Farkas, Katic & Forrest,
  "International anthropometric study of facial morphology" (J Craniofac Surg 16, 2005):
  intercanthal width en-en 32, biocular width ex-ex 90, eye fissure length 29-30, nose width
  al-al ~34 (the iBUG nostril points sit ~26 apart), nose height n-sn 50, upper lip sn-sto 22,
  lower face sto-gn 49, mouth width ch-ch 52, upper/lower vermilion 8/10, face height n-gn 121,
  bizygomatic width ~135, bigonial width ~100 (all mm).
* Depths follow the profile norms of the same sources: nasal tip protrusion sn-prn ~18, the
  outer eye corner ~14 behind the inner one, the mouth corners ~18 behind the lip midline,
  and the tragion-nasion distance (~110 mm), which puts the nasion ~85 mm in front of the ears.

The jaw contour points are the fixed 3D points a 2D annotator marks on a frontal face; they curve
back in depth towards the ears, and 0/16 sit 140 mm apart (the outline at eye level, temples
included, a little wider than the bony bizygomatic width).

Identity variation is a small linear basis of named, hand-made displacement fields (face width,
jaw width, nose length, ...), each about one population standard deviation at coefficient 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evp_studio.errors import InvalidInputError

N_POINTS = 68

# Left-right mirror permutation of the iBUG 68 layout: MIRROR[i] is the point that i becomes
# when the face is flipped horizontally.
MIRROR = np.array(
    [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]  # jaw 0-16
    + [26, 25, 24, 23, 22, 21, 20, 19, 18, 17]  # brows 17-26
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]  # nose 27-35
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]  # eyes 36-47
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lip 48-59
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner lip 60-67
    dtype=np.intp,
)

# Points on the image-left half (x < 0) and the midline, (x, y, z) mm; the other half is mirrored.
_HALF_FACE: dict[int, tuple[float, float, float]] = {
    # jaw contour, from beside the right ear (0) down to the chin (8)
    0: (-70.0, 10.0, 22.0),
    1: (-69.0, -9.0, 26.0),
    2: (-67.0, -28.0, 32.0),
    3: (-63.0, -46.0, 41.0),
    4: (-56.0, -63.0, 52.0),
    5: (-46.0, -78.0, 64.0),
    6: (-34.0, -90.0, 75.0),
    7: (-18.0, -99.0, 83.0),
    8: (0.0, -103.0, 87.0),
    # right brow, outer (17) to inner (21); the brow ridge is forward of the eyes
    17: (-57.0, 26.0, 60.0),
    18: (-48.0, 32.0, 70.0),
    19: (-37.0, 34.5, 78.0),
    20: (-26.0, 34.0, 84.0),
    21: (-14.0, 31.0, 88.0),
    # nose bridge (27 nasion ... 30 tip) and the nostril base
    27: (0.0, 18.0, 86.0),
    28: (0.0, 5.0, 91.0),
    29: (0.0, -8.0, 97.0),
    30: (0.0, -20.0, 106.0),
    31: (-13.0, -28.0, 80.0),
    32: (-7.0, -31.0, 86.0),
    33: (0.0, -32.0, 88.0),
    # right eye: outer corner 36, upper lid 37-38, inner corner 39, lower lid 40-41
    36: (-45.0, 11.0, 60.0),
    37: (-38.0, 15.0, 70.0),
    38: (-26.0, 15.5, 74.0),
    39: (-16.0, 10.0, 74.0),
    40: (-26.0, 6.0, 73.0),
    41: (-38.0, 6.5, 69.0),
    # outer lip: corner 48, upper 49-51, lower 57-59; mouth closed, stomion at y = -54
    48: (-26.0, -54.0, 72.0),
    49: (-16.0, -48.0, 83.0),
    50: (-6.0, -45.0, 89.0),
    51: (0.0, -46.0, 90.0),
    57: (0.0, -64.0, 88.0),
    58: (-7.0, -63.5, 87.0),
    59: (-15.0, -61.0, 82.0),
    # inner lip: corner 60, upper 61-62, lower 66-67 (upper and lower coincide when closed)
    60: (-22.0, -54.0, 74.0),
    61: (-8.0, -54.0, 86.0),
    62: (0.0, -54.0, 88.0),
    66: (0.0, -54.0, 88.0),
    67: (-8.0, -54.0, 86.0),
}


def _build_mean() -> np.ndarray:
    pts = np.full((N_POINTS, 3), np.nan, dtype=np.float64)
    for i, xyz in _HALF_FACE.items():
        pts[i] = xyz
    for i, xyz in _HALF_FACE.items():
        j = MIRROR[i]
        if j != i:
            pts[j] = (-xyz[0], xyz[1], xyz[2])
    if np.isnan(pts).any():  # a table error, caught at import
        raise RuntimeError("mean face table misses points")
    return pts.astype(np.float32)


@dataclass(frozen=True)
class FaceShape:
    """The neutral 3D landmarks of one actor.

    Parameters
    ----------
    points
        ``(68, 3)`` float32, mm, head-centred frame (x right, y up, z towards the camera).
    """

    points: np.ndarray  # (68, 3) float32, mm

    def __post_init__(self) -> None:
        pts = np.asarray(self.points)
        if pts.shape != (N_POINTS, 3) or not np.isfinite(pts).all():
            raise InvalidInputError(
                f"FaceShape.points: expected finite (68, 3) array, got shape {pts.shape}"
            )
        object.__setattr__(self, "points", pts.astype(np.float32, copy=True))
        self.points.setflags(write=False)


MEAN_SHAPE = FaceShape(_build_mean())

IDENTITY_BASIS_NAMES: tuple[str, ...] = (
    "face_width",
    "face_length",
    "jaw_width",
    "chin",
    "nose_length",
    "nose_width",
    "eye_spacing",
    "eye_size",
    "brow_height",
    "lip_thickness",
    "mouth_width",
    "asymmetry",
)

_JAW = np.arange(0, 17)
_BROWS = np.arange(17, 27)
_EYE_R = np.arange(36, 42)
_EYE_L = np.arange(42, 48)
_MOUTH = np.arange(48, 68)


def _build_basis(mean: np.ndarray) -> np.ndarray:
    """Hand-made identity fields, ``(K, 68, 3)`` mm at coefficient 1 (about one SD)."""
    x, y = mean[:, 0], mean[:, 1]
    basis = np.zeros((len(IDENTITY_BASIS_NAMES), N_POINTS, 3), dtype=np.float64)
    b = dict(zip(IDENTITY_BASIS_NAMES, basis))
    # face width: zy-zy SD ~5 mm; outer points move most, inner features a little
    b["face_width"][:, 0] = 0.02 * x
    b["face_width"][_JAW, 0] = 0.04 * x[_JAW]
    b["face_width"][_BROWS, 0] = 0.03 * x[_BROWS]
    # face length: below the eye line, n-gn SD ~6 mm at the chin
    below = np.clip(10.0 - y, 0.0, None)
    b["face_length"][:, 1] = -0.05 * below
    # jaw width: go-go SD ~5 mm, zero at the ears and the chin
    jaw_w = np.array(
        [0, 0.2, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0, 0.5, 0.8, 1.0, 1.0, 0.8, 0.5, 0.2, 0]
    )
    b["jaw_width"][_JAW, 0] = 0.06 * x[_JAW] * jaw_w
    # chin: longer and more protruding
    b["chin"][[6, 7, 8, 9, 10], 1] = [-1.0, -2.0, -3.0, -2.0, -1.0]
    b["chin"][[6, 7, 8, 9, 10], 2] = [1.0, 2.0, 3.0, 2.0, 1.0]
    # nose length: the tip and the nostril base move down, the tip a little forward
    b["nose_length"][[28, 29, 30], 1] = [-0.8, -1.6, -3.0]
    b["nose_length"][30, 2] = 2.0
    b["nose_length"][31:36, 1] = -3.0
    b["nose_length"][31:36, 2] = 1.0
    # nose width: nostril wings out
    b["nose_width"][31:36, 0] = 0.18 * x[31:36]
    # eye spacing: the eyes (and brows, less) move apart
    b["eye_spacing"][_EYE_R, 0] = -1.8
    b["eye_spacing"][_EYE_L, 0] = 1.8
    b["eye_spacing"][_BROWS, 0] = 1.0 * np.sign(x[_BROWS])
    # eye size: scale about each eye's centre by 10 %
    for eye in (_EYE_R, _EYE_L):
        b["eye_size"][eye] = 0.10 * (mean[eye] - mean[eye].mean(axis=0))
    # brow height: the outer brow varies more than the inner
    b["brow_height"][_BROWS, 1] = np.array([3.0, 2.6, 2.3, 2.0, 1.8, 1.8, 2.0, 2.3, 2.6, 3.0])
    # lip thickness: outer vermilion edges away from the stomion (upper and lower)
    b["lip_thickness"][[49, 50, 51, 52, 53], 1] = [1.0, 1.5, 1.5, 1.5, 1.0]
    b["lip_thickness"][[55, 56, 57, 58, 59], 1] = [-1.2, -1.8, -1.8, -1.8, -1.2]
    # mouth width: ch-ch SD ~3.5 mm
    b["mouth_width"][_MOUTH, 0] = 0.07 * x[_MOUTH]
    # asymmetry: the subject's left side (x > 0) sits higher, the lower midline drifts left
    side = np.clip(x / 70.0, 0.0, None)
    b["asymmetry"][:, 1] = 1.5 * side
    lower = np.clip((-20.0 - y) / 80.0, 0.0, 1.0)  # 0 above the nose tip, 1 at the chin
    b["asymmetry"][:, 0] = 1.5 * lower
    return basis.astype(np.float32)


IDENTITY_BASIS = _build_basis(MEAN_SHAPE.points.astype(np.float64))
IDENTITY_BASIS.setflags(write=False)

# Standard deviation of each coefficient; asymmetry is kept subtle.
_COEF_SD = np.array([1.0] * (len(IDENTITY_BASIS_NAMES) - 1) + [0.6], dtype=np.float64)


def shape_from_coefficients(coefficients: np.ndarray) -> FaceShape:
    """Build an actor from identity coefficients.

    Parameters
    ----------
    coefficients
        ``(K,)`` weights of the fields in ``IDENTITY_BASIS_NAMES`` (1 ~ one population SD).

    Returns
    -------
    FaceShape
        ``MEAN_SHAPE + sum_k c_k * IDENTITY_BASIS[k]``.

    Raises
    ------
    InvalidInputError
        If the coefficient vector has the wrong length or is not finite.
    """
    c = np.asarray(coefficients, dtype=np.float64)
    if c.shape != (len(IDENTITY_BASIS_NAMES),) or not np.isfinite(c).all():
        raise InvalidInputError(
            f"identity coefficients: expected {len(IDENTITY_BASIS_NAMES)} finite values, "
            f"got shape {c.shape}"
        )
    pts = MEAN_SHAPE.points + np.tensordot(c, IDENTITY_BASIS, axes=1)
    return FaceShape(pts.astype(np.float32))


def identity_shape(rng: np.random.Generator) -> FaceShape:
    """Draw a random actor.

    Parameters
    ----------
    rng
        Source of randomness; the same seed gives the same actor.

    Returns
    -------
    FaceShape
        The mean face plus the identity fields with coefficients ~ N(0, SD), clipped to
        +-2.2 SD so every actor stays plausible.
    """
    c = np.clip(rng.standard_normal(len(IDENTITY_BASIS_NAMES)), -2.2, 2.2) * _COEF_SD
    return shape_from_coefficients(c)
