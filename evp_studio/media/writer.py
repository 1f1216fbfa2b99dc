"""Exporting frames and audio to H.264 mp4/mov or ProRes mov, atomically.

The file is written under a hidden temporary name in the destination folder
(``.name.partial.mp4``), flushed, fsynced and only then renamed onto the destination,
so a failed or cancelled export never leaves a half-written file under the real name.
Video timestamps are frame indices in a time base of exactly ``1 / frame_rate``; audio
timestamps count samples; both start at 0, so nothing drifts however long the clip.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal, cast

import av
import av.container
import numpy as np

from evp_studio.codecs import X264_PRESETS
from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.fileio import fsync_folder
from evp_studio.media._audio_track import AudioTrack, check_audio
from evp_studio.media._container import ffmpeg_reason

log = logging.getLogger(__name__)

_BT709 = 1  # AVCOL_SPC/PRI/TRC_BT709
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG: 16..235


@dataclass(frozen=True)
class ExportConfig:
    """How an export is encoded.

    Parameters
    ----------
    container
        ``"mp4"`` or ``"mov"``.
    video_codec
        ``"h264"`` (libx264, yuv420p; mp4 or mov) or ``"prores"`` (prores_ks; mov only).
    crf
        x264 constant rate factor, 0 (lossless) to 51; 18 is visually lossless.
    preset
        x264 speed preset, ``"ultrafast"`` .. ``"placebo"``.
    prores_profile
        0 proxy, 1 LT, 2 standard 422, 3 HQ (yuv422p10le); 4 4444, 5 4444 XQ (yuv444p10le).
    audio_bitrate
        AAC bit rate, bit/s (H.264 exports; ProRes exports carry 16-bit PCM).
    audio_sample_rate
        Encoded audio rate, Hz.

    Raises
    ------
    InvalidInputError
        When a value or combination is not supported, naming it.
    """

    container: Literal["mp4", "mov"] = "mp4"
    video_codec: Literal["h264", "prores"] = "h264"
    crf: int = 18
    preset: str = "medium"
    prores_profile: int = 2
    audio_bitrate: int = 192_000
    audio_sample_rate: int = 48000

    def __post_init__(self) -> None:
        if self.container not in ("mp4", "mov"):
            raise InvalidInputError(f"container {self.container!r} is not 'mp4' or 'mov'")
        if self.video_codec not in ("h264", "prores"):
            raise InvalidInputError(f"video codec {self.video_codec!r} is not 'h264' or 'prores'")
        if self.video_codec == "prores" and self.container != "mov":
            raise InvalidInputError(f"ProRes needs a 'mov' container, not {self.container!r}")
        if not 0 <= self.crf <= 51:
            raise InvalidInputError(f"crf {self.crf} is outside 0..51")
        if self.preset not in X264_PRESETS:
            raise InvalidInputError(
                f"preset {self.preset!r} is not one of {', '.join(X264_PRESETS)}"
            )
        if not 0 <= self.prores_profile <= 5:
            raise InvalidInputError(f"ProRes profile {self.prores_profile} is outside 0..5")
        if self.audio_bitrate <= 0:
            raise InvalidInputError(f"audio bit rate {self.audio_bitrate} must be positive")
        if not 8000 <= self.audio_sample_rate <= 96000:
            raise InvalidInputError(
                f"audio sample rate {self.audio_sample_rate} Hz is outside 8000..96000"
            )

    @property
    def pixel_format(self) -> str:
        """Pixel format the video is encoded in."""
        if self.video_codec == "h264":
            return "yuv420p"
        return "yuv444p10le" if self.prores_profile >= 4 else "yuv422p10le"


def temp_path_for(path: Path) -> Path:
    """Return the hidden temporary name an export to ``path`` is written under."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


class VideoWriter:
    """Writes RGB frames (and optional audio) to a video file, atomically.

    Use as a context manager: leaving the block normally finishes the file, leaving it
    by an exception deletes everything written. Audio is given in full up front and is
    interleaved with the frames as they are written; it is kept as given, even when it
    runs longer than the video.

    Parameters
    ----------
    path
        Destination file.
    width, height
        Frame size in pixels; both even (4:2:0 and 4:2:2 chroma need it).
    frame_rate
        Exact rate, e.g. ``Fraction(30000, 1001)``.
    config
        Encoding settings.
    audio
        ``(N,)`` or ``(N, C)`` float32 samples in [-1, 1], C in {1, 2}.
    audio_rate
        Rate of ``audio``, Hz.

    Raises
    ------
    InvalidInputError
        When the size, rate or audio is unusable.
    ExportError
        When the destination cannot be written; nothing is left behind.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        frame_rate: Fraction,
        config: ExportConfig = ExportConfig(),  # noqa: B008 - frozen, so sharing is safe
        audio: np.ndarray | None = None,
        audio_rate: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config
        self.width, self.height = width, height
        self.frame_rate = Fraction(frame_rate)
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise InvalidInputError(
                f"{self.path}: frame size {width}x{height} must be even "
                "and positive for 4:2:x video"
            )
        if self.frame_rate <= 0:
            raise InvalidInputError(f"{self.path}: frame rate {self.frame_rate} must be positive")
        samples = check_audio(audio, audio_rate, self.path)
        self._tmp = temp_path_for(self.path)
        self._frames = 0
        self._open = False
        self._container: av.container.OutputContainer | None = None
        try:
            self._tmp.touch()  # fail here, not at the first frame, on an unwritable folder
            self._container = cast(
                av.container.OutputContainer, av.open(str(self._tmp), "w", format=config.container)
            )
            self._video = self._add_video_stream(self._container)
            self._audio = None
            if samples is not None and audio_rate is not None:
                self._audio = AudioTrack(
                    self._container,
                    samples,
                    rate=audio_rate,
                    codec="aac" if config.video_codec == "h264" else "pcm_s16le",
                    out_rate=config.audio_sample_rate,
                    bit_rate=config.audio_bitrate,
                )
        except (av.FFmpegError, OSError) as e:
            self._discard()
            raise ExportError(self.path, f"cannot create the file: {ffmpeg_reason(e)}") from e
        self._open = True

    @property
    def frames_written(self) -> int:
        """Frames written so far."""
        return self._frames

    def _add_video_stream(self, container: av.container.OutputContainer) -> av.VideoStream:
        cfg = self.config
        if cfg.video_codec == "h264":
            stream = container.add_stream("libx264", rate=self.frame_rate)
            stream.options = {"crf": str(cfg.crf), "preset": cfg.preset}
        else:
            stream = container.add_stream("prores_ks", rate=self.frame_rate)
            stream.options = {"profile": str(cfg.prores_profile), "vendor": "apl0"}
        stream.width, stream.height = self.width, self.height
        stream.pix_fmt = cfg.pixel_format
        stream.codec_context.time_base = 1 / self.frame_rate  # pts = frame index
        # Tag BT.709, limited range (what write() converts to): untagged HD is guessed as
        # 709 by players but decoded as 601 by FFmpeg, which shifts colours either way.
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = _BT709
        context.color_range = _LIMITED_RANGE
        return stream

    def write(self, frame: np.ndarray) -> None:
        """Encode one frame.

        Parameters
        ----------
        frame
            ``(height, width, 3)`` uint8 RGB.

        Raises
        ------
        InvalidInputError
            When the frame has the wrong shape or dtype.
        ExportError
            When writing fails; the partial file is deleted.
        """
        if not self._open:
            raise ValueError(f"{self.path}: writer is closed")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise InvalidInputError(
                f"{self.path}: frame is {frame.shape} {frame.dtype}, "
                f"expected ({self.height}, {self.width}, 3) uint8"
            )
        assert self._container is not None
        try:
            rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            video_frame = rgb.reformat(
                format=self.config.pixel_format,
                dst_colorspace=_BT709,
                dst_color_range=_LIMITED_RANGE,
            )
            video_frame.pts = self._frames
            self._container.mux(self._video.encode(video_frame))
            self._frames += 1
            if self._audio is not None:
                self._audio.push_until(self._audio.samples_until(self._frames / self.frame_rate))
        except (av.FFmpegError, OSError) as e:
            self.abort()
            raise ExportError(self.path, f"writing failed: {ffmpeg_reason(e)}") from e

    def close(self) -> None:
        """Flush the encoders, then move the finished file onto ``path``.

        Raises
        ------
        ExportError
            When no frame was written or finishing fails; nothing is left behind.
        """
        if not self._open:
            return
        if self._frames == 0:
            self.abort()
            raise ExportError(self.path, "no video frames were written")
        assert self._container is not None
        try:
            if self._audio is not None:
                self._audio.finish()
            self._container.mux(self._video.encode(None))
            self._container.close()
            with open(self._tmp, "r+b") as f:
                os.fsync(f.fileno())
            os.replace(self._tmp, self.path)
        except (av.FFmpegError, OSError) as e:
            self._discard()
            raise ExportError(self.path, f"finishing the file failed: {ffmpeg_reason(e)}") from e
        self._open = False
        fsync_folder(self.path.parent)
        log.info("wrote %s (%d frames)", self.path, self._frames)

    def abort(self) -> None:
        """Stop and delete everything written; ``path`` is left untouched."""
        if self._open:
            self._discard()

    def _discard(self) -> None:
        self._open = False
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError) as e:
                log.debug("%s: closing the aborted export: %s", self._tmp, e)
            self._container = None
        try:
            self._tmp.unlink(missing_ok=True)
        except OSError as e:
            log.warning("%s: cannot remove the partial export: %s", self._tmp, e)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
