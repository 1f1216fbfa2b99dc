"""Landmark metrics of the paper's Table 1: LD and LVD on the mouth (M-) and the face (F-).

The paper (sec. 4.1): "we extract facial landmarks from the aligned result sequences and the
ground truth sequences. The alignment is also for compensating head motions. [...] LD
represents the average Euclidean distance between generated and recorded landmarks. Velocity
means the difference of landmark locations between consecutive frames, so LVD represents the
average velocity differences of landmark motions between two sequences."

How this module does it, for 68-point iBUG landmarks ``(T, 68, 2)`` in pixels:

1. Face frame. Every ground-truth frame is moved by the similarity that puts its outer eye
   corners (points 36 and 45) at ``(-50, 0)`` and ``(+50, 0)``: the eyes are level, their
   midpoint is the origin and their distance is :data:`FACE_SIZE_PX` = 100 px. This removes
   the recorded head's in-plane motion and fixes the unit of every metric.
2. Alignment. Every predicted frame is moved onto its normalised ground-truth frame by the
   least-squares similarity (Umeyama 1991: rotation, isotropic scale, translation) fitted on
   :data:`RIGID_POINTS` only: eye corners, nose bridge and the jaw ends at ear level. The
   mouth, brows and chin are left out, so the fit compensates head pose and framing without
   absorbing (hiding) mouth or expression errors.
3. LD = mean over frames *and* points of the Euclidean distance between aligned predicted and
   normalised ground-truth points (an average over points, as the paper says, not the
   per-frame sum over points of ATVGnet's LMD). LVD = the same mean on the frame-to-frame
   velocities ``x[t+1] - x[t]``.

Units: LD is in pixels of a face whose outer-eye-corner distance is 100 px; LVD in the same
pixels per frame (at the clip's frame rate; the paper's clips are 25 fps).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from evp_studio.errors import InvalidInputError

#: Distance between the outer eye corners (36, 45) after normalisation, px.
FACE_SIZE_PX = 100.0
#: Points that move with the skull, not with speech or expression: jaw ends at ear level
#: (0, 16), nose bridge (27-30), eye corners (36, 39, 42, 45).
RIGID_POINTS: tuple[int, ...] = (0, 16, 27, 28, 29, 30, 36, 39, 42, 45)
#: Outer and inner lip, 20 points.
MOUTH_POINTS: tuple[int, ...] = tuple(range(48, 68))
#: All 68 points.
FACE_POINTS: tuple[int, ...] = tuple(range(68))
Region = Literal["mouth", "face"]
REGIONS: dict[str, tuple[int, ...]] = {"mouth": MOUTH_POINTS, "face": FACE_POINTS}
_OUTER_EYE_CORNERS = (36, 45)


def check_landmarks(array: np.ndarray, name: str) -> np.ndarray:
    """Return ``array`` as float64 after checking it is a finite ``(T, 68, 2)`` sequence.

    Parameters
    ----------
    array
        Candidate landmark sequence.
    name
        What it is (a file name or "pred"/"gt"), used in the error message.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64 copy.

    Raises
    ------
    InvalidInputError
        When the shape is not ``(T, 68, 2)`` with T >= 1 or a value is not finite.
    """
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (68, 2) or arr.shape[0] < 1:
        raise InvalidInputError(f"{name}: landmarks have shape {arr.shape}, expected (T, 68, 2)")
    bad = ~np.isfinite(arr).all(axis=(1, 2))
    if bad.any():
        raise InvalidInputError(
            f"{name}: landmarks of {int(bad.sum())} frame(s) are not finite "
            f"(first: frame {int(np.argmax(bad))})"
        )
    return arr


def _check_pair(
    pred: np.ndarray, gt: np.ndarray, names: tuple[str, str] = ("pred", "gt")
) -> tuple[np.ndarray, np.ndarray]:
    p = check_landmarks(pred, names[0])
    g = check_landmarks(gt, names[1])
    if p.shape[0] != g.shape[0]:
        raise InvalidInputError(
            f"{names[0]} has {p.shape[0]} frames of landmarks and {names[1]} {g.shape[0]}; "
            "they must match"
        )
    return p, g


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity from ``src`` to ``dst`` points, per frame (Umeyama 1991).

    Parameters
    ----------
    src, dst
        ``(T, K, 2)`` corresponding points, K >= 2.

    Returns
    -------
    scale : np.ndarray
        ``(T,)`` isotropic scale.
    rotation : np.ndarray
        ``(T, 2, 2)`` proper rotation (no reflection).
    translation : np.ndarray
        ``(T, 2)``; ``dst ~ scale * src @ rotation.T + translation``.

    Raises
    ------
    InvalidInputError
        When the source points of a frame all coincide (no scale can be fitted).
    """
    mu_s = src.mean(axis=1, keepdims=True)
    mu_d = dst.mean(axis=1, keepdims=True)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum(axis=(1, 2)) / src.shape[1]
    if (var_s <= 1e-12).any():
        raise InvalidInputError(
            f"landmarks of frame {int(np.argmax(var_s <= 1e-12))} collapse to one point; "
            "no alignment is possible"
        )
    cov = np.einsum("tki,tkj->tij", d0, s0) / src.shape[1]  # (T, 2, 2) dst x src
    u, sig, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt))
    sign[sign == 0] = 1.0
    fix = np.stack([np.ones_like(sign), sign], axis=-1)  # diag(1, det) keeps a rotation
    rotation = (u * fix[:, None, :]) @ vt
    scale = (sig * fix).sum(axis=1) / var_s
    translation = mu_d[:, 0] - scale[:, None] * np.einsum("tij,tj->ti", rotation, mu_s[:, 0])
    return scale, rotation, translation


def apply_similarity(
    points: np.ndarray, scale: np.ndarray, rotation: np.ndarray, translation: np.ndarray
) -> np.ndarray:
    """Apply per-frame similarities from :func:`fit_similarity` to ``(T, N, 2)`` points."""
    return (
        scale[:, None, None] * np.einsum("tij,tnj->tni", rotation, points) + translation[:, None, :]
    )


def similarity_align(
    src: np.ndarray, dst: np.ndarray, *, points: tuple[int, ...] = RIGID_POINTS
) -> np.ndarray:
    """Move every frame of ``src`` onto ``dst`` by the similarity fitted on ``points``.

    Parameters
    ----------
    src, dst
        ``(T, 68, 2)`` landmark sequences with the same T.
    points
        Indices the similarity is fitted on; all 68 points are then moved by it.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64, ``src`` in the coordinates of ``dst``.

    Raises
    ------
    InvalidInputError
        When a shape is wrong, T differs, a value is not finite or a frame is degenerate.
    """
    s, d = _check_pair(src, dst, ("src", "dst"))
    idx = list(points)
    scale, rotation, translation = fit_similarity(s[:, idx], d[:, idx])
    return apply_similarity(s, scale, rotation, translation)


def normalise_face(landmarks: np.ndarray, *, face_size: float = FACE_SIZE_PX) -> np.ndarray:
    """Map every frame so its outer eye corners lie at ``(-face_size/2, 0)``, ``(face_size/2, 0)``.

    Parameters
    ----------
    landmarks
        ``(T, 68, 2)`` px.
    face_size
        Outer-eye-corner distance after mapping, px.

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float64 in the face frame.

    Raises
    ------
    InvalidInputError
        When the shape is wrong, a value is not finite or the eye corners coincide.
    """
    lm = check_landmarks(landmarks, "landmarks")
    n = lm.shape[0]
    target = np.broadcast_to(np.array([[-face_size / 2, 0.0], [face_size / 2, 0.0]]), (n, 2, 2))
    scale, rotation, translation = fit_similarity(lm[:, list(_OUTER_EYE_CORNERS)], target)
    return apply_similarity(lm, scale, rotation, translation)


def align_pair(
    pred: np.ndarray, gt: np.ndarray, *, face_size: float = FACE_SIZE_PX
) -> tuple[np.ndarray, np.ndarray]:
    """Normalise ``gt`` to the face frame and align ``pred`` onto it (steps 1-2 above).

    Parameters
    ----------
    pred, gt
        ``(T, 68, 2)`` px, same T.
    face_size
        Outer-eye-corner distance of the normalised ground truth, px.

    Returns
    -------
    tuple of np.ndarray
        ``(pred_aligned, gt_normalised)``, both ``(T, 68, 2)`` float64 in face-frame px.

    Raises
    ------
    InvalidInputError
        When shapes, lengths or values are unusable.
    """
    p, g = _check_pair(pred, gt)
    g_norm = normalise_face(g, face_size=face_size)
    return similarity_align(p, g_norm), g_norm


def _region(region: Region) -> list[int]:
    if region not in REGIONS:
        raise InvalidInputError(f"landmark region {region!r} is not one of {sorted(REGIONS)}")
    return list(REGIONS[region])


def landmark_distance(
    pred: np.ndarray, gt: np.ndarray, region: Region = "mouth", *, align: bool = True
) -> float:
    """LD: mean Euclidean distance between predicted and ground-truth landmarks.

    Parameters
    ----------
    pred, gt
        ``(T, 68, 2)`` px, same T.
    region
        ``"mouth"`` (points 48-67, M-LD) or ``"face"`` (0-67, F-LD).
    align
        Normalise and align first (:func:`align_pair`); False when the inputs already are
        (or to measure raw pixels).

    Returns
    -------
    float
        Mean over frames and region points, px of a 100 px outer-eye-corner face.

    Raises
    ------
    InvalidInputError
        When shapes, lengths or values are unusable, or the region is unknown.
    """
    idx = _region(region)
    p, g = align_pair(pred, gt) if align else _check_pair(pred, gt)
    return float(np.linalg.norm(p[:, idx] - g[:, idx], axis=-1).mean())


def landmark_velocity_distance(
    pred: np.ndarray, gt: np.ndarray, region: Region = "mouth", *, align: bool = True
) -> float:
    """LVD: mean Euclidean distance between frame-to-frame landmark velocities.

    Parameters
    ----------
    pred, gt
        ``(T, 68, 2)`` px, same T >= 2.
    region
        ``"mouth"`` (M-LVD) or ``"face"`` (F-LVD).
    align
        As in :func:`landmark_distance`.

    Returns
    -------
    float
        Mean over the T-1 velocity steps and region points, px per frame of a 100 px
        outer-eye-corner face.

    Raises
    ------
    InvalidInputError
        When T < 2, or shapes, lengths, values or the region are unusable.
    """
    idx = _region(region)
    p, g = align_pair(pred, gt) if align else _check_pair(pred, gt)
    if p.shape[0] < 2:
        raise InvalidInputError(f"LVD needs at least 2 frames of landmarks, got {p.shape[0]}")
    dv = np.diff(p[:, idx], axis=0) - np.diff(g[:, idx], axis=0)
    return float(np.linalg.norm(dv, axis=-1).mean())
