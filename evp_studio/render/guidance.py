"""Guidance maps for the Edge-to-Video renderer (paper 3.3; official vid2vid face dataset).

A guidance map is channel 0 = Canny edges of the target frame *outside* the face region, united
with a sketch of the aligned landmarks (14 smooth part curves, see ``_sketch``), and optionally
channels 1-14 = one distance map per part curve, as the official ``--input_nc 15`` input.

Face region: the jaw 0-16 closed by the jaw points 1-15 mirrored about the line through points
0 and 16 at 2/3 of their distance (vid2vid's rule, here about the 0-16 line rather than a
horizontal one, so it follows head roll), united with the convex hull of all 68 points so the
brows stay inside however the head is posed.

Background edges: skimage ``feature.canny`` defaults (the official call) are sigma 1 and
hysteresis thresholds 0.1 / 0.2 of the full intensity scale on the L2 magnitude of an
unnormalised 3x3 Sobel of the smoothed image. ``cv2.Canny`` with ``L2gradient`` uses the same
Sobel, so on a uint8 frame blurred with the same Gaussian (radius 4 sigma) the thresholds are
25.5 / 51; as skimage does, the one-pixel image border is cleared. It is ~20x faster and agrees
with skimage on nearly every edge pixel (tests check it within one pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.render._sketch import (
    PART_NAMES,
    PARTS,
    SHIFT,
    draw_polylines,
    fixed_point,
    part_curves,
)

N_DISTANCE_MAPS = len(PART_NAMES)  # 14, as the official input_nc 15 = 1 + 14
DISTANCE_DIVISOR = 3.0  # official: L1 distance / 3, clipped to 0-255, then /255
MIN_FACE_SPREAD_PX = 2.0
JAW = np.arange(17)


@dataclass(frozen=True)
class GuidanceConfig:
    """How guidance maps are built.

    Parameters
    ----------
    distance_maps
        Add the 14 per-part distance maps (15 channels, the official input) or not (1 channel).
    edge_width
        Line width of the sketch in px (the official sketch is ~2 px at 512 px, i.e. 1 at 256).
    antialias
        Draw the sketch anti-aliased (soft values in channel 0) instead of binary.
    background
        Include the Canny edges of the frame outside the face region.
    canny_sigma
        Gaussian sigma in px before Canny (0: no blur).
    canny_low, canny_high
        Hysteresis thresholds as fractions of the full intensity scale (skimage defaults).
    """

    distance_maps: bool = False
    edge_width: int = 1
    antialias: bool = False
    background: bool = True
    canny_sigma: float = 1.0
    canny_low: float = 0.1
    canny_high: float = 0.2

    def __post_init__(self) -> None:
        if not 1 <= self.edge_width <= 16:
            raise InvalidInputError(f"edge_width must be 1-16 px, got {self.edge_width}")
        if not 0.0 <= self.canny_sigma <= 10.0:
            raise InvalidInputError(f"canny_sigma must be 0-10 px, got {self.canny_sigma}")
        if not 0.0 <= self.canny_low <= self.canny_high <= 1.0:
            raise InvalidInputError(
                "canny thresholds need 0 <= low <= high <= 1, got "
                f"low={self.canny_low}, high={self.canny_high}"
            )


def n_channels(config: GuidanceConfig) -> int:
    """Channels of :func:`guidance_map` under ``config``: 1, or 15 with distance maps."""
    return 1 + (N_DISTANCE_MAPS if config.distance_maps else 0)


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Validate ``(68, 2)`` px landmarks and return them as float64.

    Raises
    ------
    InvalidInputError
        Wrong shape, NaN/inf (naming the points), or all points (nearly) equal.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2):
        raise InvalidInputError(f"landmarks must be (68, 2) px, got shape {pts.shape}")
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise InvalidInputError(
            f"landmarks have NaN/inf coordinates at points {np.flatnonzero(bad).tolist()}"
        )
    spread = float(np.ptp(pts, axis=0).max())
    if spread < MIN_FACE_SPREAD_PX:
        raise InvalidInputError(
            f"landmarks are degenerate: all 68 points lie within {spread:.3g} px of each other"
        )
    return pts


def _check_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = (int(shape[0]), int(shape[1])) if len(shape) >= 2 else (0, 0)
    if h < 1 or w < 1:
        raise InvalidInputError(f"frame shape must be (H, W[, C]) with H, W >= 1, got {shape}")
    return h, w


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """``(32, 2)`` px closed face outline: the jaw 0-16, then the mirrored upper face 15-1."""
    pts = np.asarray(landmarks, dtype=np.float64)
    a, b = pts[0], pts[16]
    axis = b - a
    axis = axis / max(float(np.hypot(*axis)), 1e-9)
    inner = pts[1:16]
    foot = a + np.outer((inner - a) @ axis, axis)
    upper = foot - (2.0 / 3.0) * (inner - foot)
    return np.concatenate([pts[JAW], upper[::-1]])


def face_region_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where the face is: the mirrored-jaw polygon united with the landmarks' hull.

    Parameters
    ----------
    landmarks
        ``(68, 2)`` px.
    shape
        ``(H, W)`` or ``(H, W, C)`` of the frame.

    Returns
    -------
    np.ndarray
        ``(H, W)`` bool, True inside the face.

    Raises
    ------
    InvalidInputError
        Bad landmarks or shape.
    """
    pts = check_landmarks(landmarks)
    h, w = _check_shape(shape)
    return _mask_u8(pts, (h, w)).view(bool)


def _mask_u8(pts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    outline, hull_fx = fixed_point([face_polygon(pts), hull], shape)
    # two calls: one fillPoly of both would cancel their overlap (even-odd rule)
    cv2.fillPoly(mask, [outline], 1, lineType=cv2.LINE_8, shift=SHIFT)
    cv2.fillConvexPoly(mask, hull_fx, 1, lineType=cv2.LINE_8, shift=SHIFT)
    return mask


def draw_sketch(
    landmarks: np.ndarray,
    shape: tuple[int, ...],
    *,
    width: int = 1,
    antialias: bool = False,
) -> np.ndarray:
    """Draw the 14 part curves of the landmarks.

    Parameters
    ----------
    landmarks
        ``(68, 2)`` px; points outside the frame are clipped by the drawing.
    shape
        ``(H, W)`` or ``(H, W, C)`` of the frame.
    width
        Line width in px.
    antialias
        Anti-aliased lines (grey values at the borders).

    Returns
    -------
    np.ndarray
        ``(H, W)`` uint8, 255 on the curves, 0 elsewhere.

    Raises
    ------
    InvalidInputError
        Bad landmarks or shape.
    """
    pts = check_landmarks(landmarks)
    h, w = _check_shape(shape)
    canvas = np.zeros((h, w), np.uint8)
    draw_polylines(canvas, fixed_point(part_curves(pts), (h, w)), width=width, antialias=antialias)
    return canvas


def background_edges(
    frame_gray: np.ndarray, mask: np.ndarray | None = None, config: GuidanceConfig | None = None
) -> np.ndarray:
    """Canny edges of a grey frame (skimage defaults, see module notes), outside ``mask``.

    Parameters
    ----------
    frame_gray
        ``(H, W)`` uint8.
    mask
        ``(H, W)`` bool or uint8, nonzero where edges are removed (the face); None keeps all.
    config
        Blur and thresholds; None uses :class:`GuidanceConfig` defaults.

    Returns
    -------
    np.ndarray
        ``(H, W)`` uint8, 255 on edges.

    Raises
    ------
    InvalidInputError
        The frame is not 2-D uint8 or the mask does not match it.
    """
    cfg = config or GuidanceConfig()
    gray = np.asarray(frame_gray)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise InvalidInputError(
            f"background_edges needs a (H, W) uint8 frame, got {gray.shape} {gray.dtype}"
        )
    if mask is not None and np.shape(mask) != gray.shape:
        raise InvalidInputError(f"mask shape {np.shape(mask)} differs from frame {gray.shape}")
    if cfg.canny_sigma > 0:
        radius = int(4.0 * cfg.canny_sigma + 0.5)  # skimage/scipy truncate=4
        k = 2 * radius + 1
        gray = cv2.GaussianBlur(gray, (k, k), cfg.canny_sigma, borderType=cv2.BORDER_REFLECT)
    edges = cv2.Canny(gray, 255.0 * cfg.canny_low, 255.0 * cfg.canny_high, L2gradient=True)
    edges[[0, -1], :] = 0
    edges[:, [0, -1]] = 0
    if mask is not None:
        edges[np.asarray(mask, dtype=bool)] = 0
    return edges


def distance_maps(landmarks: np.ndarray, shape: tuple[int, ...], *, width: int = 1) -> np.ndarray:
    """Per-part distance maps, as the official input: L1 distance / 3, clipped to 255, / 255.

    Parameters
    ----------
    landmarks
        ``(68, 2)`` px.
    shape
        ``(H, W)`` or ``(H, W, C)`` of the frame.
    width
        Line width in px of the curves the distances are measured from.

    Returns
    -------
    np.ndarray
        ``(14, H, W)`` float32 in [0, 1], 0 on each part's curve, in ``PART_NAMES`` order.

    Raises
    ------
    InvalidInputError
        Bad landmarks or shape.
    """
    pts = check_landmarks(landmarks)
    h, w = _check_shape(shape)
    out = np.empty((N_DISTANCE_MAPS, h, w), np.float32)
    _fill_distance_maps(out, fixed_point(part_curves(pts), (h, w)), width)
    return out


def _fill_distance_maps(out: np.ndarray, lines: list[np.ndarray], width: int) -> None:
    canvas = np.empty(out.shape[1:], np.uint8)
    scale = 1.0 / (DISTANCE_DIVISOR * 255.0)
    for k, line in enumerate(lines):
        canvas.fill(255)
        draw_polylines(canvas, [line], width=width, antialias=False, value=0)
        dist = cv2.distanceTransform(canvas, cv2.DIST_L1, 3)
        np.minimum(dist * scale, 1.0, out=out[k])


def guidance_map(
    frame: np.ndarray, landmarks: np.ndarray, config: GuidanceConfig | None = None
) -> np.ndarray:
    """The renderer's input for one frame.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 RGB target frame (or ``(H, W)`` uint8 grey).
    landmarks
        ``(68, 2)`` px aligned landmarks for this frame.
    config
        What to build; None uses :class:`GuidanceConfig` defaults.

    Returns
    -------
    np.ndarray
        ``(C, H, W)`` float32 in [0, 1], ``C = n_channels(config)``: channel 0 background
        edges united with the sketch; channels 1-14 the part distance maps.

    Raises
    ------
    InvalidInputError
        Bad frame, NaN or degenerate landmarks.
    """
    cfg = config or GuidanceConfig()
    img = np.asarray(frame)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise InvalidInputError(
            f"frame must be (H, W, 3) or (H, W) uint8, got {img.shape} {img.dtype}"
        )
    pts = check_landmarks(landmarks)
    h, w = _check_shape(img.shape)
    lines = fixed_point(part_curves(pts), (h, w))
    if cfg.background:
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        edge = background_edges(gray, _mask_u8(pts, (h, w)).view(bool), cfg)
    else:
        edge = np.zeros((h, w), np.uint8)
    draw_polylines(edge, lines, width=cfg.edge_width, antialias=cfg.antialias)
    out = np.empty((n_channels(cfg), h, w), np.float32)
    np.multiply(edge, np.float32(1.0 / 255.0), out=out[0])
    if cfg.distance_maps:
        _fill_distance_maps(out[1:], lines, cfg.edge_width)
    return out


def face_crop_box(
    landmarks: np.ndarray, frame_shape: tuple[int, ...], scale: float = 2.1
) -> tuple[int, int, int, int]:
    """Square face crop of the official renderer (vid2vid ``get_crop_coords``, EVP scale 2.1).

    Side = ``scale`` x the landmarks' width; centre x = the bbox centre; centre y =
    ``(3 min_y + max_y) / 4`` (the face sits low, leaving room for hair). The box is shifted to
    lie inside the frame, and shrunk to the frame's shorter side when larger.

    Parameters
    ----------
    landmarks
        ``(68, 2)`` px (compute on the first frame and keep it fixed for a clip).
    frame_shape
        ``(H, W)`` or ``(H, W, C)``.
    scale
        Side over landmark width (vid2vid default 2.5, EVP 2.1).

    Returns
    -------
    tuple of int
        ``(x0, y0, x1, y1)`` px, ``x1 - x0 == y1 - y0``, inside the frame.

    Raises
    ------
    InvalidInputError
        Bad landmarks, shape or scale.
    """
    pts = check_landmarks(landmarks)
    h, w = _check_shape(frame_shape)
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidInputError(f"crop scale must be > 0, got {scale}")
    (min_x, min_y), (max_x, max_y) = pts.min(axis=0), pts.max(axis=0)
    side = min(max(1, round(scale * (max_x - min_x))), h, w)
    xc, yc = (min_x + max_x) / 2.0, (3.0 * min_y + max_y) / 4.0
    x0 = int(np.clip(round(xc - side / 2.0), 0, w - side))
    y0 = int(np.clip(round(yc - side / 2.0), 0, h - side))
    return x0, y0, x0 + side, y0 + side


__all__ = [
    "N_DISTANCE_MAPS",
    "PARTS",
    "PART_NAMES",
    "GuidanceConfig",
    "background_edges",
    "check_landmarks",
    "distance_maps",
    "draw_sketch",
    "face_crop_box",
    "face_polygon",
    "face_region_mask",
    "guidance_map",
    "n_channels",
]
