"""Frame-accurate video reading: random access by frame index and streaming decode.

Cache policy: :class:`VideoReader` keeps a least-recently-used cache bounded in bytes.
The frame asked for is stored as RGB; frames the decoder passes on its way to it (after
a seek, or when skipping ahead) are stored as the decoder's YUV frames, which costs no
conversion and half the bytes, and are converted only if they are read. Scrubbing
backwards through a group of pictures is then served from the cache after one seek.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import av.container
import numpy as np

from evp_studio.errors import InvalidInputError, NoVideoStreamError
from evp_studio.jobs import CancelToken
from evp_studio.media._cache import FrameCache
from evp_studio.media._container import open_input
from evp_studio.media._decoder import FrameDecoder
from evp_studio.media._index import FrameIndex
from evp_studio.media.probe import MediaInfo, VideoStreamInfo, probe_container

log = logging.getLogger(__name__)

# Slack when mapping a time to a frame: absorbs float rounding of ``i / rate``, s.
_TIME_EPS_S = 1e-6


def to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """Convert a decoded frame to display-oriented RGB.

    Parameters
    ----------
    frame
        Decoded frame in any pixel format.
    rotation
        Clockwise display rotation, degrees (0/90/180/270).

    Returns
    -------
    np.ndarray
        ``(H, W, 3)`` uint8, C-contiguous, after rotation.
    """
    # the frame carries its matrix (BT.601/709); its range must be passed explicitly
    rgb: np.ndarray = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None)
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-(rotation // 90)))
    return rgb


def _probe_video(
    container: av.container.InputContainer, path: Path
) -> tuple[MediaInfo, VideoStreamInfo, FrameIndex]:
    """Probe an open container that must have a video stream."""
    media, index = probe_container(container, path)
    if media.video is None or index is None:
        raise NoVideoStreamError(path, "file has no video stream")
    return media, media.video, index


class VideoReader:
    """Random access and streaming decode of a file's video stream, by frame index.

    Frame ``i`` is the ``i``-th frame in display order; its time is ``timestamps[i]``,
    taken from the container, which keeps 30000/1001 and variable frame rates exact.
    A reader is meant for one thread at a time; a lock serialises concurrent calls.

    Parameters
    ----------
    path
        The video file.
    cache_bytes
        Limit of the frame cache in bytes; 0 disables it.

    Raises
    ------
    MediaError
        When the file cannot be read (see :func:`probe`).
    NoVideoStreamError
        When the file has no video stream.
    """

    def __init__(self, path: str | Path, *, cache_bytes: int = 256 * 2**20) -> None:
        self.path = Path(path)
        self._container = open_input(self.path)
        try:
            media, info, index = _probe_video(self._container, self.path)
        except Exception:
            self._container.close()
            raise
        self.media: MediaInfo = media
        self.info: VideoStreamInfo = info
        self._timestamps = index.timestamps()
        self._timestamps.flags.writeable = False
        stream = self._container.streams.video[0]
        self._decoder = FrameDecoder(self._container, stream, index, self.path)
        self._cache = FrameCache(cache_bytes)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def frame_count(self) -> int:
        """Number of frames."""
        return self.info.frame_count

    @property
    def timestamps(self) -> np.ndarray:
        """``(N,)`` float64 seconds of each frame from the first one (read-only)."""
        return self._timestamps

    @property
    def cache_nbytes(self) -> int:
        """Bytes currently held by the frame cache."""
        return self._cache.nbytes

    @property
    def seek_count(self) -> int:
        """Seeks done so far (diagnostics: scrubbing forward should not add any)."""
        return self._decoder.seek_count

    def index_at_time(self, t_s: float) -> int:
        """Return the frame shown at time ``t_s``: the last one starting at or before it.

        Parameters
        ----------
        t_s
            Seconds from the first frame; clamped to the clip.

        Returns
        -------
        int
            Display index in ``[0, frame_count)``.
        """
        i = int(np.searchsorted(self._timestamps, t_s + _TIME_EPS_S, side="right")) - 1
        return min(max(i, 0), self.frame_count - 1)

    def read(self, index: int) -> np.ndarray:
        """Return frame ``index``, exactly, by seeking or decoding forward.

        Parameters
        ----------
        index
            Display index, ``0 <= index < frame_count``.

        Returns
        -------
        np.ndarray
            ``(H, W, 3)`` uint8 RGB after display rotation. Read-only, as it is shared
            with the cache: ``.copy()`` it before drawing on it.

        Raises
        ------
        IndexError
            When ``index`` is out of range.
        MediaError
            When the frame cannot be decoded.
        """
        self._check_index(index)
        with self._lock:
            self._check_open()
            cached = self._cache.get(index)
            if isinstance(cached, np.ndarray):
                return cached
            if cached is None:
                cached = self._decoder.frame_at(index, self._keep_passed)
            rgb = to_rgb(cached, self.info.rotation)
            rgb.flags.writeable = False
            self._cache.put(index, rgb)
            return rgb

    def iter_frames(
        self, start: int = 0, stop: int | None = None, *, cancel: CancelToken | None = None
    ) -> Iterator[np.ndarray]:
        """Decode frames ``start .. stop-1`` in order, streaming (the cache is not used).

        Parameters
        ----------
        start
            First display index.
        stop
            One past the last index; None for the end of the clip.
        cancel
            Checked before each frame.

        Yields
        ------
        np.ndarray
            ``(H, W, 3)`` uint8 RGB after display rotation, a fresh writable array.

        Raises
        ------
        InvalidInputError
            When the range is not inside the clip.
        Cancelled
            When ``cancel`` is set.
        """
        stop = self.frame_count if stop is None else stop
        if not 0 <= start <= stop <= self.frame_count:
            raise InvalidInputError(
                f"{self.path}: frame range {start}..{stop} is outside 0..{self.frame_count}"
            )
        for index in range(start, stop):
            if cancel is not None:
                cancel.check()
            with self._lock:
                self._check_open()
                frame = self._decoder.frame_at(index)
                rgb = to_rgb(frame, self.info.rotation)
            yield rgb

    def decoded_frame(self, index: int) -> av.VideoFrame:
        """Return frame ``index`` as the decoder's frame, uncached and unrotated.

        For callers that convert it themselves, e.g. straight to a small thumbnail.

        Parameters
        ----------
        index
            Display index.

        Returns
        -------
        av.VideoFrame
            The decoded frame in the stream's pixel format, before rotation.
        """
        self._check_index(index)
        with self._lock:
            self._check_open()
            return self._decoder.frame_at(index)

    def close(self) -> None:
        """Release the decoder and the cache; further reads raise."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._cache.clear()
                self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _keep_passed(self, index: int, frame: av.VideoFrame) -> None:
        """Cache a frame decoded on the way to another, unless it is cached already."""
        if index not in self._cache:
            self._cache.put(index, frame)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path}: frame {index} is outside 0..{self.frame_count - 1}")

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: reader is closed")
