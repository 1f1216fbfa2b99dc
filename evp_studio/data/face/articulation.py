"""Mouth shapes from phoneme timings: viseme targets blended by dominance functions.

Each viseme sets targets for seven articulatory parameters (``MOUTH_PARAMS``). A parameter's
value at time t is the dominance-weighted mean of the targets of the surrounding segments,
after Cohen & Massaro, "Modeling coarticulation in synthetic visual speech" (Models and
Techniques in Computer Animation, 1993):

    D_sp(t) = alpha_sp * exp(-theta_p * d(t)),   F_p(t) = sum_s D_sp T_sp / sum_s D_sp

with a faster rate after the segment (carry-over) than before it (anticipation), and d(t)
the distance to a plateau in the middle of the segment (the whole of it for silence, so a long
pause holds a closed mouth). The dominance model alone can leave a /p b m/ slightly open
between open vowels (its known weakness), so closure is also enforced: bilabials have a very
high dominance on ``lip_close``, ``apply_mouth`` treats lip_close >= 0.85 as fully closed, and
the frame nearest each bilabial's centre is set to 1.

``apply_mouth`` turns parameters into 3D lip and jaw displacements: the jaw rotates about the
temporomandibular joint with a small forward glide of the condyle; the lower lip rides on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evp_studio.errors import InvalidInputError

MOUTH_PARAMS: tuple[str, ...] = (
    "jaw_open",  # 0 closed .. 1 wide open (JAW_MAX_DEG)
    "lip_width",  # -1 rounded/narrow .. 0 rest .. +1 spread
    "lip_round",  # 0 .. 1 protrusion
    "upper_lip_raise",  # 0 .. 1 (4 mm at the midline)
    "lower_lip_depress",  # 0 .. 1 (5 mm at the midline)
    "lip_close",  # 0 .. 1 bilabial closure (>= CLOSE_FULL closes fully)
    "lip_bite",  # 0 .. 1 lower lip tucked under the upper teeth
)
N_PARAMS = len(MOUTH_PARAMS)
JAW, WIDTH, ROUND, UP, LOW, CLOSE, BITE = range(N_PARAMS)
PARAM_LOW = np.array([0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
PARAM_HIGH = np.ones(N_PARAMS, dtype=np.float32)

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "RR", "aa", "E", "I", "O", "U",
)  # fmt: skip

# Targets, columns as MOUTH_PARAMS: jaw, width, round, up, low, close, bite.
_TARGETS: dict[str, tuple[float, ...]] = {
    "sil": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "PP": (0.08, 0.0, 0.1, 0.0, 0.0, 1.0, 0.0),
    "FF": (0.12, 0.1, 0.0, 0.35, 0.0, 0.0, 1.0),
    "TH": (0.22, 0.1, 0.0, 0.25, 0.25, 0.0, 0.0),
    "DD": (0.25, 0.15, 0.0, 0.15, 0.15, 0.0, 0.0),
    "kk": (0.3, 0.1, 0.0, 0.1, 0.1, 0.0, 0.0),
    "CH": (0.2, -0.35, 0.75, 0.35, 0.3, 0.0, 0.0),
    "SS": (0.12, 0.35, 0.0, 0.3, 0.2, 0.0, 0.0),
    "RR": (0.2, -0.35, 0.5, 0.1, 0.1, 0.0, 0.0),
    "aa": (0.62, 0.15, 0.0, 0.2, 0.35, 0.0, 0.0),
    "E": (0.4, 0.5, 0.0, 0.25, 0.25, 0.0, 0.0),
    "I": (0.22, 0.85, 0.0, 0.3, 0.25, 0.0, 0.0),
    "O": (0.45, -0.6, 0.7, 0.1, 0.15, 0.0, 0.0),
    "U": (0.22, -0.85, 1.0, 0.05, 0.05, 0.0, 0.0),
}
# Dominance magnitudes alpha; 1 unless listed. Consonants leave the jaw to their neighbours
# (low jaw dominance); bilabial closure, labiodental bite and vowel rounding dominate.
_ALPHA_OVERRIDES: dict[str, dict[int, float]] = {
    "PP": {CLOSE: 20.0, JAW: 0.5},
    "FF": {BITE: 20.0, JAW: 0.5, UP: 3.0},
    "TH": {JAW: 0.5},
    "DD": {JAW: 0.4, WIDTH: 0.5, ROUND: 0.3},
    "kk": {JAW: 0.4, WIDTH: 0.4, ROUND: 0.3},
    "SS": {JAW: 0.8, WIDTH: 0.8},
    "CH": {ROUND: 3.0, WIDTH: 2.0},
    "RR": {ROUND: 1.5},
    "O": {ROUND: 3.0, WIDTH: 3.0},
    "U": {ROUND: 4.0, WIDTH: 4.0},
    "I": {WIDTH: 2.0},
    "sil": {i: 0.7 for i in range(N_PARAMS)},
}
# Decay rates (1/s) before (anticipation) and after (carry-over) a segment's plateau; lip
# rounding is anticipated over several segments (Benguerel & Cowan 1974), hence its slow rate.
_RATE_ANTICIPATE = np.array([24.0, 18.0, 10.0, 24.0, 24.0, 70.0, 50.0])
_RATE_CARRY = np.array([30.0, 26.0, 20.0, 30.0, 30.0, 80.0, 60.0])
_PLATEAU = 0.5  # fraction of a phone's half-duration where its dominance is flat
_WINDOW_S = 0.8  # segments further away than this have dominance < 1e-3 of their peak
_CHUNK = 512  # frames evaluated together (bounds memory on long clips)
CLOSE_FULL = 0.85  # lip_close at or above this closes the lips completely

TARGETS = np.array([_TARGETS[v] for v in VISEMES], dtype=np.float64)
ALPHA = np.ones((len(VISEMES), N_PARAMS))
for _v, _over in _ALPHA_OVERRIDES.items():
    for _p, _a in _over.items():
        ALPHA[VISEMES.index(_v), _p] = _a

# Jaw: rotation about the condyle (12 mm in front of the tragion) plus a forward glide.
JAW_MAX_DEG = 18.0
_HINGE_YZ = np.array([0.0, 10.0])  # (y, z) mm of the rotation axis (parallel to x)
_GLIDE_YZ = np.array([-3.0, 10.0])  # (y, z) mm at jaw_open = 1


def _check_phonemes(phonemes: Sequence[tuple[str, float, float]]) -> list[tuple[int, float, float]]:
    out = []
    for k, (vis, start, end) in enumerate(phonemes):
        if vis not in VISEMES:
            raise InvalidInputError(
                f"phoneme {k}: unknown viseme {vis!r}; expected one of {VISEMES}"
            )
        if not (np.isfinite(start) and np.isfinite(end)) or end < start:
            raise InvalidInputError(f"phoneme {k} ({vis}): bad timing {start!r}..{end!r} s")
        out.append((VISEMES.index(vis), float(start), float(end)))
    return sorted(out, key=lambda s: s[1])


def _with_silence(segs: list[tuple[int, float, float]], clip_end: float) -> np.ndarray:
    """Fill the gaps with silence; ``(S, 3)`` rows of viseme index, start, end (s)."""
    sil = VISEMES.index("sil")
    first = segs[0][1] if segs else clip_end
    rows = [(sil, min(0.0, first) - 1.0, first)]
    last_end = first
    for vis, start, end in segs:
        if start > last_end + 1e-3:
            rows.append((sil, last_end, start))
        rows.append((vis, start, end))
        last_end = max(last_end, end)
    rows.append((sil, last_end, max(clip_end, last_end) + 1.0))
    return np.array(rows, dtype=np.float64)


def mouth_track(
    phonemes: Sequence[tuple[str, float, float]], n_frames: int, fps: float
) -> np.ndarray:
    """Sample the mouth parameters of a phoneme sequence at the video frames.

    Parameters
    ----------
    phonemes
        ``(viseme, start_s, end_s)`` per phoneme, viseme one of ``VISEMES``; gaps are silence.
    n_frames
        Number of frames; frame k shows time ``k / fps``.
    fps
        Frame rate (frames per second).

    Returns
    -------
    np.ndarray
        ``(n_frames, len(MOUTH_PARAMS))`` float32, ranges as in ``MOUTH_PARAMS``.

    Raises
    ------
    InvalidInputError
        On an unknown viseme, a segment ending before it starts, or a bad frame count/rate.
    """
    if n_frames < 0 or not (np.isfinite(fps) and fps > 0):
        raise InvalidInputError(f"mouth_track: bad n_frames={n_frames!r} or fps={fps!r}")
    segs = _with_silence(_check_phonemes(phonemes), n_frames / fps)
    vis = segs[:, 0].astype(np.intp)
    centre = 0.5 * (segs[:, 1] + segs[:, 2])
    half = 0.5 * (segs[:, 2] - segs[:, 1])
    flat = np.where(vis == VISEMES.index("sil"), half, _PLATEAU * half)
    t = np.arange(n_frames) / fps
    out = np.empty((n_frames, N_PARAMS), dtype=np.float64)
    for lo in range(0, n_frames, _CHUNK):
        tt = t[lo : lo + _CHUNK]
        near = (segs[:, 2] >= tt[0] - _WINDOW_S) & (segs[:, 1] <= tt[-1] + _WINDOW_S)
        dt = tt[:, None] - centre[None, near]  # (n, S) s, negative before the centre
        dist = np.maximum(np.abs(dt) - flat[None, near], 0.0)
        rate = np.where(dt[..., None] < 0, _RATE_ANTICIPATE, _RATE_CARRY)  # (n, S, P)
        dom = ALPHA[vis[near]][None] * np.exp(-rate * dist[..., None])
        num = np.einsum("nsp,sp->np", dom, TARGETS[vis[near]])
        out[lo : lo + _CHUNK] = num / (dom.sum(axis=1) + 1e-12)
    for k in np.flatnonzero(vis == VISEMES.index("PP")):
        inside = (t >= segs[k, 1]) & (t <= segs[k, 2])
        out[inside, CLOSE] = 1.0
        nearest = int(round(centre[k] * fps))
        if 0 <= nearest < n_frames:
            out[nearest, CLOSE] = 1.0
    return out.astype(np.float32)


def _lip_weights() -> tuple[np.ndarray, ...]:
    """Per-point weights ``(68,)`` of the jaw, spread, protrusion, raise and depress fields."""
    jaw = np.zeros(68)
    jaw[[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]] = [0.15, 0.45, 0.8, 1, 1, 1, 1, 1, 0.8, 0.45, 0.15]
    jaw[[55, 56, 57, 58, 59]] = [0.75, 0.85, 0.85, 0.85, 0.75]
    jaw[[65, 66, 67]] = 0.85
    jaw[[48, 54]] = 0.35
    jaw[[60, 64]] = 0.4
    mouth = np.zeros(68)
    mouth[48:68] = 1.0
    protrude = np.zeros(68)
    protrude[48:68] = 1.0
    protrude[[48, 54, 60, 64]] = 0.5
    raise_ = np.zeros(68)
    raise_[[49, 50, 51, 52, 53]] = [0.7, 1.0, 1.0, 1.0, 0.7]
    raise_[[61, 62, 63]] = [0.85, 1.0, 0.85]
    depress = np.zeros(68)
    depress[[55, 56, 57, 58, 59]] = [0.7, 1.0, 1.0, 1.0, 0.7]
    depress[[65, 66, 67]] = [0.85, 1.0, 0.85]
    return jaw, mouth, protrude, raise_, depress


_W_JAW, _W_MOUTH, _W_PROTRUDE, _W_RAISE, _W_DEPRESS = _lip_weights()
_UPPER_OUT = np.array([49, 50, 51, 52, 53])
_LOWER_OUT = np.array([59, 58, 57, 56, 55])
_UPPER_IN = np.array([61, 62, 63])
_LOWER_IN = np.array([67, 66, 65])  # paired with _UPPER_IN column by column
_CORNERS = np.array([48, 54, 60, 64])


def _outer_from_inner(
    x_outer: np.ndarray, x_inner: np.ndarray, x_corners: np.ndarray
) -> np.ndarray:
    """Matrix ``(n_outer, n_inner)`` spreading inner-lip motion onto the outer lip by x.

    The corners carry no motion, so outer points beside them get a fraction of it.
    """
    xs = np.concatenate([[x_corners[0]], x_inner, [x_corners[1]]])
    eye = np.eye(len(x_inner))
    cols = [
        np.interp(x_outer, xs, np.concatenate([[0.0], eye[j], [0.0]])) for j in range(len(x_inner))
    ]
    return np.stack(cols, axis=1)


def apply_mouth_batch(points: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Deform a face's lips and jaw by mouth parameters, frame by frame.

    Parameters
    ----------
    points
        ``(68, 3)`` mm, head frame, mouth closed (a ``FaceShape.points``).
    params
        ``(T, len(MOUTH_PARAMS))``; values are clipped to their ranges.

    Returns
    -------
    np.ndarray
        ``(T, 68, 3)`` float32 mm.

    Raises
    ------
    InvalidInputError
        If the shapes do not match.
    """
    pts = np.asarray(points, dtype=np.float64)
    prm = np.asarray(params, dtype=np.float64)
    if pts.shape != (68, 3) or prm.ndim != 2 or prm.shape[1] != N_PARAMS:
        raise InvalidInputError(
            f"apply_mouth_batch: expected points (68, 3) and params (T, {N_PARAMS}), "
            f"got {pts.shape} and {prm.shape}"
        )
    prm = np.clip(prm, PARAM_LOW, PARAM_HIGH)
    n = prm.shape[0]
    disp = np.zeros((n, 68, 3))
    # jaw: rotate the weighted points about the hinge axis, then glide forward
    theta = np.deg2rad(JAW_MAX_DEG) * prm[:, JAW, None]  # (T, 1) rad
    rel_y, rel_z = pts[:, 1] - _HINGE_YZ[0], pts[:, 2] - _HINGE_YZ[1]
    cos, sin = np.cos(theta), np.sin(theta)
    dy = rel_y * cos - rel_z * sin - rel_y + _GLIDE_YZ[0] * prm[:, JAW, None]
    dz = rel_y * sin + rel_z * cos - rel_z + _GLIDE_YZ[1] * prm[:, JAW, None]
    disp[..., 1] += _W_JAW * dy
    disp[..., 2] += _W_JAW * dz
    # width: scale the mouth about the midline; spreading takes 6 mm per corner, rounding 9
    w = prm[:, WIDTH, None]
    disp[..., 0] += np.where(w > 0, 6.0 / 26.0, 9.0 / 26.0) * w * pts[:, 0] * _W_MOUTH
    corner_z = np.zeros(68)
    corner_z[_CORNERS] = 1.0
    disp[..., 2] += (4.0 * np.maximum(-w, 0) - 3.0 * np.maximum(w, 0)) * corner_z
    # protrusion, with the vermilion turning outwards
    r = prm[:, ROUND, None]
    disp[..., 2] += 7.0 * r * _W_PROTRUDE
    disp[:, _UPPER_OUT, 1] += 1.2 * r
    disp[:, _LOWER_OUT, 1] -= 1.2 * r
    disp[..., 1] += 4.0 * prm[:, UP, None] * _W_RAISE - 5.0 * prm[:, LOW, None] * _W_DEPRESS
    _bite_and_close(pts, prm, disp)
    return (pts[None] + disp).astype(np.float32)


def _bite_and_close(pts: np.ndarray, prm: np.ndarray, disp: np.ndarray) -> None:
    """Move the lower lip under the upper teeth (bite), then close the lips (in place)."""
    spread = _outer_from_inner(pts[_LOWER_OUT, 0], pts[_LOWER_IN, 0], pts[[48, 54], 0])
    spread_up = _outer_from_inner(pts[_UPPER_OUT, 0], pts[_UPPER_IN, 0], pts[[48, 54], 0])
    upper = pts[_UPPER_IN] + disp[:, _UPPER_IN]  # (T, 3, 3)
    lower = pts[_LOWER_IN] + disp[:, _LOWER_IN]
    # bite: lower inner lip 2.5 mm below the upper inner lip and 5 mm back
    target = upper + np.array([0.0, -2.5, -5.0])
    delta_low = prm[:, BITE, None, None] * (target - lower)
    # closure: the lips meet, the lower lip travelling 70 % of the way
    close = np.clip(prm[:, CLOSE] / CLOSE_FULL, 0.0, 1.0)[:, None, None]
    gap = upper - (lower + delta_low)
    delta_low = delta_low + 0.7 * close * gap
    delta_up = -0.3 * close * gap
    disp[:, _LOWER_IN] += delta_low
    disp[:, _UPPER_IN] += delta_up
    disp[:, _LOWER_OUT] += np.einsum("oi,tic->toc", spread, delta_low)
    disp[:, _UPPER_OUT] += np.einsum("oi,tic->toc", spread_up, delta_up)


def apply_mouth(points: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Deform one face by one set of mouth parameters.

    Parameters
    ----------
    points
        ``(68, 3)`` mm, head frame, mouth closed.
    params
        ``(len(MOUTH_PARAMS),)``.

    Returns
    -------
    np.ndarray
        ``(68, 3)`` float32 mm.
    """
    return apply_mouth_batch(points, np.asarray(params, dtype=np.float64)[None])[0]


def inner_lip_gap(points: np.ndarray) -> np.ndarray:
    """Mean vertical opening of the inner lips, mm.

    Parameters
    ----------
    points
        ``(..., 68, 3)`` or ``(..., 68, 2)`` with y up (head frame).

    Returns
    -------
    np.ndarray
        ``(...)`` mean of upper minus lower inner-lip y over the three inner columns.
    """
    p = np.asarray(points)
    return (p[..., _UPPER_IN, 1] - p[..., _LOWER_IN, 1]).mean(axis=-1)
