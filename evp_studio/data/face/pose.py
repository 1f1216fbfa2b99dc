"""Head pose, blinks and the scaled orthographic camera.

Rotation convention (degrees; head frame x right, y up, z towards the camera)::

    R = Rz(roll) @ Rx(pitch) @ Ry(yaw)        applied to column vectors, p_cam = R @ p_head

    Ry(yaw)   = [[ cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]    +yaw: nose moves to the image right
    Rx(pitch) = [[1, 0, 0], [0, cp, sp], [0, -sp, cp]]    +pitch: nose moves up (chin up)
    Rz(roll)  = [[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]]    +roll: counter-clockwise on screen

i.e. yaw about the vertical axis first, then pitch about the horizontal axis, then roll about
the viewing axis (all axes fixed to the camera). Projection (scaled orthographic, image y down)::

    u = tx + s * x_cam,   v = ty - s * y_cam,   depth = s * z_cam (px, larger is nearer)

so (tx, ty) is where the head origin (between the ears) lands, in pixels, and s is px per mm.
A pose track is ``(T, 6)`` = yaw, pitch, roll (deg), tx, ty (px), s (px/mm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evp_studio.data.face.shape import MEAN_SHAPE
from evp_studio.errors import InvalidInputError

# Chin to brow top of the mean face (mm) and the height of its middle (y, mm).
_FACE_TOP = float(MEAN_SHAPE.points[17:27, 1].max())
_FACE_BOTTOM = float(MEAN_SHAPE.points[:17, 1].min())
FACE_HEIGHT_MM = _FACE_TOP - _FACE_BOTTOM
_FACE_MID_Y = 0.5 * (_FACE_TOP + _FACE_BOTTOM)
_FACE_ROW = 0.52  # the face middle sits at this fraction of the image height (room for hair)

UPPER_LID = np.array([37, 38, 43, 44])
LOWER_LID = np.array([41, 40, 47, 46])  # the lower-lid point under each upper-lid point


@dataclass(frozen=True)
class Pose:
    """Per-frame head pose; every field is ``(T,)`` float32.

    Parameters
    ----------
    yaw, pitch, roll
        Degrees, convention in the module docstring.
    tx, ty
        Pixels: where the head origin projects.
    scale
        Pixels per millimetre.
    """

    yaw: np.ndarray  # (T,) deg
    pitch: np.ndarray  # (T,) deg
    roll: np.ndarray  # (T,) deg
    tx: np.ndarray  # (T,) px
    ty: np.ndarray  # (T,) px
    scale: np.ndarray  # (T,) px/mm

    def __post_init__(self) -> None:
        fields = ("yaw", "pitch", "roll", "tx", "ty", "scale")
        arrays = [np.atleast_1d(np.asarray(getattr(self, f), dtype=np.float32)) for f in fields]
        n = arrays[0].shape
        for f, a in zip(fields, arrays):
            if a.ndim != 1 or a.shape != n or not np.isfinite(a).all():
                raise InvalidInputError(
                    f"Pose.{f}: expected finite ({n[0]},) values, got {a.shape}"
                )
            object.__setattr__(self, f, a)
        if (arrays[5] <= 0).any():
            raise InvalidInputError("Pose.scale must be positive")

    def __len__(self) -> int:
        return int(self.yaw.shape[0])

    def as_array(self) -> np.ndarray:
        """Return the pose as ``(T, 6)`` float32: yaw, pitch, roll, tx, ty, scale."""
        return np.stack([self.yaw, self.pitch, self.roll, self.tx, self.ty, self.scale], axis=1)

    @classmethod
    def from_array(cls, array: np.ndarray) -> Pose:
        """Build a pose from ``(T, 6)`` rows of yaw, pitch, roll, tx, ty, scale.

        Parameters
        ----------
        array
            ``(T, 6)``.

        Returns
        -------
        Pose
            The same values, as fields.
        """
        a = np.asarray(array, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != 6:
            raise InvalidInputError(f"pose array: expected (T, 6), got {a.shape}")
        return cls(*(a[:, k] for k in range(6)))


def rotation_matrix(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Rotation matrices ``Rz(roll) @ Rx(pitch) @ Ry(yaw)``.

    Parameters
    ----------
    yaw, pitch, roll
        Degrees, broadcastable arrays of shape ``S``.

    Returns
    -------
    np.ndarray
        ``S + (3, 3)`` float64.
    """
    y, p, r = (np.deg2rad(np.asarray(a, dtype=np.float64)) for a in (yaw, pitch, roll))
    y, p, r = np.broadcast_arrays(y, p, r)
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    # product written out: rows of Rx(pitch) @ Ry(yaw), then rotated by Rz(roll)
    m = np.stack(
        [
            np.stack([cy, np.zeros_like(cy), sy], -1),
            np.stack([-sp * sy, cp, sp * cy], -1),
            np.stack([-cp * sy, -sp, cp * cy], -1),
        ],
        -2,
    )
    rz = np.stack(
        [
            np.stack([cr, -sr, np.zeros_like(cr)], -1),
            np.stack([sr, cr, np.zeros_like(cr)], -1),
            np.stack([np.zeros_like(cr), np.zeros_like(cr), np.ones_like(cr)], -1),
        ],
        -2,
    )
    return rz @ m


def angles_from_rotation(matrix: np.ndarray) -> np.ndarray:
    """Invert ``rotation_matrix``.

    Parameters
    ----------
    matrix
        ``(..., 3, 3)`` rotation matrices.

    Returns
    -------
    np.ndarray
        ``(..., 3)`` yaw, pitch, roll in degrees (pitch in [-90, 90]).
    """
    m = np.asarray(matrix, dtype=np.float64)
    pitch = np.arcsin(np.clip(-m[..., 2, 1], -1.0, 1.0))
    yaw = np.arctan2(-m[..., 2, 0], m[..., 2, 2])
    roll = np.arctan2(-m[..., 0, 1], m[..., 1, 1])
    return np.rad2deg(np.stack([yaw, pitch, roll], axis=-1))


def _as_pose(pose: Pose | np.ndarray) -> Pose:
    return pose if isinstance(pose, Pose) else Pose.from_array(pose)


def posed_points(points3d: np.ndarray, pose: Pose | np.ndarray) -> np.ndarray:
    """Rotate, scale and place 3D landmarks in the image.

    Parameters
    ----------
    points3d
        ``(T, N, 3)`` or ``(N, 3)`` mm, head frame.
    pose
        ``Pose`` of length T or ``(T, 6)``.

    Returns
    -------
    np.ndarray
        ``(T, N, 3)`` float32: u, v (px, image y down) and depth (px, larger is nearer).

    Raises
    ------
    InvalidInputError
        If the frame counts differ.
    """
    p = _as_pose(pose)
    pts = np.asarray(points3d, dtype=np.float64)
    if pts.ndim == 2:
        pts = np.broadcast_to(pts, (len(p),) + pts.shape)
    if pts.ndim != 3 or pts.shape[0] != len(p) or pts.shape[2] != 3:
        raise InvalidInputError(f"posed_points: points {pts.shape} do not match {len(p)} poses")
    cam = np.einsum("tij,tnj->tni", rotation_matrix(p.yaw, p.pitch, p.roll), pts)
    s = p.scale.astype(np.float64)[:, None]
    out = np.stack(
        [p.tx[:, None] + s * cam[..., 0], p.ty[:, None] - s * cam[..., 1], s * cam[..., 2]], -1
    )
    return out.astype(np.float32)


def project(points3d: np.ndarray, pose: Pose | np.ndarray) -> np.ndarray:
    """Scaled orthographic projection ``l = s * Pr * R * L + t`` (image y down).

    Parameters
    ----------
    points3d
        ``(T, N, 3)`` or ``(N, 3)`` mm, head frame.
    pose
        ``Pose`` of length T or ``(T, 6)``.

    Returns
    -------
    np.ndarray
        ``(T, N, 2)`` float32 pixels.
    """
    return posed_points(points3d, pose)[..., :2]


def _placement(size: tuple[int, int], face_fraction: float) -> tuple[float, float, float]:
    """``(tx, ty, s)`` that put a frontal mean face in the middle of a ``(H, W)`` image."""
    h, w = size
    s = face_fraction * min(h, w) / FACE_HEIGHT_MM
    return 0.5 * w, _FACE_ROW * h + s * _FACE_MID_Y, s


def static_pose(
    n_frames: int,
    *,
    size: tuple[int, int] = (256, 256),
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    face_fraction: float = 0.5,
) -> Pose:
    """A constant pose with the face centred.

    Parameters
    ----------
    n_frames
        Number of frames.
    size
        Image ``(H, W)`` in pixels.
    yaw, pitch, roll
        Degrees.
    face_fraction
        Chin-to-brow height of the mean face as a fraction of the image height.

    Returns
    -------
    Pose
        Length ``n_frames``.
    """
    tx, ty, s = _placement(size, face_fraction)
    row = np.array([yaw, pitch, roll, tx, ty, s], dtype=np.float32)
    return Pose.from_array(np.tile(row, (n_frames, 1)))


def _smooth_wave(t: np.ndarray, rng: np.random.Generator, rms: float, fmax: float) -> np.ndarray:
    """Sum of three sinusoids between 0.05 Hz and ``fmax``, scaled to the given RMS."""
    freqs = rng.uniform(0.05, fmax, 3)
    amps = rng.uniform(0.4, 1.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    wave = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    return rms * wave / np.sqrt(0.5 * np.sum(amps**2))


def head_motion(
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    *,
    amplitude: float = 1.0,
    size: tuple[int, int] = (256, 256),
) -> Pose:
    """Smooth random head motion for one clip.

    Each angle is a per-clip offset plus a sum of three sinusoids (0.05-0.45 Hz), softly limited
    to +-20 deg yaw, +-10 pitch, +-6 roll (times ``amplitude``). The face is centred with its
    chin-to-brow height 46-53 % of the image height, drifting by ~1.5 % in place and scale.

    Parameters
    ----------
    n_frames
        Number of frames.
    fps
        Frame rate.
    rng
        Source of randomness.
    amplitude
        Scales the angular motion (0 gives a still, frontal head).
    size
        Image ``(H, W)`` in pixels.

    Returns
    -------
    Pose
        Length ``n_frames``.

    Raises
    ------
    InvalidInputError
        On a negative frame count, a non-positive rate or a negative amplitude.
    """
    if n_frames < 0 or not fps > 0 or not amplitude >= 0:
        raise InvalidInputError(
            f"head_motion: bad n_frames={n_frames!r}, fps={fps!r} or amplitude={amplitude!r}"
        )
    t = np.arange(n_frames) / fps
    angles = []
    for rms, offset_sd, limit, fmax in (
        (7.0, 4.0, 20.0, 0.35),
        (3.5, 2.0, 10.0, 0.45),
        (2.0, 1.5, 6.0, 0.3),
    ):
        raw = amplitude * (rng.normal(0.0, offset_sd) + _smooth_wave(t, rng, rms, fmax))
        lim = max(limit * amplitude, 1e-6)
        angles.append(lim * np.tanh(raw / lim))
    tx, ty, s = _placement(size, rng.uniform(0.46, 0.53))
    side = min(size)
    txs = tx + _smooth_wave(t, rng, 0.015 * side, 0.3)
    tys = ty + _smooth_wave(t, rng, 0.01 * side, 0.3)
    ss = s * (1.0 + _smooth_wave(t, rng, 0.012, 0.2))
    return Pose(angles[0], angles[1], angles[2], txs, tys, ss)


def blink_track(n_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure over time: a blink every 2-6 s, each 150-300 ms long.

    Closing takes about a third of the time opening does (Evinger et al., 1991); each blink holds
    fully closed for at least one frame period, so some frame always shows the lids together.

    Parameters
    ----------
    n_frames
        Number of frames.
    fps
        Frame rate.
    rng
        Source of randomness.

    Returns
    -------
    np.ndarray
        ``(n_frames,)`` float32 in [0, 1]; 1 is closed.
    """
    if n_frames < 0 or not fps > 0:
        raise InvalidInputError(f"blink_track: bad n_frames={n_frames!r} or fps={fps!r}")
    t = np.arange(n_frames) / fps
    out = np.zeros(n_frames)
    hold = max(0.04, 1.0 / fps)
    start = rng.uniform(0.3, 3.0)
    last = t[-1] if n_frames else -1.0
    while start <= last:
        moving = rng.uniform(0.15, 0.3) - 0.04  # s spent closing + opening
        close, opening = 0.3 * moving, 0.7 * moving
        up = np.clip((t - start) / close, 0.0, 1.0)
        down = np.clip((start + close + hold + opening - t) / opening, 0.0, 1.0)
        ramp = np.minimum(up, down)
        out = np.maximum(out, ramp * ramp * (3.0 - 2.0 * ramp))
        start += close + hold + opening + rng.uniform(2.0, 6.0)
    return out.astype(np.float32)


def apply_blink(points: np.ndarray, blink: np.ndarray) -> np.ndarray:
    """Close the eyelids: the upper lid travels 85 % of the way, the lower lid 15 %.

    Parameters
    ----------
    points
        ``(T, 68, D)`` landmarks (D = 2 or 3), or ``(68, D)`` with a scalar blink.
    blink
        ``(T,)`` closure in [0, 1] (or a scalar); at 1 each upper-lid point lands exactly on
        the lower-lid point below it (37->41, 38->40, 43->47, 44->46).

    Returns
    -------
    np.ndarray
        Same shape as ``points``, float32.

    Raises
    ------
    InvalidInputError
        If the blink values do not match the frames.
    """
    pts = np.array(points, dtype=np.float32)
    b = np.clip(np.asarray(blink, dtype=np.float32), 0.0, 1.0)
    if b.shape != pts.shape[:-2]:
        raise InvalidInputError(f"apply_blink: blink {b.shape} does not match points {pts.shape}")
    gap = pts[..., LOWER_LID, :] - pts[..., UPPER_LID, :]
    bb = b[..., None, None]
    pts[..., UPPER_LID, :] += 0.85 * bb * gap
    pts[..., LOWER_LID, :] -= 0.15 * bb * gap
    return pts
