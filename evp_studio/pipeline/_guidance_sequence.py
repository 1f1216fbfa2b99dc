"""Guidance maps of an export's frames as a PNG sequence, replaced as a whole when complete.

Re-exported by :mod:`evp_studio.pipeline.side_outputs`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from evp_studio.errors import ExportError
from evp_studio.fileio import fsync_folder
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.render.guidance import background_edges, guidance_map

GUIDANCE_PATTERN = re.compile(r"guidance_\d{6}\.png")


class FrameReader(Protocol):
    """What is read of a :class:`evp_studio.media.VideoReader`."""

    def read(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB frame ``index``."""


def guidance_frame_name(frame: int) -> str:
    """File name of output frame ``frame`` in a guidance PNG sequence."""
    return f"guidance_{frame:06d}.png"


def foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that a guidance sequence would not have written (sorted)."""
    return sorted(p.name for p in folder.iterdir() if not GUIDANCE_PATTERN.fullmatch(p.name))


def _guidance_png(path: Path, frame: np.ndarray, points: np.ndarray) -> bytes:
    if np.isfinite(points).all():
        edge = (guidance_map(frame, points)[0] * 255.0 + 0.5).astype(np.uint8)
    else:  # no pose at this frame: the frame's edges only, as the preview shows it
        edge = background_edges(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
    ok, png = cv2.imencode(".png", edge)
    if not ok:
        raise ExportError(path, "PNG encoding of the guidance map failed")
    return png.tobytes()


def write_guidance_maps(
    folder: str | os.PathLike[str],
    reader: FrameReader,
    placed: ProjectLandmarks,
    *,
    start: int,
    stop: int,
    cancel: CancelToken | None = None,
) -> Job[int]:
    """Write channel 0 of the guidance map of output frames ``start:stop`` as PNGs (a Job).

    Each frame is ``guidance_NNNNNN.png`` (the output frame index), 8-bit grey, the target
    frame's size: the edges outside the face united with the sketch of the predicted
    landmarks, the image the Edge-to-Video renderer is conditioned on.

    Parameters
    ----------
    folder
        Created if missing; an existing one may only hold an earlier guidance sequence,
        which is replaced as a whole once the new one is complete.
    reader
        The target video.
    placed
        The predicted landmarks; ``target_index`` picks each output frame's source frame.
    start, stop
        Half-open range of output frames.
    cancel
        Checked at every frame; a cancel leaves nothing new behind.

    Returns
    -------
    Job[int]
        The number of PNGs written.

    Raises
    ------
    ExportError
        When the folder holds other files, or a file cannot be written.
    """
    dest = Path(folder)
    if dest.exists() and (not dest.is_dir() or foreign_files(dest)):
        raise ExportError(
            dest, "holds files that are not guidance maps; choose an empty or new folder"
        )
    tmp = dest.with_name(f".{dest.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        for k, i in enumerate(range(start, stop), start=1):
            if cancel is not None:
                cancel.check()
            frame = reader.read(int(placed.target_index[i]))
            png = _guidance_png(dest / guidance_frame_name(i), frame, placed.landmarks[i])
            _write_file(tmp / guidance_frame_name(i), png)
            yield Progress("Writing guidance maps", k, stop - start)
        _swap_folder(tmp, dest)
    except OSError as e:
        raise ExportError(dest, f"cannot write the guidance maps ({e.strerror or e})") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stop - start


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)


def _swap_folder(new: Path, dest: Path) -> None:
    """Put the finished folder ``new`` in place of ``dest`` (which may not exist)."""
    fsync_folder(new)
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)  # put the previous sequence back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_folder(dest.parent)
