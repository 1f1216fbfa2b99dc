"""What a media file holds: streams, exact frame rate and count, rotation, duration.

Frame count and timestamps come from demuxing every video packet once (no decoding):
container headers are missing (Matroska, MPEG-TS) or wrong (truncated or edited files)
too often to trust, and reading packets costs about as much as reading the file.
``stream.frames`` is only compared against the count to warn about truncation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.audio.stream
import av.container
import av.video.stream

from evp_studio.errors import MediaError
from evp_studio.media._container import open_input
from evp_studio.media._index import FrameIndex, scan_packets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoStreamInfo:
    """The video stream of a file.

    Parameters
    ----------
    index
        Stream index in the container.
    codec
        Decoder name, e.g. ``"h264"``, ``"prores"``.
    width, height
        Coded size in pixels, before rotation.
    rotation
        Clockwise degrees the picture must be turned for display (0/90/180/270), from
        the display-matrix side data; phones write 90 for portrait clips.
    frame_rate
        Exact rate, e.g. ``Fraction(30000, 1001)``; for VFR the average over the clip.
    frame_count
        Number of frames, counted from the packets.
    duration_s
        First frame start to last frame end, seconds.
    vfr
        True when frame durations differ beyond timestamp rounding.
    pixel_format
        Decoded pixel format, e.g. ``"yuv420p"``, ``"yuv422p10le"``.
    """

    index: int
    codec: str
    width: int
    height: int
    rotation: int
    frame_rate: Fraction
    frame_count: int
    duration_s: float
    vfr: bool
    pixel_format: str

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels as displayed, after rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict; the rate as ``"30000/1001"`` plus float ``fps``."""
        return {
            "index": self.index,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "display_size": list(self.display_size),
            "rotation": self.rotation,
            "frame_rate": f"{self.frame_rate.numerator}/{self.frame_rate.denominator}",
            "fps": float(self.frame_rate),
            "frame_count": self.frame_count,
            "duration_s": self.duration_s,
            "vfr": self.vfr,
            "pixel_format": self.pixel_format,
        }


@dataclass(frozen=True)
class AudioStreamInfo:
    """One audio stream of a file.

    Parameters
    ----------
    index
        Stream index in the container (what ``load_audio(stream_index=...)`` takes).
    codec
        Decoder name, e.g. ``"aac"``.
    sample_rate
        Hz.
    channels
        Channel count.
    duration_s
        Seconds; 0.0 when the container does not say.
    """

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict of the fields."""
        return {
            "index": self.index,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True)
class MediaInfo:
    """Everything :func:`probe` found out about a file.

    Parameters
    ----------
    path
        The file.
    container
        Demuxer name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``.
    duration_s
        Longest of the container and stream durations, seconds.
    size_bytes
        File size.
    video
        The first video stream, or None.
    audio
        All audio streams, in container order.
    """

    path: Path
    container: str
    duration_s: float
    size_bytes: int
    video: VideoStreamInfo | None
    audio: tuple[AudioStreamInfo, ...]

    @property
    def has_audio(self) -> bool:
        """True when the file has at least one audio stream."""
        return bool(self.audio)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (paths as strings, rates as ``"num/den"``)."""
        return {
            "path": str(self.path),
            "container": self.container,
            "duration_s": self.duration_s,
            "size_bytes": self.size_bytes,
            "has_audio": self.has_audio,
            "video": self.video.to_dict() if self.video is not None else None,
            "audio": [a.to_dict() for a in self.audio],
        }


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file: its video stream (exact rate, count, rotation) and audio.

    Reads every video packet once without decoding (see the module docstring) and
    decodes only the first frame.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    MediaInfo
        The description.

    Raises
    ------
    MediaError
        When the file is missing, empty, not media, truncated before its index, or its
        video stream has no readable frame.
    """
    path = Path(path)
    container = open_input(path)
    try:
        info, _ = probe_container(container, path)
    finally:
        container.close()
    return info


def probe_container(
    container: av.container.InputContainer, path: Path
) -> tuple[MediaInfo, FrameIndex | None]:
    """Describe an already opened container; also return the video frame index.

    Parameters
    ----------
    container
        Freshly opened by :func:`open_input`; its read position is consumed.
    path
        The file, for messages and ``size_bytes``.

    Returns
    -------
    tuple[MediaInfo, FrameIndex | None]
        The description and the first video stream's frame index (None without video).

    Raises
    ------
    MediaError
        As :func:`probe`.
    """
    video: VideoStreamInfo | None = None
    index: FrameIndex | None = None
    if container.streams.video:
        stream = container.streams.video[0]
        index, first = scan_packets(container, stream, path)
        video = _video_info(stream, index, first, path)
    audio = tuple(_audio_info(s) for s in container.streams.audio)
    durations = [a.duration_s for a in audio] + [video.duration_s if video else 0.0]
    if container.duration is not None:
        durations.append(container.duration / av.time_base)
    info = MediaInfo(
        path=path,
        container=container.format.name,
        duration_s=max(durations),
        size_bytes=path.stat().st_size,
        video=video,
        audio=audio,
    )
    return info, index


def _video_info(
    stream: av.video.stream.VideoStream,
    index: FrameIndex,
    first: av.VideoFrame | None,
    path: Path,
) -> VideoStreamInfo:
    """Build the video description from the stream, its index and its first frame."""
    if index.frame_count == 0 or first is None:
        raise MediaError(path, "video stream has no decodable frames (truncated or damaged)")
    if stream.frames and stream.frames > index.frame_count:
        log.warning(
            "%s: header says %d frames, only %d are readable (truncated?)",
            path,
            stream.frames,
            index.frame_count,
        )
    vfr = index.is_vfr()
    return VideoStreamInfo(
        index=stream.index,
        codec=stream.codec_context.name,
        width=first.width,
        height=first.height,
        rotation=(-round(first.rotation / 90) * 90) % 360,  # FFmpeg's angle is counter-clockwise
        frame_rate=_frame_rate(stream, index, vfr),
        frame_count=index.frame_count,
        duration_s=float(index.duration_ticks * index.time_base),
        vfr=vfr,
        pixel_format=first.format.name,
    )


def _frame_rate(stream: av.video.stream.VideoStream, index: FrameIndex, vfr: bool) -> Fraction:
    """Return the exact rate: a header rate that matches the timestamps, else the average.

    A 1/1000 time base stores 30000/1001 as 33/34 ms steps, so the header's guess is
    preferred whenever its period agrees with the typical step to within one tick.
    """
    average = Fraction(index.frame_count) / (index.duration_ticks * index.time_base)
    if vfr or index.frame_count < 2:
        return average
    step = Fraction(int(index.pts[-1] - index.pts[0]), index.frame_count - 1)
    for rate in (stream.guessed_rate, stream.average_rate):
        if rate and abs(1 / (rate * index.time_base) - step) <= 1:
            return rate
    return average.limit_denominator(1001 * 1000)


def _audio_info(stream: av.audio.stream.AudioStream) -> AudioStreamInfo:
    """Describe one audio stream from its headers."""
    duration = 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    return AudioStreamInfo(
        index=stream.index,
        codec=stream.codec_context.name,
        sample_rate=stream.codec_context.sample_rate,
        channels=stream.codec_context.channels,
        duration_s=duration,
    )
