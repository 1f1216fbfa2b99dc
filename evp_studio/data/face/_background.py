"""Textured backgrounds: a smooth wall with framed pictures, blinds or shelves behind the actor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from evp_studio.data.face import _draw as dr

if TYPE_CHECKING:
    from evp_studio.data.face.render import Appearance


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """``(H, W)`` float32 in about [0, 1]: bicubic upsampling of a coarse random grid."""
    h, w = size
    coarse = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _frames(img: np.ndarray, rng: np.random.Generator, palette: np.ndarray) -> None:
    h, w = img.shape[:2]
    for _ in range(rng.integers(2, 5)):
        bw, bh = rng.uniform(0.15, 0.35) * w, rng.uniform(0.12, 0.3) * h
        x0, y0 = rng.uniform(-0.1, 1.0) * w - bw / 2, rng.uniform(-0.05, 0.7) * h
        box = np.array([[x0, y0], [x0 + bw, y0], [x0 + bw, y0 + bh], [x0, y0 + bh]])
        frame = palette[2] * rng.uniform(0.35, 0.7)
        dr.fill(img, [box], dr.scaled(frame, 1.0))
        inner = box + np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * 0.08 * min(bw, bh)
        picture = dr.mix(palette[rng.integers(0, 3)], rng.uniform(40, 230, 3), 0.5)
        dr.fill(img, [inner], picture)
        # a few strokes inside the picture (a landscape horizon, a sun)
        yh = inner[0, 1] + rng.uniform(0.4, 0.7) * (inner[2, 1] - inner[0, 1])
        dr.fill(img, [np.array([inner[3], [inner[0, 0], yh], [inner[1, 0], yh], inner[2]])],
                dr.scaled(picture, 0.65))  # fmt: skip


def _blinds(img: np.ndarray, rng: np.random.Generator, palette: np.ndarray) -> None:
    h, w = img.shape[:2]
    left = rng.random() < 0.5
    x0, x1 = (0.0, rng.uniform(0.2, 0.35) * w) if left else (rng.uniform(0.65, 0.8) * w, float(w))
    period = rng.uniform(0.025, 0.05) * h
    light, dark = dr.scaled(palette[2], 1.15), dr.scaled(palette[2], 0.7)
    for k, y in enumerate(np.arange(rng.uniform(0, period), h, period)):
        band = np.array([[x0, y], [x1, y], [x1, y + 0.55 * period], [x0, y + 0.55 * period]])
        dr.fill(img, [band], light if k % 2 else dark)
    edge = x1 if left else x0  # the window frame beside the blinds
    dr.fill(img, [np.array([[edge - 3, 0], [edge + 3, 0], [edge + 3, h], [edge - 3, h]])],
            dr.scaled(palette[2], 0.4))  # fmt: skip


def _shelves(img: np.ndarray, rng: np.random.Generator, palette: np.ndarray) -> None:
    h, w = img.shape[:2]
    for _ in range(rng.integers(2, 4)):
        y = rng.uniform(0.1, 0.9) * h
        xa, xb = sorted(rng.uniform(-0.2, 1.2, 2) * w)
        dr.fill(
            img,
            [np.array([[xa, y], [xb, y], [xb, y + 4], [xa, y + 4]])],
            dr.scaled(palette[2], 0.5),
        )
        for x in np.arange(xa + 4, xb - 6, rng.uniform(6, 12)):
            bh = rng.uniform(0.04, 0.1) * h
            book = np.array([[x, y - bh], [x + 5, y - bh], [x + 5, y], [x, y]])
            dr.fill(img, [book], dr.mix(palette[rng.integers(0, 3)], rng.uniform(30, 220, 3), 0.6))


def make_background(
    appearance: Appearance, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Draw a clip's background; reuse it for every frame of the clip.

    The layout (wall, pictures, blinds, shelves) comes from ``appearance.background_seed``, so an
    actor keeps one room, as in MEAD; ``rng`` varies the light and a small camera shift per clip.

    Parameters
    ----------
    appearance
        The actor's palette and background seed.
    size
        ``(H, W)`` in pixels.
    rng
        Per-clip randomness.

    Returns
    -------
    np.ndarray
        ``(H, W, 3)`` uint8 RGB with sharp edges (Canny finds them) away from the centre.
    """
    h, w = size
    pad = max(h, w) // 16  # room for the per-clip shift
    big = (h + 2 * pad, w + 2 * pad)
    scene = np.random.default_rng(appearance.background_seed)
    palette = np.asarray(appearance.background_palette, dtype=np.float32)
    noise = _smooth_noise(scene, big, 5)[..., None]
    grad = np.linspace(1.08, 0.9, big[0], dtype=np.float32)[:, None, None]
    img = (palette[0] * (1 - noise) + palette[1] * noise) * grad
    img = np.clip(img, 0, 255).astype(np.uint8)
    kind = scene.integers(0, 3)
    (_frames, _blinds, _shelves)[kind](img, scene, palette)
    if scene.random() < 0.6:  # a second element
        (_frames, _blinds, _shelves)[(kind + 1 + scene.integers(0, 2)) % 3](img, scene, palette)
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    out = img[dy : dy + h, dx : dx + w].astype(np.float32) * rng.uniform(0.88, 1.1)
    grain = scene.normal(0.0, 2.5, (h, w, 1)).astype(np.float32)
    return np.clip(out + grain, 0, 255).astype(np.uint8)
