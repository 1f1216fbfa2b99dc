"""Filling the frames where the face was lost, and One-Euro smoothing over time.

The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) is a low-pass filter whose cutoff
rises with the signal's speed: ``cutoff = min_cutoff + beta * |speed|``. A still face gets a
low cutoff (jitter removed), a moving one a high cutoff (little lag). Here the speed of each
landmark is the length of its 2D velocity in face sizes per second, and the time step comes
from the frame timestamps, so variable frame rates are filtered correctly. A track of a whole
clip is filtered forward and then backward (``zero_phase``, as ``scipy.signal.filtfilt``
does), so the smoothed landmarks do not lag behind the picture.
"""

from __future__ import annotations

import numpy as np

_MIN_DT = 1e-4  # s; guards duplicate timestamps


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro(
    points: np.ndarray,
    timestamps: np.ndarray,
    *,
    min_cutoff: float,
    beta: float,
    d_cutoff: float,
    unit: float = 1.0,
    zero_phase: bool = False,
) -> np.ndarray:
    """Smooth a point track with the One-Euro filter.

    Parameters
    ----------
    points
        ``(T, N, 2)`` finite positions, px.
    timestamps
        ``(T,)`` seconds, increasing.
    min_cutoff, beta, d_cutoff
        Filter parameters (Hz, per unit/s, Hz).
    unit
        Length that speeds are measured in, px (the face size): speeds are
        ``|velocity px/s| / unit``.
    zero_phase
        Filter forward, then the result backward: no lag, for whole clips. False: one
        causal pass (what a live preview can do).

    Returns
    -------
    np.ndarray
        ``(T, N, 2)`` float64 smoothed positions, px.
    """
    x = np.asarray(points, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    args = (min_cutoff, beta, d_cutoff, unit)
    if not zero_phase:
        return _causal(x, ts, *args)
    forward = _causal(x, ts, *args)
    return _causal(forward[::-1], -ts[::-1], *args)[::-1]


def _causal(
    x: np.ndarray, timestamps: np.ndarray, min_cutoff: float, beta: float, d_cutoff: float,
    unit: float,
) -> np.ndarray:  # fmt: skip
    out = np.empty_like(x)
    if len(x) == 0:
        return out
    out[0] = x[0]
    speed = np.zeros(x.shape[1])
    for i in range(1, len(x)):
        dt = max(float(timestamps[i] - timestamps[i - 1]), _MIN_DT)
        raw_speed = np.linalg.norm(x[i] - out[i - 1], axis=-1) / (dt * unit)
        speed += _alpha(d_cutoff, dt) * (raw_speed - speed)
        a = _alpha(min_cutoff + beta * speed, dt)
        out[i] = out[i - 1] + np.asarray(a)[:, None] * (x[i] - out[i - 1])
    return out


def fill_gaps(
    points: np.ndarray, found: np.ndarray, timestamps: np.ndarray, *, max_gap: int
) -> np.ndarray:
    """Give every frame landmarks: interpolate short gaps, hold the nearest frame over long ones.

    Parameters
    ----------
    points
        ``(T, ...)`` values; rows where ``found`` is False are ignored.
    found
        ``(T,)`` bool, at least one True.
    timestamps
        ``(T,)`` seconds.
    max_gap
        Gaps of at most this many frames between two found frames are interpolated
        linearly in time; longer gaps, and the frames before the first or after the last
        found frame, hold the nearest found frame.

    Returns
    -------
    np.ndarray
        ``(T, ...)`` float64, equal to ``points`` where found.
    """
    found = np.asarray(found, dtype=bool)
    x = np.asarray(points, dtype=np.float64)
    idx = np.flatnonzero(found)
    t = np.arange(len(found))
    right = np.clip(np.searchsorted(idx, t), 0, len(idx) - 1)  # first found at or after
    left = np.clip(right - (idx[right] > t), 0, len(idx) - 1)  # last found at or before
    li, ri = idx[left], idx[right]
    gap = ri - li - 1
    inner = (~found) & (li < t) & (t < ri) & (gap <= max_gap)
    ts = np.asarray(timestamps, dtype=np.float64)
    span = np.where(ri > li, ts[ri] - ts[li], 1.0)
    w = np.where(inner, (ts - ts[li]) / np.maximum(span, 1e-12), 0.0)
    nearest = np.where(np.abs(t - li) <= np.abs(ri - t), li, ri)
    base = np.where(inner, li, nearest)
    shape = (-1,) + (1,) * (x.ndim - 1)
    out = x[base] + w.reshape(shape) * (x[ri] - x[li])
    out[found] = x[found]
    return out


def gap_runs(lost: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges of consecutive True values."""
    flags = np.concatenate([[False], np.asarray(lost, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
