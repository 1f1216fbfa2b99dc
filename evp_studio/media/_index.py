"""Per-frame presentation timestamps of a video stream, read by demuxing (no decoding).

The index is what makes frame numbers exact for 30000/1001 and variable-frame-rate files:
frame ``i`` is the packet with the ``i``-th smallest presentation timestamp, never
``round(t * fps)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream
import numpy as np

from evp_studio.errors import MediaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameIndex:
    """Presentation timestamps of every frame of one video stream, in display order.

    Parameters
    ----------
    pts
        ``(N,)`` int64, stream ``time_base`` ticks, strictly increasing.
    keyframes
        ``(K,)`` int64 display indices of the keyframes, increasing; frame 0 is always
        listed so that a seek target always exists.
    time_base
        Seconds per tick.
    last_duration
        Display duration of the last frame, ticks.
    """

    pts: np.ndarray
    keyframes: np.ndarray
    time_base: Fraction
    last_duration: int

    @property
    def frame_count(self) -> int:
        """Number of frames."""
        return int(self.pts.shape[0])

    @property
    def duration_ticks(self) -> int:
        """Time from the first frame's start to the last frame's end, ticks."""
        if self.frame_count == 0:
            return 0
        return int(self.pts[-1] - self.pts[0]) + self.last_duration

    def timestamps(self) -> np.ndarray:
        """Return ``(N,)`` float64 seconds of each frame from the first frame.

        ``(ticks * num) / den`` with both factors exact in float64 rounds once, so the
        result equals ``float(Fraction(ticks * num, den))``: bit-exact ``i / rate``.
        """
        ticks = (self.pts - self.pts[0]) * self.time_base.numerator
        return ticks.astype(np.float64) / float(self.time_base.denominator)

    def index_of_pts(self, pts: int) -> int | None:
        """Return the display index of the frame with timestamp ``pts``, or None."""
        i = int(np.searchsorted(self.pts, pts))
        if i < self.frame_count and int(self.pts[i]) == pts:
            return i
        return None

    def keyframe_at_or_before(self, index: int) -> int:
        """Return the display index of the last keyframe at or before frame ``index``."""
        k = int(np.searchsorted(self.keyframes, index, side="right")) - 1
        return int(self.keyframes[max(k, 0)])

    def is_vfr(self) -> bool:
        """Whether frame durations differ by more than timestamp rounding explains.

        Tolerance: 1.5 ticks (a 1/1000 time base stores 29.97 fps as 33/34 ms steps) or
        1 % of the typical duration, whichever is larger.
        """
        if self.frame_count < 3:
            return False
        deltas = np.diff(self.pts)
        median = float(np.median(deltas))
        tolerance = max(1.5, 0.01 * median)
        return bool(np.max(np.abs(deltas - median)) > tolerance)


def scan_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> tuple[FrameIndex, av.VideoFrame | None]:
    """Demux every packet of ``stream`` once and decode only the first frame.

    The first frame tells what the decoder really outputs (pixel format, display matrix
    side data), which container headers do not always state.

    Parameters
    ----------
    container
        Freshly opened container, positioned at its start.
    stream
        The video stream to index.
    path
        The file, for messages.

    Returns
    -------
    tuple[FrameIndex, av.VideoFrame | None]
        The index and the first decoded frame (None if nothing decoded).

    Raises
    ------
    MediaError
        When packets carry no timestamps at all.
    """
    scan = _Scan()
    try:
        for packet in container.demux(stream):
            scan.add(packet, stream, path)
    except (av.FFmpegError, OSError) as e:
        # Data ends early or is damaged: index what was readable, like a player would.
        log.warning("%s: stopped reading video packets early: %s", path, e)
        scan.damaged = True
    if scan.cut_short is not None:  # a truncated file ends inside its last packet
        log.warning("%s: the last video packet is cut short; it is left out", path)
        scan.drop(scan.cut_short)
    index = _build_index(scan.pts, scan.key_pts, scan.durations, stream, path)
    if index.frame_count and (scan.damaged or stream.frames > index.frame_count):
        index = _keep_decodable_tail(container, stream, index, path)
    return index, scan.first


@dataclass
class _Scan:
    """What one demux pass collects."""

    pts: list[int] = field(default_factory=list)
    key_pts: list[int] = field(default_factory=list)
    durations: dict[int, int] = field(default_factory=dict)
    first: av.VideoFrame | None = None
    cut_short: int | None = None  # timestamp of the last packet when it is incomplete
    damaged: bool = False

    def add(self, packet: av.Packet, stream: av.video.stream.VideoStream, path: Path) -> None:
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None:
            if packet.size:
                raise MediaError(path, "video packets have no timestamps; remux to mp4/mkv")
            if self.first is None:  # demux's end-of-stream packet drains the decoder
                self.first = _try_decode(stream, packet)
            return
        if packet.is_discard:
            return  # before an edit list's start: never displayed
        self.pts.append(ts)
        self.durations[ts] = packet.duration or 0
        if packet.is_keyframe:
            self.key_pts.append(ts)
        if self.first is None:
            self.first = _try_decode(stream, packet)
        self.cut_short = ts if packet.is_corrupt else None
        self.damaged = self.damaged or self.cut_short is not None

    def drop(self, ts: int) -> None:
        self.pts.remove(ts)
        self.key_pts = [k for k in self.key_pts if k != ts]


def _keep_decodable_tail(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    index: FrameIndex,
    path: Path,
) -> FrameIndex:
    """Decode the last group of pictures of a damaged file; drop frames that never come out.

    B-frames that reference a lost packet are listed by the demuxer but not decodable.
    Left as is when the seek does not land at or before the last keyframe.
    """
    key = int(index.keyframes[-1])
    produced: set[int] = set()
    try:
        container.seek(int(index.pts[key]), stream=stream, backward=True)
        for packet in container.demux(stream):
            try:
                produced.update(f.pts for f in stream.decode(packet) if f.pts is not None)
            except av.FFmpegError as e:
                log.debug("%s: tail check skipped a packet: %s", path, e)
    except (av.FFmpegError, OSError) as e:
        log.debug("%s: tail check stopped: %s", path, e)
    if not produced or min(produced) > int(index.pts[key]):
        return index
    keep = (np.arange(index.frame_count) < key) | np.isin(index.pts, list(produced))
    if keep.all():
        return index
    log.warning(
        "%s: %d frames at the end cannot be decoded; they are left out", path, int((~keep).sum())
    )
    pts = index.pts[keep]
    last = int(np.median(np.diff(pts))) if pts.shape[0] >= 2 else index.last_duration
    return replace(index, pts=pts, last_duration=last)


def _try_decode(stream: av.video.stream.VideoStream, packet: av.Packet) -> av.VideoFrame | None:
    """Decode one packet, returning its first frame; decoder errors mean "not yet"."""
    try:
        frames = stream.decode(packet)
    except av.FFmpegError as e:
        log.debug("first-frame decode skipped a packet: %s", e)
        return None
    return frames[0] if frames else None


def _build_index(
    pts_list: list[int],
    key_pts: list[int],
    durations: dict[int, int],
    stream: av.video.stream.VideoStream,
    path: Path,
) -> FrameIndex:
    """Sort and de-duplicate the demuxed timestamps into a :class:`FrameIndex`."""
    time_base = stream.time_base or Fraction(1, 1)
    pts = np.unique(np.asarray(pts_list, dtype=np.int64))
    if pts.shape[0] != len(pts_list):
        log.warning(
            "%s: %d video packets share a timestamp; kept one of each",
            path,
            len(pts_list) - pts.shape[0],
        )
    keys: np.ndarray = np.searchsorted(pts, np.asarray(key_pts, dtype=np.int64))
    keyframes = np.unique(np.concatenate([np.zeros(1, np.int64), keys.astype(np.int64)]))
    last_duration = 0
    if pts.shape[0]:
        last_duration = durations.get(int(pts[-1]), 0)
    if last_duration <= 0 and pts.shape[0] >= 2:
        last_duration = int(np.median(np.diff(pts)))
    if last_duration <= 0:
        rate = stream.guessed_rate or stream.average_rate or Fraction(25)
        last_duration = max(1, round(1 / (rate * time_base)))
    return FrameIndex(
        pts=pts,
        keyframes=keyframes.astype(np.int64),
        time_base=time_base,
        last_duration=last_duration,
    )
