"""Opening media files with PyAV and turning its failures into :class:`MediaError`.

Every module of the media layer opens input files through :func:`open_input`, so a
missing, empty or non-media file gets the same clear message wherever it is opened.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import av
import av.container

from evp_studio.errors import MediaError

log = logging.getLogger(__name__)

NOT_MEDIA = "file is truncated or not a media file"


def ffmpeg_reason(error: BaseException) -> str:
    """Return FFmpeg's short description of ``error`` without the repeated file name.

    Parameters
    ----------
    error
        An ``av.FFmpegError`` or ``OSError``.

    Returns
    -------
    str
        For example ``"Invalid data found when processing input"``.
    """
    reason = getattr(error, "strerror", None)
    return str(reason) if reason else str(error)


def check_readable(path: Path) -> None:
    """Raise :class:`MediaError` when ``path`` cannot possibly be a media file.

    Parameters
    ----------
    path
        The file to check.

    Raises
    ------
    MediaError
        When the file is missing, a folder, or empty.
    """
    if not path.exists():
        raise MediaError(path, "file does not exist")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(path, "file is empty (0 bytes)")


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading.

    Video streams are set to multi-threaded decoding (frame and slice threads), which
    FFmpeg needs to know before the first packet is decoded.

    Parameters
    ----------
    path
        The file to open.

    Returns
    -------
    av.container.InputContainer
        The open container; the caller closes it.

    Raises
    ------
    MediaError
        When the file is missing, empty, not media, truncated before its index, or has
        neither an audio nor a video stream.
    """
    check_readable(path)
    try:
        container = cast(av.container.InputContainer, av.open(str(path), metadata_errors="ignore"))
    except av.InvalidDataError as e:
        raise MediaError(path, f"{NOT_MEDIA} ({ffmpeg_reason(e)})") from e
    except (av.FFmpegError, OSError) as e:
        raise MediaError(path, f"cannot open: {ffmpeg_reason(e)}") from e
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise MediaError(path, f"{NOT_MEDIA} (no audio or video stream found)")
    for stream in container.streams.video:
        stream.thread_type = "AUTO"
    return container
