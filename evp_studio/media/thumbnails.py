"""Small RGB thumbnails of a video for the timeline, streamed as they are decoded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken
from evp_studio.media.video import VideoReader


def thumbnail_indices(frame_count: int, *, every_n: int | None, count: int | None) -> np.ndarray:
    """Return the frame indices to thumbnail.

    Parameters
    ----------
    frame_count
        Frames in the clip.
    every_n
        Take every n-th frame from 0.
    count
        Take this many frames, evenly spaced from the first to the last.

    Returns
    -------
    np.ndarray
        ``(M,)`` int64 increasing display indices; every frame when neither is given.

    Raises
    ------
    InvalidInputError
        When both are given or either is not positive.
    """
    if every_n is not None and count is not None:
        raise InvalidInputError(f"give every_n ({every_n}) or count ({count}), not both")
    if (every_n is not None and every_n <= 0) or (count is not None and count <= 0):
        raise InvalidInputError(f"every_n ({every_n}) and count ({count}) must be positive")
    if count is not None:
        spaced = np.linspace(0, frame_count - 1, min(count, frame_count))
        return np.unique(np.round(spaced).astype(np.int64))
    return np.arange(0, frame_count, every_n or 1, dtype=np.int64)


def iter_thumbnails(
    path: str | Path,
    *,
    every_n: int | None = None,
    count: int | None = None,
    height: int = 64,
    cancel: CancelToken | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield small thumbnails of a video, decoding forward through it.

    Each decoded frame is scaled straight from YUV to a small RGB image (area filter),
    which costs far less than a full-size RGB conversion. Between far-apart thumbnails
    the decoder seeks rather than decoding every frame in between.

    Parameters
    ----------
    path
        The video file.
    every_n
        Take every n-th frame.
    count
        Take this many evenly spaced frames, first and last included.
    height
        Thumbnail height in pixels; the width keeps the display aspect ratio.
    cancel
        Checked before each thumbnail.

    Yields
    ------
    tuple[int, np.ndarray]
        ``(frame index, (height, W, 3) uint8 RGB)`` after display rotation.

    Raises
    ------
    InvalidInputError
        When the arguments are invalid.
    MediaError
        When the file cannot be read.
    Cancelled
        When ``cancel`` is set.
    """
    if height <= 0:
        raise InvalidInputError(f"{path}: thumbnail height {height} must be positive")
    with VideoReader(path, cache_bytes=0) as reader:
        indices = thumbnail_indices(reader.frame_count, every_n=every_n, count=count)
        for index in indices:
            if cancel is not None:
                cancel.check()
            yield int(index), read_thumbnail(reader, int(index), height=height)


def read_thumbnail(reader: VideoReader, index: int, *, height: int) -> np.ndarray:
    """Decode one frame straight to a small RGB thumbnail.

    The frame is scaled from YUV to RGB in one step (area filter), which costs far less
    than a full-size RGB conversion; the display rotation is applied afterwards.

    Parameters
    ----------
    reader
        An open reader, used by one thread at a time.
    index
        Display index of the frame.
    height
        Thumbnail height in pixels (> 0); the width keeps the display aspect ratio.

    Returns
    -------
    np.ndarray
        ``(height, W, 3)`` uint8 RGB after display rotation.

    Raises
    ------
    InvalidInputError
        When ``height`` is not positive.
    IndexError
        When ``index`` is outside the clip.
    MediaError
        When the frame cannot be decoded.
    """
    if height <= 0:
        raise InvalidInputError(f"{reader.path}: thumbnail height {height} must be positive")
    info = reader.info
    display_w, display_h = info.display_size
    width = max(1, round(height * display_w / display_h))
    # Scale in the coded orientation, then rotate: coded width becomes display height.
    coded_w, coded_h = (height, width) if info.rotation in (90, 270) else (width, height)
    frame = reader.decoded_frame(index)
    small: np.ndarray = frame.reformat(
        width=coded_w,
        height=coded_h,
        format="rgb24",
        interpolation="AREA",
        src_color_range=frame.color_range or None,
    ).to_ndarray()
    if info.rotation:
        small = np.ascontiguousarray(np.rot90(small, k=-(info.rotation // 90)))
    return small
