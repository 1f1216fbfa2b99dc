"""Frame-accurate decoding by display index on one open decoder.

Seek strategy: to get frame ``i`` the decoder seeks to the last keyframe at or before
``i`` (from the packet index) and decodes forward until the frame whose timestamp is
``pts[i]`` comes out. When ``i`` lies ahead of the last decoded frame and no keyframe
lies between them, it keeps decoding instead of seeking, so scrubbing and playing forward
cost one decode per frame. Some demuxers (MPEG-TS) land after the requested time; when
a seek misses its target, the decoder learns a pre-roll (1 s, doubling) that later seeks
subtract, and as a last resort decodes from the start of the stream.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Generator
from pathlib import Path
from typing import cast

import av
import av.container
import av.video.stream

from evp_studio.errors import MediaError
from evp_studio.media._container import ffmpeg_reason
from evp_studio.media._index import FrameIndex

log = logging.getLogger(__name__)

# Seeks tried per frame: at the keyframe, with growing pre-roll, then from the start.
_SEEK_ATTEMPTS = 5
# Called with (display index, frame) for each frame decoded on the way to a target.
PassedFrame = Callable[[int, av.VideoFrame], None]


class FrameDecoder:
    """Decodes the frames of one video stream by display index.

    Not thread-safe: the owner serialises calls.

    Parameters
    ----------
    container
        The open input; the decoder owns its read position.
    stream
        The video stream.
    index
        The stream's frame index.
    path
        The file, for messages.
    """

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        index: FrameIndex,
        path: Path,
    ) -> None:
        self._container = container
        self._stream = stream
        self._index = index
        self._path = path
        self._packets: Generator[av.Packet, None, None] | None = None
        self._pending: deque[av.VideoFrame] = deque()
        self._last = -1  # display index of the last frame the decoder returned
        self._floor = 0  # frames before the seek keyframe (open GOP leaders) are not clean
        self._landed: int | None = None  # first frame decoded after the last seek
        self._preroll = 0  # ticks to seek before a keyframe, for demuxers that land late
        self._second = max(1, round(1 / index.time_base))  # ticks
        self.seek_count = 0

    def frame_at(self, index: int, on_passed: PassedFrame | None = None) -> av.VideoFrame:
        """Decode and return frame ``index`` (display order).

        Parameters
        ----------
        index
            Display index, ``0 <= index < frame_count``.
        on_passed
            Receives the frames decoded on the way to the target.

        Returns
        -------
        av.VideoFrame
            The decoded frame, in the stream's own pixel format.

        Raises
        ------
        MediaError
            When the frame cannot be decoded.
        """
        if self._can_continue_to(index):
            frame = self._decode_until(index, on_passed)
            if frame is not None:
                return frame
        key = self._index.keyframe_at_or_before(index)
        for attempt in range(_SEEK_ATTEMPTS):
            last_resort = attempt == _SEEK_ATTEMPTS - 1
            target = int(self._index.pts[0]) - self._second if last_resort else None
            self._seek(key, target)
            frame = self._decode_until(index, on_passed)
            if frame is not None:
                return frame
            if self._landed is not None and self._landed <= key:
                break  # decoding started early enough, yet the frame never came out
            self._preroll = max(2 * self._preroll, self._second)
            log.debug(
                "%s: seek missed frame %d; pre-roll now %d ticks", self._path, index, self._preroll
            )
        raise MediaError(self._path, f"cannot decode video frame {index} (damaged file?)")

    def _can_continue_to(self, index: int) -> bool:
        """Whether decoding on from the current position is no dearer than seeking."""
        return (
            self._packets is not None
            and self._last < index
            and self._index.keyframe_at_or_before(index) <= self._last + 1
        )

    def _seek(self, key: int, target: int | None = None) -> None:
        """Position the demuxer before keyframe ``key`` (display index), reset the decoder.

        ``target`` overrides the seek time, ticks; by default the keyframe's time less the
        learnt pre-roll.
        """
        if target is None:
            target = int(self._index.pts[key]) - self._preroll
        if self._packets is not None:
            self._packets.close()
        self._pending.clear()
        try:
            self._container.seek(target, stream=self._stream, backward=True)
        except (av.FFmpegError, OSError) as e:
            raise MediaError(self._path, f"cannot seek in video: {ffmpeg_reason(e)}") from e
        # demux() is a generator; typed as an iterator by PyAV
        self._packets = cast(Generator[av.Packet, None, None], self._container.demux(self._stream))
        self._last = -1
        self._floor = key
        self._landed = None
        self.seek_count += 1

    def _decode_until(self, index: int, on_passed: PassedFrame | None) -> av.VideoFrame | None:
        """Decode forward to frame ``index``; None when passed over or at the end."""
        while True:
            frame = self._next_frame()
            if frame is None:
                return None
            ts = frame.pts if frame.pts is not None else frame.dts
            i = self._index.index_of_pts(ts) if ts is not None else None
            if self._landed is None:
                self._landed = i
            if i is None or i < self._floor:
                continue
            self._last = i
            if i == index:
                return frame
            if i > index:
                return None
            if on_passed is not None:
                on_passed(i, frame)

    def _next_frame(self) -> av.VideoFrame | None:
        """Return the next decoded frame in display order, or None at the end."""
        while not self._pending:
            if self._packets is None:
                return None
            try:
                packet = next(self._packets)
            except StopIteration:
                self._packets = None
                return None
            except (av.FFmpegError, OSError) as e:
                log.warning("%s: reading video stopped early: %s", self._path, e)
                self._packets = None
                return None
            try:
                self._pending.extend(self._stream.decode(packet))
            except av.FFmpegError as e:
                log.warning("%s: skipped a damaged video packet: %s", self._path, e)
        return self._pending.popleft()
