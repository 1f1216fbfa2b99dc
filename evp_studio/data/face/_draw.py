"""Small anti-aliased drawing helpers on uint8 RGB images (OpenCV, sub-pixel fixed point)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SHIFT = 4  # fractional bits of OpenCV's fixed-point coordinates (1/16 px)
_ONE = 1 << SHIFT

Color = tuple[float, float, float]
ColorLike = Sequence[float] | np.ndarray


def fixed(pts: np.ndarray) -> np.ndarray:
    """``(N, 2)`` float px -> ``(N, 1, 2)`` int32 fixed point for OpenCV."""
    return np.round(np.asarray(pts, dtype=np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def fill(img: np.ndarray, polys: Sequence[np.ndarray], color: Color | float) -> None:
    """Fill polygons ``(N, 2)`` px, anti-aliased."""
    cv2.fillPoly(img, [fixed(p) for p in polys], _col(color), cv2.LINE_AA, SHIFT)


def polyline(
    img: np.ndarray, pts: np.ndarray, color: Color | float, thickness: int, closed: bool = False
) -> None:
    """Draw an anti-aliased polyline through ``(N, 2)`` px."""
    cv2.polylines(
        img, [fixed(pts)], closed, _col(color), max(int(thickness), 1), cv2.LINE_AA, SHIFT
    )


def disc(img: np.ndarray, centre: np.ndarray, radius: float, color: Color | float) -> None:
    """Fill an anti-aliased circle."""
    c = fixed(np.asarray(centre)[None])[0, 0]
    r = int(round(max(radius, 0.3) * _ONE))
    cv2.circle(img, (int(c[0]), int(c[1])), r, _col(color), -1, cv2.LINE_AA, SHIFT)


def ellipse_pts(
    centre: np.ndarray, axis_a: np.ndarray, axis_b: np.ndarray, n: int = 24
) -> np.ndarray:
    """``(n, 2)`` points of the ellipse ``centre + a cos t + b sin t``."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return centre + np.cos(t)[:, None] * axis_a + np.sin(t)[:, None] * axis_b


def blob(
    img: np.ndarray, centre: np.ndarray, a: np.ndarray, b: np.ndarray, color: Color | float
) -> None:
    """Fill the ellipse with semi-axis vectors ``a`` and ``b`` (px), anti-aliased."""
    fill(img, [ellipse_pts(centre, a, b, 12)], color)


def roi_box(pts: np.ndarray, margin: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Integer box ``(x0, y0, x1, y1)`` around points plus a margin, clipped to the image."""
    lo = np.floor(pts.min(axis=0) - margin).astype(int)
    hi = np.ceil(pts.max(axis=0) + margin).astype(int) + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], shape[1]), min(hi[1], shape[0])
    return x0, y0, x1, y1


def blend(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray) -> None:
    """``dst = src * a + dst * (1 - a)`` in place; ``alpha`` uint8 ``(h, w)``, 255 = src."""
    a = alpha.astype(np.float32)[..., None] * (1.0 / 255.0)
    dst[...] = (src * a + dst * (1.0 - a) + 0.5).astype(np.uint8)


def scaled(color: ColorLike, factor: float) -> Color:
    """A colour times a factor, clipped to 0..255."""
    c = np.clip(np.asarray(color, dtype=np.float64) * factor, 0, 255)
    return float(c[0]), float(c[1]), float(c[2])


def mix(a: ColorLike, b: ColorLike, t: float) -> Color:
    """Linear mix ``a * (1 - t) + b * t`` of two colours."""
    c = np.asarray(a, dtype=np.float64) * (1 - t) + np.asarray(b, dtype=np.float64) * t
    return float(c[0]), float(c[1]), float(c[2])


def _col(color: Color | float) -> tuple[float, ...]:
    if isinstance(color, int | float):
        return (float(color),)
    return tuple(float(c) for c in color)
