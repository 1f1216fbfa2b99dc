"""Zero-phase One-Euro smoothing of landmark tracks.

The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) is a first-order low-pass whose cutoff
rises with the signal's speed: still landmarks lose their jitter, fast ones (an opening mouth)
keep up. The official EVP code runs it causally on the final landmarks; here it runs forward
and then backward over the forward result (as ``scipy.signal.filtfilt`` does), so the smoothed
track does not lag behind the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evp_studio.errors import InvalidInputError


@dataclass(frozen=True)
class OneEuro:
    """One-Euro filter settings.

    Parameters
    ----------
    fps
        Frame rate of the track (frames per second).
    min_cutoff
        Cutoff at rest (Hz); lower is smoother.
    beta
        Cutoff increase (Hz) per unit of speed, speed in face units per second (a face unit is
        the ``unit`` passed to ``one_euro``, the inter-ocular distance for landmarks).
    d_cutoff
        Cutoff of the speed estimate (Hz).
    """

    fps: float = 25.0
    min_cutoff: float = 2.0
    beta: float = 5.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("fps", "min_cutoff", "d_cutoff"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InvalidInputError(f"OneEuro.{name} must be positive, got {value!r}")
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise InvalidInputError(f"OneEuro.beta must be >= 0, got {self.beta!r}")


def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + fps / (2.0 * np.pi * np.asarray(cutoff))))


def _one_pass(x: np.ndarray, cfg: OneEuro, unit: float) -> np.ndarray:
    """Causal One-Euro over axis 0 of ``(T, D)``; a NaN sample restarts the filter after it."""
    out = np.full_like(x, np.nan)
    prev = np.zeros(x.shape[1:])
    dprev = np.zeros(x.shape[1:])
    has = np.zeros(x.shape[1:], dtype=bool)
    a_d = _alpha(cfg.d_cutoff, cfg.fps)
    for i in range(x.shape[0]):
        xi = x[i]
        ok = np.isfinite(xi)
        dhat = np.where(has, a_d * (xi - prev) * cfg.fps + (1.0 - a_d) * dprev, 0.0)
        a = _alpha(cfg.min_cutoff + cfg.beta * np.abs(dhat) / unit, cfg.fps)
        xhat = np.where(has, a * xi + (1.0 - a) * prev, xi)
        out[i] = np.where(ok, xhat, np.nan)
        prev, dprev, has = np.where(ok, xhat, prev), np.where(ok, dhat, dprev), ok
    return out


def one_euro(track: np.ndarray, cfg: OneEuro, *, unit: float = 1.0) -> np.ndarray:
    """Smooth a track along its first axis, forward then backward (no lag).

    Parameters
    ----------
    track
        ``(T, ...)`` values, e.g. ``(T, 68, 2)`` landmarks; NaN samples stay NaN and split
        the track into pieces that are smoothed separately.
    cfg
        Filter settings.
    unit
        Size of one face unit in the track's units (e.g. the inter-ocular distance in px),
        so that ``cfg.beta`` does not depend on the image resolution.

    Returns
    -------
    np.ndarray
        Same shape, float64.

    Raises
    ------
    InvalidInputError
        If ``unit`` is not positive.
    """
    if not (np.isfinite(unit) and unit > 0):
        raise InvalidInputError(f"one_euro: unit must be positive, got {unit!r}")
    x = np.asarray(track, dtype=np.float64)
    flat = x.reshape(x.shape[0], -1)
    fwd = _one_pass(flat, cfg, unit)
    both = _one_pass(fwd[::-1], cfg, unit)[::-1]
    return both.reshape(x.shape)
