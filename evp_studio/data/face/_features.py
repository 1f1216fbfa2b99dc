"""Facial features drawn from 2D landmarks: skin shading, brows, eyes, nose, mouth.

Sizes are fractions of the face's half-width ``w`` (px, half the jaw-top span 0-16), so a face
renders the same at any resolution. ``ex``/``up`` are the face's lateral and up directions in
the image (unit 2-vectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from evp_studio.data.face import _draw as dr

SCLERA = (236.0, 232.0, 226.0)
TEETH = (236.0, 232.0, 214.0)
MOUTH_DARK = (52.0, 14.0, 18.0)
LASH = (28.0, 20.0, 20.0)


@dataclass(frozen=True)
class FaceFrame:
    """Image-space frame of a face."""

    ex: np.ndarray  # (2,) lateral unit vector, towards point 16
    up: np.ndarray  # (2,) unit vector, towards the brows
    w: float  # half-width px


def face_frame(lmk: np.ndarray) -> FaceFrame:
    """Frame of a ``(68, 2)`` landmark set."""
    d = lmk[42:48].mean(axis=0) - lmk[36:42].mean(axis=0)
    ex = d / max(float(np.hypot(*d)), 1e-6)
    return FaceFrame(
        ex, np.array([ex[1], -ex[0]]), max(0.5 * float(np.hypot(*(lmk[16] - lmk[0]))), 1.0)
    )


def _light_maps(
    lmk: np.ndarray, fr: FaceFrame, off: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """``(h, w, 2)`` uint8, unblurred: shadows (eye sockets, nose sides, nasolabial folds,
    under the nose and the lower lip) and highlights (forehead, nose, cheekbones, chin)."""
    shade, light = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    ex, up, fw = fr.ex, fr.up, fr.w
    pts = lmk - off
    for eye, sign in ((pts[36:42], -1.0), (pts[42:48], 1.0)):
        width = float(np.hypot(*(eye[3] - eye[0])))
        c = eye.mean(axis=0)
        dr.blob(shade, c + up * 0.12 * width, ex * 0.8 * width, up * 0.55 * width, 130)
        cheek = c - up * 0.75 * width + sign * ex * 0.25 * width
        dr.blob(light, cheek, ex * 0.45 * width, up * 0.22 * width, 150)
    for side, strength in ((-1.0, 80), (1.0, 130)):  # the nose shades the side away from the light
        wing, corner = pts[31 if side < 0 else 35], pts[48 if side < 0 else 54]
        bridge = np.array([pts[28] + side * ex * 0.08 * fw, wing + up * 0.04 * fw])
        dr.polyline(shade, bridge, strength, int(0.07 * fw) + 1)
        fold = np.array([wing + side * ex * 0.06 * fw, corner + side * ex * 0.07 * fw])
        dr.polyline(shade, fold, 0.6 * strength, int(0.04 * fw) + 1)
    dr.blob(shade, pts[33] - up * 0.04 * fw, ex * 0.16 * fw, up * 0.05 * fw, 70)
    dr.blob(shade, 0.65 * pts[57] + 0.35 * pts[8], ex * 0.22 * fw, up * 0.07 * fw, 80)
    dr.polyline(light, pts[[27, 28, 29]], 170, int(0.05 * fw) + 1)
    dr.blob(light, pts[30] + up * 0.03 * fw, ex * 0.05 * fw, up * 0.05 * fw, 220)
    forehead = 0.5 * (pts[21] + pts[22]) + up * 0.42 * fw
    dr.blob(light, forehead, ex * 0.35 * fw, up * 0.18 * fw, 140)
    dr.blob(light, pts[8] + up * 0.1 * fw, ex * 0.12 * fw, up * 0.06 * fw, 110)
    return np.dstack([shade, light])


def shade_skin(
    img: np.ndarray, poly: np.ndarray, lmk: np.ndarray, fr: FaceFrame, skin: dr.Color
) -> None:
    """Fill the face polygon with shaded skin, lit from the image left.

    Darker towards the outline, in the eye sockets, beside the nose and under the lip; a soft
    sheen on the forehead, nose, cheekbones and chin (additive, so dark skin shows it too).
    """
    x0, y0, x1, y1 = dr.roi_box(poly, 2, img.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], dtype=np.float64)
    h, w = y1 - y0, x1 - x0
    mask = np.zeros((h, w), np.uint8)
    dr.fill(mask, [poly - off], 255)
    small = (max(w // 2, 1), max(h // 2, 1))  # blur at half resolution: 4x cheaper
    sig = max(0.045 * fr.w, 0.5)
    edge = cv2.GaussianBlur(cv2.resize(mask, small, interpolation=cv2.INTER_AREA), (0, 0), 2 * sig)
    maps = cv2.GaussianBlur(
        cv2.resize(_light_maps(lmk, fr, off, (h, w)), small, interpolation=cv2.INTER_AREA),
        (0, 0),
        0.8 * sig,
    )
    edge = cv2.resize(edge, (w, h)).astype(np.float32) * (1.7 / 255.0)
    maps = cv2.resize(maps, (w, h)).astype(np.float32) * (1.0 / 255.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = lmk[27:36].mean(axis=0) - off
    lat = ((xx - centre[0]) * fr.ex[0] + (yy - centre[1]) * fr.ex[1]) / fr.w
    factor = (0.8 + 0.2 * np.minimum(edge, 1.0)) * (1.0 - 0.32 * maps[..., 0]) * (1.0 - 0.08 * lat)
    colour = factor[..., None] * np.asarray(skin, np.float32) + (maps[..., 1] * 42.0)[..., None]
    dr.blend(img[y0:y1, x0:x1], np.clip(colour, 0, 255), mask)


def draw_brows(
    img: np.ndarray, lmk: np.ndarray, fr: FaceFrame, colour: dr.Color, thick: float
) -> None:
    """Tapered brows: thin at the tail, full at the head."""
    profile = np.array([0.22, 0.42, 0.5, 0.5, 0.45])  # half-thickness, outer -> inner
    for idx, prof in ((np.arange(17, 22), profile), (np.arange(22, 27), profile[::-1])):
        p = lmk[idx].astype(np.float64)
        tan = np.gradient(p, axis=0)
        nrm = np.stack([tan[:, 1], -tan[:, 0]], 1) / (
            np.hypot(tan[:, 0], tan[:, 1])[:, None] + 1e-9
        )
        nrm *= np.sign(nrm @ fr.up)[:, None] + (nrm @ fr.up == 0)[:, None]
        half = thick * prof
        poly = np.vstack([p + nrm * half[:, None] * 1.1, (p - nrm * half[:, None] * 0.9)[::-1]])
        dr.fill(img, [poly], colour)


def draw_eye(
    img: np.ndarray, eye: np.ndarray, fr: FaceFrame, iris: dr.Color, skin: dr.Color
) -> None:
    """Sclera almond, iris and pupil clipped to it, lash line, lower lid and lid crease."""
    width = float(np.hypot(*(eye[3] - eye[0])))
    x0, y0, x1, y1 = dr.roi_box(eye, 0.35 * width, img.shape)
    if x1 > x0 and y1 > y0:
        off = np.array([x0, y0], dtype=np.float64)
        roi = img[y0:y1, x0:x1]
        mask = np.zeros(roi.shape[:2], np.uint8)
        dr.fill(mask, [eye - off], 255)
        if mask.any():
            content = np.empty_like(roi)
            content[:] = SCLERA
            opening = float(((eye[1:3] - eye[[5, 4]]) @ fr.up).mean())
            c = 0.5 * (eye[0] + eye[3]) + fr.up * 0.15 * max(opening, 0.0) - off
            r = 0.23 * width
            dr.disc(content, c, r, dr.scaled(iris, 0.55))
            dr.disc(content, c, 0.85 * r, iris)
            dr.disc(content, c, 0.42 * r, (12.0, 10.0, 10.0))
            dr.disc(content, c + (fr.up - fr.ex) * 0.3 * r, 0.16 * r, (250.0, 250.0, 250.0))
            dr.blend(roi, content, mask)
    lash = max(int(round(0.035 * fr.w)), 1)
    dr.polyline(img, eye[[0, 1, 2, 3]], LASH, lash)
    dr.polyline(img, eye[[3, 4, 5, 0]], dr.scaled(skin, 0.55), max(lash - 1, 1))
    crease = eye[[0, 1, 2, 3]] + fr.up * 0.13 * width
    crease[[0, 3]] = eye[[0, 3]] + fr.up * 0.05 * width
    dr.polyline(img, crease, dr.scaled(skin, 0.7), 1)


def draw_nose(img: np.ndarray, lmk: np.ndarray, fr: FaceFrame, skin: dr.Color) -> None:
    """Nostrils (dark), the nose base line and the wings."""
    base = lmk[31:36]
    dr.polyline(img, base, dr.scaled(skin, 0.62), 1)
    for outer, inner in ((31, 32), (35, 34)):
        span = lmk[inner] - lmk[outer]
        length = float(np.hypot(*span))
        c = lmk[outer] + 0.55 * span + fr.up * 0.18 * length
        dr.blob(img, c, span * 0.42, fr.up * 0.24 * length, dr.scaled(skin, 0.3))
        wing = np.array(
            [
                lmk[outer] - fr.up * 0.1 * length,
                lmk[outer] + fr.up * 0.6 * length + 0.15 * (lmk[outer] - lmk[33]),
                lmk[outer] + fr.up * 1.1 * length + 0.1 * span,
            ]
        )
        dr.polyline(img, wing, dr.scaled(skin, 0.68), 1)


def draw_mouth(
    img: np.ndarray,
    lmk: np.ndarray,
    fr: FaceFrame,
    lip: dr.Color,
    teeth_edge: np.ndarray,
    mm: float,
) -> None:
    """Lips, the dark mouth interior with teeth clipped to it, the lip line.

    ``teeth_edge`` ``(5, 2)`` px is the upper incisal edge under the inner lip points 60-64
    (fixed to the skull, so a raised upper lip shows more teeth); ``mm`` is px per mm.
    """
    outer, inner = lmk[48:60], lmk[60:68]
    width = float(np.hypot(*(outer[6] - outer[0])))
    x0, y0, x1, y1 = dr.roi_box(outer, 2, img.shape)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], dtype=np.float64)
    roi = img[y0:y1, x0:x1]
    upper = np.vstack([outer[0:7], inner[[4, 3, 2, 1, 0]]]) - off
    lower = np.vstack([outer[[6, 7, 8, 9, 10, 11, 0]], inner[[0, 7, 6, 5, 4]]]) - off
    dr.fill(roi, [upper], dr.scaled(lip, 0.86))
    dr.fill(roi, [lower], lip)
    highlight = 0.6 * lmk[57] + 0.4 * lmk[66] - off
    dr.blob(roi, highlight, fr.ex * 0.12 * width, fr.up * 0.04 * width, dr.scaled(lip, 1.12))
    opening = float(((inner[[1, 2, 3]] - inner[[7, 6, 5]]) @ fr.up).mean())
    if opening > 0.3:  # px; closed lips get no interior at all (not even an anti-aliased seam)
        _interior(roi, inner - off, fr, width, teeth_edge - off, mm)
    dr.polyline(img, inner[[0, 1, 2, 3, 4]], dr.scaled(lip, 0.45), 1)


def _interior(
    roi: np.ndarray, inner: np.ndarray, fr: FaceFrame, width: float, edge: np.ndarray, mm: float
) -> None:
    """Dark mouth with tongue, lower teeth (1.8 mm) and upper teeth down to the incisal edge
    (1.5-6 mm), all clipped to the inner-lip polygon ``inner`` (ROI px)."""
    mask = np.zeros(roi.shape[:2], np.uint8)
    dr.fill(mask, [inner], 255)
    content = np.empty_like(roi)
    content[:] = MOUTH_DARK
    dr.blob(content, inner[6], fr.ex * 0.22 * width, fr.up * 0.08 * width, (140.0, 55.0, 60.0))
    low = inner[[0, 7, 6, 5, 4]]
    dr.fill(content, [np.vstack([low, (low + fr.up * 1.8 * mm)[::-1]])], dr.scaled(TEETH, 0.85))
    up = inner[[0, 1, 2, 3, 4]]
    depth = np.clip((up - edge) @ fr.up, 1.5 * mm, 6.0 * mm)
    dr.fill(content, [np.vstack([up, (up - fr.up * depth[:, None])[::-1]])], TEETH)
    dr.blend(roi, content, mask)
