"""Scatter plots of emotion codes coloured by emotion (paper Fig. 5), drawn with Pillow.

The paper shows t-SNE embeddings; here each panel is the codes' projection on their first
two principal components (PCA by numpy SVD): deterministic, fast for thousands of points,
and linear, so tight clusters in the plot are tight in the code space too (t-SNE can make
clusters look tighter than they are). Each panel has its own projection.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.eval._disentangle_metrics import pca_2d
from evp_studio.fileio import fsync_folder
from evp_studio.project import EMOTIONS

#: RGB colour of each emotion, in the order of :data:`EMOTIONS`.
EMOTION_COLOURS: tuple[tuple[int, int, int], ...] = (
    (214, 39, 40),  # angry: red
    (148, 103, 189),  # contempt: purple
    (44, 160, 44),  # disgusted: green
    (255, 127, 14),  # fear: orange
    (225, 190, 0),  # happy: yellow
    (127, 127, 127),  # neutral: grey
    (31, 119, 180),  # sad: blue
    (23, 190, 207),  # surprised: cyan
)
assert len(EMOTION_COLOURS) == len(EMOTIONS)

PANEL_PX = 480  # side of one square scatter panel
TITLE_PX = 40  # title band above the panels
LEGEND_PX = 160  # legend column right of the panels
_MARGIN = 28  # inside a panel, around the points
_RADIUS = 3
_BACKGROUND = (255, 255, 255)
_INK = (30, 30, 30)
_FRAME = (190, 190, 190)

Panel = tuple[str, np.ndarray, np.ndarray]  # (title, (N, d) codes, (N,) int labels)


def plot_size(n_panels: int) -> tuple[int, int]:
    """(width, height) in px of a plot with ``n_panels`` panels."""
    return n_panels * PANEL_PX + LEGEND_PX, PANEL_PX + TITLE_PX


def _check(panel: Panel) -> tuple[str, np.ndarray, np.ndarray]:
    title, codes, labels = panel
    x, y = np.asarray(codes), np.asarray(labels)
    if x.ndim != 2 or x.shape[0] == 0 or y.shape != (x.shape[0],):
        raise InvalidInputError(
            f"panel {title!r}: codes must be (N, d) with N >= 1 and labels (N,), "
            f"got {x.shape} and {y.shape}"
        )
    if not np.isfinite(x).all():
        raise InvalidInputError(f"panel {title!r}: codes hold NaN or infinite values")
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= len(EMOTIONS):
        raise InvalidInputError(f"panel {title!r}: labels must be ints in 0..{len(EMOTIONS) - 1}")
    return title, x, y.astype(np.int64)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _draw_panel(
    draw: ImageDraw.ImageDraw, left: int, panel: tuple[str, np.ndarray, np.ndarray], seed: int
) -> None:
    title, codes, labels = panel
    points, explained = pca_2d(codes)
    top, inner = TITLE_PX, PANEL_PX - 2 * _MARGIN
    draw.rectangle([left + 4, top, left + PANEL_PX - 4, top + PANEL_PX - 4], outline=_FRAME)
    draw.text((left + 8, 10), f"{title}  (n = {len(labels)})", fill=_INK, font=_font(16))
    axes = f"PCA: PC1 {100 * explained[0]:.0f} %, PC2 {100 * explained[1]:.0f} % of variance"
    draw.text((left + 10, top + PANEL_PX - 22), axes, fill=_INK, font=_font(11))
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = float(max((hi - lo).max(), 1e-12))  # one scale for both axes, as PCA distances
    centre = (lo + hi) / 2
    xy = (points - centre) / span * inner + (left + PANEL_PX / 2, top + PANEL_PX / 2)
    order = np.random.default_rng(seed).permutation(len(labels))  # no class always on top
    for i in order:
        cx, cy = float(xy[i, 0]), float(xy[i, 1])
        box = [cx - _RADIUS, cy - _RADIUS, cx + _RADIUS, cy + _RADIUS]
        draw.ellipse(box, fill=EMOTION_COLOURS[labels[i]])


def _draw_legend(draw: ImageDraw.ImageDraw, left: int, present: set[int]) -> None:
    font = _font(14)
    draw.text((left + 12, TITLE_PX + 8), "emotion", fill=_INK, font=font)
    for row, (label, name) in enumerate(enumerate(EMOTIONS)):
        y = TITLE_PX + 36 + 24 * row
        colour = EMOTION_COLOURS[label] if label in present else _FRAME
        draw.ellipse([left + 14, y + 3, left + 26, y + 15], fill=colour)
        draw.text((left + 34, y), name, fill=_INK if label in present else _FRAME, font=font)


def embedding_plot(panels: Sequence[Panel], path: str | Path, *, seed: int = 0) -> Path:
    """Write a PNG with one 2-D scatter of emotion codes per panel (paper Fig. 5).

    Each panel projects its codes on their first two principal components (PCA via numpy
    SVD, not the paper's t-SNE; see the module docstring) and colours each point by its
    emotion (:data:`EMOTION_COLOURS`); a shared legend names the emotions (greyed when
    absent from every panel).

    Parameters
    ----------
    panels
        ``(title, codes (N, d), labels (N,))`` per panel, e.g. ``("with L_cross", ...)``;
        labels are indices into :data:`EMOTIONS`.
    path
        The PNG to write (atomically: temp file, then rename).
    seed
        Seeds the drawing order of the points.

    Returns
    -------
    Path
        ``path``; the image is :func:`plot_size` ``(len(panels))`` px.

    Raises
    ------
    InvalidInputError
        When there is no panel, or codes or labels are malformed.
    ExportError
        When the file cannot be written.
    """
    if not panels:
        raise InvalidInputError("embedding plot: give at least one panel")
    checked = [_check(p) for p in panels]
    image = Image.new("RGB", plot_size(len(checked)), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    for i, panel in enumerate(checked):
        _draw_panel(draw, i * PANEL_PX, panel, seed + i)
    present = {int(v) for _, _, labels in checked for v in np.unique(labels)}
    _draw_legend(draw, len(checked) * PANEL_PX, present)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_bytes_atomic(Path(path), buffer.getvalue())


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a part.

    Raises
    ------
    ExportError
        When the file cannot be written; no temp file is left behind.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ExportError(path, f"cannot write the file ({e.strerror or e})") from e
        raise
    fsync_folder(path.parent)
    return path
