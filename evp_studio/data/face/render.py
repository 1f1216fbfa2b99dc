"""Cartoon face rendering from 2D landmarks: an actor's look and one frame at a time.

The drawing order is back to front: background, hair volume, neck, shirt, ears, the skin polygon
(jaw contour closed over the forehead by the hairline), then brows, eyes, nose and mouth. Parts
the landmarks do not cover (skull, hair, ears, neck) come from a pose fitted to the landmarks
(``_head.py``), so they follow the head. Everything is anti-aliased (OpenCV ``LINE_AA`` with
sub-pixel coordinates); colours are RGB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from evp_studio.data.face import _draw as dr
from evp_studio.data.face import _features as ft
from evp_studio.data.face._background import make_background
from evp_studio.data.face._head import HAIR_STYLES, FittedPose, HeadModel, fit_pose, head_model
from evp_studio.data.face._wrinkles import draw_wrinkles
from evp_studio.data.face.shape import MEAN_SHAPE, FaceShape
from evp_studio.errors import InvalidInputError

__all__ = ["Appearance", "appearance_for", "make_background", "render_clip", "render_frame"]

Color = tuple[float, float, float]

_SKIN_TONES = np.array(
    [[241, 206, 180], [228, 186, 156], [212, 165, 130], [196, 146, 108], [170, 122, 86],
     [141, 97, 66], [112, 74, 50], [88, 58, 40]], dtype=np.float64,
)  # fmt: skip
_HAIR = np.array(
    [[20, 17, 16], [48, 33, 26], [84, 56, 38], [120, 78, 45], [150, 100, 50], [200, 165, 110],
     [140, 135, 130], [100, 45, 25]], dtype=np.float64,
)  # fmt: skip
# Upper incisal edge relative to the resting inner lip (mm): 1.5 mm lower, 3 mm behind.
_TEETH_EDGE = np.array([0.0, -1.5, -3.0])
_IRIS = np.array([[90, 55, 30], [60, 40, 25], [110, 85, 50], [70, 110, 150], [80, 120, 90],
                  [110, 115, 120]], dtype=np.float64)  # fmt: skip


@dataclass(frozen=True)
class Appearance:
    """How one actor looks. Colours are RGB, 0-255.

    Parameters
    ----------
    skin, hair, brow, iris, lip, shirt
        Colours of those parts.
    hair_style
        One of ``HAIR_STYLES``: "short", "medium" (to the jaw) or "long" (to the shoulders).
    hair_volume
        Size of the hair around the skull, ~0.95-1.15.
    background_palette
        Three colours: wall, wall variation, furnishings.
    background_seed
        Seed of the background layout (one room per actor).
    """

    skin: Color
    hair: Color
    hair_style: str
    hair_volume: float
    brow: Color
    iris: Color
    lip: Color
    shirt: Color
    background_palette: tuple[Color, Color, Color]
    background_seed: int

    def __post_init__(self) -> None:
        if self.hair_style not in HAIR_STYLES:
            raise InvalidInputError(
                f"Appearance.hair_style {self.hair_style!r} not in {HAIR_STYLES}"
            )
        if not 0.5 <= self.hair_volume <= 2.0:
            raise InvalidInputError(f"Appearance.hair_volume {self.hair_volume!r} not in [0.5, 2]")


def _rgb(c: np.ndarray) -> Color:
    c = np.clip(c, 0, 255)
    return float(c[0]), float(c[1]), float(c[2])


def _luma(c: np.ndarray) -> float:
    return float(np.dot(c, [0.299, 0.587, 0.114]))


def appearance_for(rng: np.random.Generator) -> Appearance:
    """Draw a random actor look.

    Parameters
    ----------
    rng
        Source of randomness.

    Returns
    -------
    Appearance
        Skin from eight tones, natural hair colours, brows always clearly darker than the skin.
    """
    # lightness and a little redness vary; the hue stays on the natural skin-tone line
    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.94, 1.06)
    skin = skin + rng.normal(0.0, 3.0) * np.array([1.0, -0.3, -0.6])
    hair = _HAIR[rng.integers(len(_HAIR))] + rng.normal(0, 6, 3)
    brow = 0.5 * hair + 0.5 * np.array([30.0, 24.0, 20.0])
    brow *= min(1.0, 0.5 * _luma(skin) / max(_luma(brow), 1.0))  # keep brows dark on the skin
    lip = (0.6 * skin + 0.4 * np.array([185.0, 70.0, 80.0])) * rng.uniform(0.7, 0.85)
    palette = []
    for _ in range(3):
        hsv = np.array(
            [[[rng.integers(0, 180), rng.integers(20, 120), rng.integers(90, 230)]]], np.uint8
        )
        palette.append(_rgb(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)))
    style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=[0.45, 0.3, 0.25])]
    return Appearance(
        skin=_rgb(skin),
        hair=_rgb(hair),
        hair_style=style,
        hair_volume=float(rng.uniform(0.95, 1.15)),
        brow=_rgb(brow),
        iris=_rgb(_IRIS[rng.integers(len(_IRIS))] + rng.normal(0, 6, 3)),
        lip=_rgb(lip),
        shirt=_rgb(rng.uniform(20, 230, 3)),
        background_palette=(palette[0], palette[1], palette[2]),
        background_seed=int(rng.integers(0, 2**31 - 1)),
    )


@lru_cache(maxsize=32)
def _model(style: str, volume: float) -> HeadModel:
    return head_model(style, volume)


def _check(
    landmarks2d: np.ndarray, size: tuple[int, int], background: np.ndarray | None
) -> np.ndarray:
    lmk = np.asarray(landmarks2d, dtype=np.float64)
    if lmk.shape != (68, 2) or not np.isfinite(lmk).all():
        raise InvalidInputError(f"render_frame: expected finite (68, 2) landmarks, got {lmk.shape}")
    if len(size) != 2 or min(size) < 16:
        raise InvalidInputError(f"render_frame: bad image size {size!r}")
    if background is not None and background.shape != (size[0], size[1], 3):
        raise InvalidInputError(
            f"render_frame: background {background.shape} does not match {size}"
        )
    return lmk


def render_frame(
    landmarks2d: np.ndarray,
    appearance: Appearance,
    *,
    size: tuple[int, int] = (256, 256),
    background: np.ndarray | None = None,
    neutral: FaceShape | None = None,
) -> np.ndarray:
    """Render one frame.

    Parameters
    ----------
    landmarks2d
        ``(68, 2)`` px, image y down (``project`` output).
    appearance
        The actor's look.
    size
        ``(H, W)`` in pixels.
    background
        ``(H, W, 3)`` uint8 from ``make_background`` (not modified), or None for a plain wall.
    neutral
        The actor's neutral shape; parts the landmarks lack (hair, ears, teeth) are placed
        against it, and expression lines (forehead, frown, nose, nasolabial) appear where the
        landmarks moved away from it. None: ``MEAN_SHAPE`` places the parts and no expression
        lines are drawn (an actor's own proportions would read as expression).

    Returns
    -------
    np.ndarray
        ``(H, W, 3)`` uint8 RGB.

    Raises
    ------
    InvalidInputError
        On landmarks that are not finite ``(68, 2)``, or a background of the wrong size.
    """
    lmk = _check(landmarks2d, size, background)
    if background is None:
        img = np.empty((size[0], size[1], 3), np.uint8)
        img[:] = appearance.background_palette[0]
    else:
        img = background.copy()
    ap = appearance
    fr = ft.face_frame(lmk)
    ref = (neutral if neutral is not None else MEAN_SHAPE).points
    pose = fit_pose(lmk, ref)
    head = _model(ap.hair_style, round(ap.hair_volume, 3))
    _behind_face(img, pose, head, ap)
    brow_thick = 0.2 * fr.w
    brows_up = lmk[17:27] + fr.up * 0.6 * brow_thick
    outline = np.vstack([lmk[:17], pose.to_image(head.hairline), brows_up]).astype(np.float32)
    ft.shade_skin(img, cv2.convexHull(outline)[:, 0], lmk, fr, ap.skin)
    if neutral is not None:  # against the mean face, identity would pass for expression
        draw_wrinkles(img, lmk, fr, pose, ref, ap.skin)
    ft.draw_brows(img, lmk, fr, ap.brow, brow_thick)
    ft.draw_eye(img, lmk[36:42], fr, ap.iris, ap.skin)
    ft.draw_eye(img, lmk[42:48], fr, ap.iris, ap.skin)
    ft.draw_nose(img, lmk, fr, ap.skin)
    teeth_edge = ref[60:65].astype(np.float64) + _TEETH_EDGE
    ft.draw_mouth(img, lmk, fr, ap.lip, pose.to_image(teeth_edge), pose.scale)
    return img


def _behind_face(img: np.ndarray, pose: FittedPose, head: HeadModel, ap: Appearance) -> None:
    """Hair volume (a darker rim, then the body of the hair), neck, shirt and ears."""
    hair = cv2.convexHull(pose.to_image(head.hair).astype(np.float32))[:, 0]
    dr.fill(img, [hair], dr.scaled(ap.hair, 0.75))
    dr.fill(img, [hair + 0.06 * (hair.mean(axis=0) - hair)], ap.hair)
    _body(img, pose, ap)
    if ap.hair_style != "short":  # longer hair covers the ears
        return
    for k, ear in enumerate(head.ears):
        # an ear turned well away from the camera is hidden behind the head
        if pose.facing(np.array([2.0 * k - 1.0, 0.0, 0.0])) > -0.35:
            pts = pose.to_image(ear)
            dr.fill(img, [pts], dr.scaled(ap.skin, 0.88))
            dr.fill(img, [pts + 0.35 * (pts.mean(axis=0) - pts)], dr.scaled(ap.skin, 0.72))


def _body(img: np.ndarray, pose: FittedPose, ap: Appearance) -> None:
    """Neck (projected with the head) and shoulders (below the head origin, not rotating)."""
    s, origin = pose.scale, pose.origin
    top = pose.to_image(np.array([[-46.0, -60.0, 5.0], [46.0, -60.0, 5.0], [0.0, -95.0, 30.0]]))
    h = img.shape[0]
    below = max(h - top[:, 1].min(), 1.0)
    neck = np.array([top[0], top[2], top[1], top[1] + [6.0 * s, below], top[0] + [-6.0 * s, below]])
    dr.fill(img, [neck], dr.scaled(ap.skin, 0.6))
    centre = origin + np.array([0.0, 205.0 * s])
    shirt = dr.ellipse_pts(centre, np.array([215.0 * s, 0.0]), np.array([0.0, 75.0 * s]), 40)
    dr.fill(img, [shirt], ap.shirt)
    collar_top = centre[1] - 75.0 * s
    v = np.array([[centre[0] - 28 * s, collar_top - 2], [centre[0] + 28 * s, collar_top - 2],
                  [centre[0], collar_top + 34 * s]])  # fmt: skip
    dr.fill(img, [v], dr.scaled(ap.skin, 0.66))


def render_clip(
    landmarks2d: np.ndarray,
    appearance: Appearance,
    size: tuple[int, int],
    rng: np.random.Generator,
    neutral: FaceShape | None = None,
) -> Iterator[np.ndarray]:
    """Render a clip frame by frame over one background.

    Parameters
    ----------
    landmarks2d
        ``(T, 68, 2)`` px.
    appearance
        The actor's look.
    size
        ``(H, W)`` in pixels.
    rng
        Per-clip randomness (the background's light and shift).
    neutral
        The actor's neutral shape (see ``render_frame``).

    Yields
    ------
    np.ndarray
        ``(H, W, 3)`` uint8 RGB, one per frame.
    """
    lmk = np.asarray(landmarks2d)
    if lmk.ndim != 3 or lmk.shape[1:] != (68, 2):
        raise InvalidInputError(f"render_clip: expected (T, 68, 2) landmarks, got {lmk.shape}")
    background = make_background(appearance, size, rng)
    for frame in lmk:
        yield render_frame(frame, appearance, size=size, background=background, neutral=neutral)
