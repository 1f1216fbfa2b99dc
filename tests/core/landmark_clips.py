"""Real-face images and small clips made from them, for the landmark tests and the benchmark.

Faces are real photographs shipped with scikit-image: the astronaut (Eileen Collins) and the
LFW subset (25x25 grey face crops, upscaled). Clips are encoded with our own VideoWriter.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from evp_studio.media import VideoWriter

CANVAS = (256, 192)  # (width, height) of the test clips


def astronaut_patch() -> np.ndarray:
    """``(192, 192, 3)`` uint8: the astronaut's head and shoulders, face ~64 px wide."""
    img = cv2.resize(skimage.data.astronaut(), (384, 384), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[0:192, 70:262])


def lfw_face(index: int, side: int = 100, border: int = 30) -> np.ndarray:
    """An LFW face crop upscaled to ``side`` px, with a replicated border, as RGB uint8."""
    grey = (skimage.data.lfw_subset()[index] * 255).astype(np.uint8)
    up = cv2.resize(grey, (side, side), interpolation=cv2.INTER_CUBIC)
    up = cv2.copyMakeBorder(up, border, border, border, border, cv2.BORDER_REPLICATE)
    return np.repeat(up[..., None], 3, axis=-1)


def affine(scale: float, tx: float, ty: float) -> np.ndarray:
    """``(2, 3)`` matrix ``x -> scale * x + (tx, ty)``."""
    return np.array([[scale, 0.0, tx], [0.0, scale, ty]])


def place(patch: np.ndarray, m: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
    """Warp ``patch`` by ``m`` onto a mid-grey canvas (or over ``canvas``)."""
    w, h = CANVAS
    warped = cv2.warpAffine(patch, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.ones(patch.shape[:2], np.uint8), m, (w, h), flags=cv2.INTER_NEAREST)
    base = np.full((h, w, 3), 128, np.uint8) if canvas is None else canvas.copy()
    base[mask > 0] = warped[mask > 0]
    return base


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    """Sensor-like Gaussian noise, so that a still face jitters like a real recording."""
    out = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def write_clip(
    path: Path, n_frames: int, frame_at: Callable[[int], np.ndarray], rate: int = 25
) -> Path:
    """Encode ``frame_at(0..n-1)`` (RGB, the canvas size or any even size) as H.264."""
    first = frame_at(0)
    h, w = first.shape[:2]
    with VideoWriter(path, width=w, height=h, frame_rate=Fraction(rate)) as writer:
        writer.write(first)
        for i in range(1, n_frames):
            writer.write(frame_at(i))
    return path


def write_rotated_clip(path: Path, frames: list[np.ndarray], rotation: int) -> Path:
    """Store upright ``frames`` turned by ``-rotation`` with a display matrix that turns
    them back (as phones do for portrait clips)."""
    coded = [np.ascontiguousarray(np.rot90(f, k=rotation // 90)) for f in frames]
    h, w = coded[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        stream.set_display_rotation(-rotation)  # PyAV's angle is counter-clockwise
        for i, f in enumerate(coded):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def moving_transforms(n_frames: int) -> list[np.ndarray]:
    """A head that drifts sideways and zooms in and out (0.85x..1.15x) about its face."""
    out = []
    for t in range(n_frames):
        s = 1.0 + 0.15 * np.sin(t / 6.0)
        tx, ty = 30 + 12 * np.sin(t / 5.0), 4 * np.cos(t / 7.0)
        # zoom about the face centre (~(98, 92) in the patch)
        out.append(affine(s, tx + 98 * (1 - s), ty + 92 * (1 - s)))
    return out


def apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``(..., 2)`` points by a ``(2, 3)`` affine matrix."""
    return np.asarray(points) @ m[:, :2].T + m[:, 2]
