"""Loading audio from any container as float32 mono at a chosen rate, streaming.

Decoded frames go through ``av.AudioResampler`` one by one, so only the output is held
in memory; channels are averaged (not summed), so a stereo file keeps its level. Time 0
is the audio stream's first sample. Codec padding after the declared end (AAC appends
up to one frame of silence) is cut when the container states the stream's duration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from fractions import Fraction
from pathlib import Path

import av
import av.audio.stream
import av.container
import numpy as np

from evp_studio.errors import InvalidInputError, MediaError, NoAudioStreamError
from evp_studio.media._container import ffmpeg_reason, open_input

log = logging.getLogger(__name__)

# Decoded audio beyond the declared duration is treated as codec padding up to this, s.
_MAX_PADDING_S = 0.1


def open_audio(
    path: Path, stream_index: int | None
) -> tuple[av.container.InputContainer, av.audio.stream.AudioStream]:
    """Open ``path`` and pick its audio stream.

    Parameters
    ----------
    path
        The file.
    stream_index
        Container stream index (``AudioStreamInfo.index``); None for the first audio.

    Returns
    -------
    tuple[InputContainer, AudioStream]
        The open container (the caller closes it) and the stream.

    Raises
    ------
    MediaError
        When the file cannot be opened.
    NoAudioStreamError
        When there is no audio stream, or ``stream_index`` is not one.
    """
    container = open_input(path)
    streams = [s for s in container.streams.audio if stream_index in (None, s.index)]
    if not streams:
        container.close()
        if stream_index is None:
            raise NoAudioStreamError(path, "file has no audio stream")
        raise NoAudioStreamError(path, f"stream {stream_index} is not an audio stream")
    return container, streams[0]


def expected_samples(stream: av.audio.stream.AudioStream, sample_rate: int) -> int:
    """Samples at ``sample_rate`` the stream declares, or 0 when it does not say."""
    if stream.duration is None or stream.time_base is None:
        return 0
    return max(0, round(stream.duration * stream.time_base * sample_rate))


def decode_mono(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    path: Path,
    *,
    sample_rate: int,
    start_s: float = 0.0,
) -> Iterator[np.ndarray]:
    """Yield the stream as float32 mono chunks at ``sample_rate``, from ``start_s`` on.

    Parameters
    ----------
    container, stream
        From :func:`open_audio`.
    path
        The file, for messages.
    sample_rate
        Output rate, Hz.
    start_s
        Seconds from the stream's first sample; seeks when > 0.

    Yields
    ------
    np.ndarray
        ``(n,)`` float32 chunks in [-1, 1], contiguous in time.

    Raises
    ------
    MediaError
        When decoding fails.
    """
    trim = _Trim(
        start=round(start_s * sample_rate),
        limit=expected_samples(stream, sample_rate),
        max_padding=round(_MAX_PADDING_S * sample_rate),
    )
    if start_s > 0:
        _seek_audio(container, stream, path, start_s)
    # FFmpeg's stereo-to-mono matrix adds the channels at -3 dB each, which lifts
    # identical channels by 3 dB and clips loud ones; resample to stereo (FFmpeg's
    # standard downmix for more channels) and average the two instead.
    layout = "mono" if stream.codec_context.channels <= 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
    origin = stream.start_time or 0
    for frame in _decode_frames(container, stream, path):
        if trim.position is None:
            pts = frame.pts if frame.pts is not None else origin
            trim.position = round((pts - origin) * (stream.time_base or 0) * sample_rate)
        for out in resampler.resample(frame):
            yield from trim.push(_to_mono(out))
    for out in resampler.resample(None):
        yield from trim.push(_to_mono(out))


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    """Average the planes of a planar float frame: ``(n,)`` float32."""
    planes = frame.to_ndarray()  # (channels, n) float32
    return planes[0] if planes.shape[0] == 1 else planes.mean(axis=0, dtype=np.float32)


class _Trim:
    """Cuts resampled chunks to ``[start, declared end)``, contiguous in time.

    Samples past the declared end are held back: dropped at the end of the stream when
    they are few enough to be codec padding, released once they exceed that (the
    declared duration was wrong, e.g. an mp3 length estimated from its bit rate).
    """

    def __init__(self, *, start: int, limit: int, max_padding: int) -> None:
        self.start = start
        self.limit = limit
        self.max_padding = max_padding
        # Output position of the next chunk, samples; None until known after a seek.
        self.position: int | None = 0 if start == 0 else None
        self._held: list[np.ndarray] = []
        self._held_n = 0

    def push(self, chunk: np.ndarray) -> list[np.ndarray]:
        """Return the parts of ``chunk`` that are audio inside the range."""
        position = self.position or 0
        self.position = position + chunk.shape[0]
        skip = max(self.start - position, 0)
        chunk, position = chunk[skip:], position + skip
        keep = chunk.shape[0] if not self.limit else max(self.limit - position, 0)
        out = [np.clip(chunk[:keep], -1.0, 1.0)]
        if keep < chunk.shape[0]:
            self._held.append(chunk[keep:])
            self._held_n += chunk.shape[0] - keep
            if self._held_n > self.max_padding:
                out += [np.clip(c, -1.0, 1.0) for c in self._held]
                self._held, self._held_n, self.limit = [], 0, 0
        return [c for c in out if c.shape[0]]


def _seek_audio(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    path: Path,
    start_s: float,
) -> None:
    """Seek to the audio packet at or before ``start_s``."""
    time_base = stream.time_base or Fraction(1, 1)
    target = (stream.start_time or 0) + int(Fraction(start_s) / time_base)
    try:
        container.seek(target, stream=stream, backward=True)
    except (av.FFmpegError, OSError) as e:
        raise MediaError(path, f"cannot seek audio to {start_s:.3f} s: {ffmpeg_reason(e)}") from e


def _decode_frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, path: Path
) -> Iterator[av.AudioFrame]:
    """Decode every frame of ``stream``, skipping damaged packets with a warning."""
    try:
        for packet in container.demux(stream):
            try:
                yield from stream.decode(packet)
            except av.InvalidDataError as e:
                log.warning("%s: skipped a damaged audio packet: %s", path, e)
    except (av.FFmpegError, OSError) as e:
        raise MediaError(path, f"cannot decode audio: {ffmpeg_reason(e)}") from e


def load_audio(
    path: str | Path,
    *,
    sample_rate: int = 16000,
    stream_index: int | None = None,
    start_s: float = 0.0,
    duration_s: float | None = None,
) -> np.ndarray:
    """Load an audio stream (wav, mp3, m4a/aac, flac, a video's track) as mono float32.

    Parameters
    ----------
    path
        The file.
    sample_rate
        Output rate, Hz.
    stream_index
        Container stream index of the audio to load; None for the first.
    start_s
        Seconds from the stream's first sample.
    duration_s
        Seconds to load; None for everything after ``start_s``.

    Returns
    -------
    np.ndarray
        ``(N,)`` float32 mono in [-1, 1]; empty only when ``start_s`` is past the end.

    Raises
    ------
    InvalidInputError
        When the rate or range is invalid.
    NoAudioStreamError
        When the file has no (such) audio stream.
    MediaError
        When the file cannot be decoded, or its audio stream has no samples.
    """
    path = Path(path)
    if sample_rate <= 0 or start_s < 0 or (duration_s is not None and duration_s < 0):
        raise InvalidInputError(
            f"{path}: bad audio request: rate {sample_rate} Hz, start {start_s} s, "
            f"duration {duration_s} s"
        )
    wanted = None if duration_s is None else round(duration_s * sample_rate)
    chunks: list[np.ndarray] = []
    have = 0
    container, stream = open_audio(path, stream_index)
    with closing(container):
        for chunk in decode_mono(container, stream, path, sample_rate=sample_rate, start_s=start_s):
            chunks.append(chunk)
            have += chunk.shape[0]
            if wanted is not None and have >= wanted:
                break
    if not chunks and start_s == 0:
        raise MediaError(path, "audio stream has no samples")
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return audio[:wanted] if wanted is not None else audio
