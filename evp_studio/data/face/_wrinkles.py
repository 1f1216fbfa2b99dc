"""Expression lines that make emotions readable: forehead, frown, nose and nasolabial folds.

The actor's neutral face, projected with the pose fitted to the rigid points, tells how far the
brows, nostrils and mouth corners have moved (mm); each line fades in with that movement, so the
landmarks (and the actor) fully determine them.
"""

from __future__ import annotations

import numpy as np

from evp_studio.data.face import _draw as dr
from evp_studio.data.face._features import FaceFrame
from evp_studio.data.face._head import FittedPose


def _ramp(value: float, start: float, full: float) -> float:
    return float(np.clip((value - start) / (full - start), 0.0, 1.0))


def _line(
    img: np.ndarray, pts: np.ndarray, skin: dr.Color, strength: float, width: int = 1
) -> None:
    if strength > 0.05:
        dr.polyline(img, pts, dr.scaled(skin, 1.0 - 0.38 * strength), width)


def draw_wrinkles(
    img: np.ndarray,
    lmk: np.ndarray,
    fr: FaceFrame,
    pose: FittedPose,
    neutral: np.ndarray,
    skin: dr.Color,
) -> None:
    """Draw the lines whose landmarks moved away from ``neutral`` ``(68, 3)`` mm (thresholds
    in mm in the code)."""
    rest = pose.to_image(neutral)
    mm = max(pose.scale, 1e-6)
    up, ex, w = fr.up, fr.ex, fr.w
    rise = ((lmk - rest) @ up) / mm  # (68,) mm moved up, per point
    # forehead: horizontal lines above the brows when they are raised
    inner, outer = rise[[20, 21, 22, 23]].mean(), rise[[17, 18, 25, 26]].mean()
    lift = _ramp(max(inner, outer), 2.5, 7.0)
    if lift > 0:
        span = 0.25 + 0.45 * _ramp(outer, 1.0, 6.0)  # raised outer brows widen the lines
        centre = 0.5 * (lmk[21] + lmk[22])
        t = np.linspace(-1.0, 1.0, 7)[:, None]
        for k, height in enumerate((0.32, 0.45, 0.58)):
            arc = centre + up * (height * w - 0.06 * w * t**2) + ex * (span * w * t)
            _line(img, arc + up * 0.05 * w * np.sin(3.0 * t + k), skin, lift * (1.0 - 0.2 * k))
    # frown: vertical lines between the brows when the inner brows are lowered and drawn in
    gap_now = float(np.hypot(*(lmk[22] - lmk[21])))
    gap_rest = float(np.hypot(*(rest[22] - rest[21])))
    frown = _ramp(-rise[[21, 22]].mean() + 1.5 * (gap_rest - gap_now) / mm, 2.0, 8.0)
    mid = 0.5 * (lmk[21] + lmk[22])
    for side in (-1.0, 1.0):
        base = mid + ex * side * 0.07 * w
        _line(
            img,
            np.array([base - up * 0.02 * w, base + up * 0.2 * w + ex * side * 0.03 * w]),
            skin,
            frown,
        )
    # nose wrinkles: lifted nostrils (AU9) crease the bridge
    wrinkle = _ramp(rise[31:36].mean(), 1.2, 3.5)
    for k in range(3):
        y = 0.35 + 0.12 * k
        c = lmk[27] * (1 - y) + lmk[30] * y
        _line(
            img, np.array([c - ex * 0.08 * w, c + up * 0.015 * w, c + ex * 0.08 * w]), skin, wrinkle
        )
    # nasolabial folds deepen as the corners are pulled up and out
    for wing, corner, side in ((31, 48, -1.0), (35, 54, 1.0)):
        pull = rise[corner] + side * ((lmk[corner] - rest[corner]) @ ex) / mm * 0.5
        fold = _ramp(pull, 2.0, 8.0)
        a = lmk[wing] + ex * side * 0.1 * w + up * 0.03 * w
        c = lmk[corner] + ex * side * 0.1 * w - up * 0.04 * w
        bend = 0.5 * (a + c) + ex * side * 0.06 * w
        _line(img, np.array([a, bend, c]), skin, fold, 2 if w > 50 else 1)
